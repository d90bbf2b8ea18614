// `scorejam run` (the live daemon) and `scorejam ports`: wiring only. The MIDI ports (or a replayed
// file), the scheduler, the live engine, the OSC server, the session recorder, signals and timers
// are put together here; the work is in realtime/ and core/.
#pragma once

#include <string>

#include "daemon/config.h"

namespace scorejam {

struct RunCommand {
  std::string config_path;     // for SIGHUP: reread, validate, apply the live settings
  std::string replay;          // feed this MIDI file in as if played live (no MIDI ports)
  double replay_start_s = 0;   // from where in it
  double replay_seconds = 0;   // how much of it; 0 = to its end
  std::string record;          // with --replay: write player + scorejam here at the end
  double seconds = 0;          // stop after this long; 0 = until SIGINT/SIGTERM (or the replay's end)
  bool help_osc = false;       // print the OSC address space and exit
};

int run_live(const RunCommand& command, const Config& config);
int run_ports(const Config& config);

}  // namespace scorejam
