// Continuing a prompt (or starting from nothing) with a score model: sliding windows over a roll
// buffer, each window's known past (the prompt, then what was generated) given to an inpainting
// sampler, the rest generated; then the generated part decoded into notes. Batch = several
// independent continuations at once. Runs on the calling thread, on the model's device.
#pragma once

#include <functional>
#include <vector>

#include "core/checkpoint.h"
#include "core/notes.h"
#include "core/roll.h"
#include "core/sampler.h"

namespace scorejam {

struct ContinuationRequest {
  std::vector<Note> prompt;              // notes of the context, times from 0; may be empty
  std::vector<ControlChange> prompt_controls;  // its CC 64, read when the model has a pedal channel
  double prompt_seconds = 0;             // length of the context (the prompt's end is at this time)
  double seconds = 8;                    // to generate after it
  int count = 1;                         // independent continuations
  int context_frames = 0;                // known frames per window; 0 = half the window
  SamplerConfig sampler;
  DecodeThresholds thresholds;
  // beat_planes models: where the beats fall, on the request's clock (the prompt from 0, the
  // continuation after prompt_seconds), e.g. annotated ones. Empty: the beat tracker
  // (core/beat_tracker.h) follows the prompt's onsets and its beats are carried on over the
  // continuation at the tempo it found; with no tempo found, the model plays without beats.
  std::vector<double> beats_s, downbeats_s;
  // Called after each window with the windows drawn and the windows in all (a progress line).
  std::function<void(int done, int total)> on_window;
};

struct ContinuationResult {
  std::vector<std::vector<Note>> generated;  // per continuation, times from the prompt's end
  // Per continuation, when the model has a pedal channel: CC 64 from the prompt's end, first the
  // pedal's state at 0 (127 or 0), then each change. Empty otherwise.
  std::vector<std::vector<ControlChange>> pedal;
  int nfe = 0;                               // network evaluations, all windows
  int windows = 0;
  double wall_s = 0;
  std::vector<double> beats_s;  // beat_planes models: the beats the windows were given
};

ContinuationResult continue_notes(ScoreNet& net, const ModelSpec& spec, const ContinuationRequest& request);

}  // namespace scorejam
