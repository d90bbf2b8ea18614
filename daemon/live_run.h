// `scorejam run` (the live daemon), `scorejam ports` and `scorejam reproduce`: wiring only. The MIDI ports (or a replayed
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

struct ReproduceCommand {
  std::string session;  // a session folder (or its session.trace)
  std::string models;   // where to look for a model whose recorded path is gone
  std::string out;      // write the reproduced take (player + scorejam) to this .mid
};

int run_live(const RunCommand& command, const Config& config);
// Runs a recorded session again from its trace and says whether every hop came out alike:
// 0 when all did, 1 when one did not.
int run_reproduce(const ReproduceCommand& command);
int run_ports(const Config& config);

}  // namespace scorejam
