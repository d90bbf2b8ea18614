// `scorejam reproduce`: a recorded live session run again from its trace (realtime/session_trace.h)
// — the same windows, taken from the same notes, sampled with the same model, settings and seeds,
// committed by the same rules — to show, hop by hop, that it plays exactly what was played.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "realtime/live_timeline.h"
#include "realtime/timed_midi.h"

namespace scorejam {

struct Reproduction {
  std::size_t hops = 0;               // committed hops in the trace
  std::size_t identical = 0;          // hops whose notes came out exactly as recorded
  std::size_t notes = 0;              // notes the reproduction planned
  std::size_t notes_recorded = 0;     // notes the session planned
  std::vector<std::string> differences;  // the first hops that differ, described
  std::vector<PlannedNote> planned;      // every note the reproduction planned, in order
  std::vector<TimedMidi> player;         // the player's messages as recorded
  std::int64_t origin_ns = 0;            // time 0 of the session's session.mid
  int threads = 0;                       // torch threads used (the session's count)
  std::string device = "cpu";            // the session's device when this LibTorch has it, else cpu
};

// Reads `trace` (a session.trace) and runs it again with the session's thread count and device
// (the CPU when the session ran on CUDA and this LibTorch has none: then hops may differ).
// A model whose recorded path is gone is looked for by file name in `models` (when given). Throws
// TraceError or std::runtime_error naming the file, the line and the problem.
Reproduction reproduce_session(const std::filesystem::path& trace, const std::filesystem::path& models = {});

}  // namespace scorejam
