// One committed hop of a live window: which of the window's notes scorejam plays, and when. The live
// engine's generator thread calls commit_hop() for every window it commits, and `scorejam
// reproduce` calls it again with what the session trace recorded, so both decide alike from the
// same window. Torch-free; not real-time code (it allocates).
#pragma once

#include <cstdint>
#include <vector>

#include "core/roll.h"
#include "realtime/performance.h"

namespace scorejam {

// Where a session's generated timeline stands, beside its performance.
struct Timeline {
  // A note of frame f plays at performance.time_of(f) + offset_ns (an answer is moved to start
  // right after the pause instead of after the model's opening rest).
  std::int64_t offset_ns = 0;
  std::int64_t answer_end = 0;  // continue: the absolute frame where the answer stops
};

struct HopRules {
  int hop_frames = 32;
  int lead_ms = 20;
  double max_notes_per_second = 30;
};

struct HopInput {
  const std::vector<GridNote>* generated = nullptr;  // the window's notes, window-relative
  const std::vector<GridPedal>* pedal = nullptr;     // the window's pedal (pedal-channel models), or null
  std::int64_t window_first = 0;                     // absolute frame of the window's first frame
  int known = 0;                                     // frames of known past at its start
  bool first_answer = false;                         // the first hop of an answer (continue mode)
  bool answering = false;                            // continue mode: notes past answer_end are not played
  double answer_seconds = 8;                         // for a first hop: how long the answer may last
  std::int64_t now_ns = 0;                           // a note that would start before now is dropped
};

struct PlannedNote {
  std::int64_t on_ns = 0;
  std::int64_t off_ns = 0;
  int pitch = 60;
  int velocity = 64;
  bool operator==(const PlannedNote&) const = default;
};

// A CC 64 to send: 127 down, 0 up.
struct PlannedPedal {
  std::int64_t at_ns = 0;
  int value = 0;
  bool operator==(const PlannedPedal&) const = default;
};

struct Hop {
  std::vector<PlannedNote> notes;   // to schedule; each is also added to the performance
  // The pedal's changes over the hop's frames, against where scorejam's pedal stood before it (and
  // up from answer_end on): a change decided too late is sent at now_ns rather than dropped, so
  // that no up is ever lost. Also added to the performance.
  std::vector<PlannedPedal> pedal;
  std::int64_t committed_end = 0;   // absolute frame up to which the timeline is now decided
  std::size_t decoded = 0;          // notes of the window that start in the hop
  std::size_t thinned = 0;          // of those, left out over max_notes_per_second (the quietest)
};

// Commits one hop of a sampled window to `performance` and `timeline` and returns its notes. A
// note with an onset offset plays that much of a frame off its frame's time.
Hop commit_hop(Performance& performance, Timeline& timeline, const HopRules& rules, const HopInput& input);

// A fingerprint of planned notes (FNV-1a over their times, pitches and velocities): the session
// trace stores one per committed hop, so a reproduction can tell that it decided exactly alike.
std::uint64_t fingerprint(const std::vector<PlannedNote>& notes);

}  // namespace scorejam
