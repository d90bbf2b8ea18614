// One window of live generation: the known past as grid notes, the rest of the window sampled by
// an inpainting sampler and decoded into the notes that start in it. The live engine's generator
// thread calls it once per hop; it runs on the calling thread, on the model's device.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "core/beat_tracker.h"
#include "core/checkpoint.h"
#include "core/roll.h"
#include "core/sampler_config.h"

namespace scorejam {

struct WindowRequest {
  std::vector<GridNote> known;  // frames relative to the window's first frame; cut at known_frames
  std::vector<GridPedal> known_pedal;  // the same for the pedal; read when the model has a pedal channel
  int known_frames = 0;         // 0..window: frames [0, known_frames) are known (silence where no note)
  SamplerConfig sampler;
  DecodeThresholds thresholds;
  // beat_planes networks: the beats (seconds on the frame grid's clock: frame f is at f / fs) and the
  // window's first frame on that clock; no beats = unknown (the planes say so).
  std::vector<double> beats_s, downbeats_s;
  std::int64_t first_frame = 0;
};

struct WindowResult {
  std::vector<GridNote> generated;  // notes struck at or after known_frames, window-relative
  std::vector<GridPedal> pedal;     // the whole window's pedal, when the model has a pedal channel
  int nfe = 0;
  double wall_s = 0;
};

// The beats a beat_planes window is given: the ones `tracker` has found so far and its tempo
// carried on to the window's end (where the player's pulse falls if it holds); none before the
// tracker has a tempo. A function of the onsets added alone, so a session trace reproduces it.
void set_window_beats(WindowRequest& request, const BeatTracker& tracker, std::int64_t window_first, int window_frames,
                      double fs_hz);

// Throws SamplingCancelled (core/sampler.h) when `cancel` is raised during sampling.
WindowResult generate_window(ScoreNet& net, const ModelSpec& spec, const WindowRequest& request,
                             const std::atomic<bool>* cancel = nullptr);

}  // namespace scorejam
