// The beat tracker and the pianist's pulse judged against the hand-annotated beats of a MAESTRO
// split: what `scorejam beats` prints. No threads.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/beat_tracker.h"
#include "core/beats.h"
#include "core/maestro.h"
#include "core/music_metrics.h"

namespace scorejam {

struct BeatFileResult {
  std::string name;             // the entry's midi_filename
  BeatScore found;              // the beats found online, against the annotation
  BeatScore predicted;          // the beats predicted lead_s ahead, against the annotation
  Pulse pianist;                // the pianist's onsets against the annotated beats
  Pulse pianist_on_frames;      // the same onsets rounded to frames of 1 / frame_hz (0: not measured)
  double annotated_bpm = 0;     // mean tempo of the annotation
  double tracked_bpm = 0;       // mean tempo of the beats found
};

struct BeatEvaluation {
  std::vector<BeatFileResult> files;
  std::vector<std::string> not_annotated;  // entries of the split with no row in the beats table
  std::vector<SkippedFile> unreadable;     // MIDI files that could not be read
  // Means over the files, and the pulse pooled over every onset.
  double mean_found_f = 0;
  double mean_predicted_f = 0;
  double mean_pianist_pulse = 0;
  double pooled_pianist_pulse = 0;
  double mean_pianist_pulse_on_frames = 0;
};

// Runs the tracker over each performance of the split as if played live. With frame_hz > 0 the
// pulse is also measured with the onsets rounded to that frame rate: what a roll of that rate
// costs the rhythm before any model is involved. `on_file` (may be empty) is called after each
// file, for progress.
BeatEvaluation evaluate_beat_tracking(const MaestroSource& source, const BeatsTable& beats, const std::string& split,
                                      const BeatTrackerConfig& config, double lead_s, double frame_hz,
                                      const std::function<void(const BeatFileResult&)>& on_file = {});

}  // namespace scorejam
