// session.trace: what a live session's generator needs in order to be run again exactly. The wall
// clock decides a live session as much as the player does: when each window is taken (which of the
// player's notes it already sees), how many sampler steps it can afford, which late notes are
// dropped. The trace records those decisions beside the inputs, one line each, in the order the
// live engine made them:
//
//   scorejam-trace 1
//   session origin_ns=…                      time 0 of the session's session.mid
//   engine origin_ns=… context_frames=64 hop_frames=32 lead_ms=20 max_notes_per_second=30 threads=2 device=cpu
//   model 0 /path/to/scorejam-default.pt      a model in use from now on, by number
//   p 123456789 144 60 80                    a player's message: steady-clock ns and its bytes
//   cut 1234                                 every generated note from this frame on forgotten (silence)
//   w 7 first=… known=64 player=1 model=0 sampler=pc steps=50 … seed=…   a window taken
//   c 7 first_answer=1 answering=1 now=… answer_seconds=8 notes=12 fingerprint=…   its hop committed
//
// `scorejam reproduce` reads it back, samples each committed window again with the same model,
// settings and seed, commits it with the same rules (realtime/live_timeline.h), and checks each
// hop's fingerprint. Torch-free.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <variant>

#include "core/roll.h"
#include "core/sampler_config.h"
#include "realtime/timed_midi.h"

namespace scorejam {

// A trace line that cannot be read; the message names the line and what is wrong with it.
struct TraceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct TraceSession {
  std::int64_t origin_ns = 0;  // time 0 of session.mid
};

struct TraceEngine {
  std::int64_t origin_ns = 0;  // the performance's frame 0
  int context_frames = 64;
  int hop_frames = 32;
  int lead_ms = 20;
  double max_notes_per_second = 30;
  int threads = 1;             // torch threads: the same count gives the same arithmetic
  std::string device = "cpu";
};

struct TraceModel {
  int id = 0;
  std::string path;  // as the engine loaded it
};

struct TracePlayer {
  TimedMidi message;
};

struct TraceCut {
  std::int64_t frame = 0;
};

struct TraceWindow {
  std::uint64_t build = 0;  // the engine's count of windows taken; a commit names it
  std::int64_t first = 0;   // absolute frame of the window's first frame
  int known = 0;
  bool player = true;       // the player's notes are part of the known past (not in solo)
  int model = 0;
  SamplerConfig sampler;
  DecodeThresholds thresholds;
};

struct TraceCommit {
  std::uint64_t build = 0;
  bool first_answer = false;
  bool answering = false;
  std::int64_t now_ns = 0;
  double answer_seconds = 8;
  std::size_t notes = 0;          // notes planned from the hop
  std::uint64_t fingerprint = 0;  // of those notes (realtime/live_timeline.h)
};

using TraceRecord = std::variant<TraceSession, TraceEngine, TraceModel, TracePlayer, TraceCut, TraceWindow, TraceCommit>;

inline constexpr const char* kTraceMagic = "scorejam-trace 1";

// One line, without its newline.
std::string format_trace(const TraceRecord& record);
// Reads one line (not the magic line); throws TraceError naming `line_number` and the problem.
TraceRecord parse_trace(const std::string& line, int line_number);

}  // namespace scorejam
