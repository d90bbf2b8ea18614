// One window of live generation: the known past as grid notes, the rest of the window sampled by
// an inpainting sampler and decoded into the notes that start in it. The live engine's generator
// thread calls it once per hop; it runs on the calling thread, on the model's device.
#pragma once

#include <atomic>
#include <vector>

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
};

struct WindowResult {
  std::vector<GridNote> generated;  // notes struck at or after known_frames, window-relative
  std::vector<GridPedal> pedal;     // the whole window's pedal, when the model has a pedal channel
  int nfe = 0;
  double wall_s = 0;
};

// Throws SamplingCancelled (core/sampler.h) when `cancel` is raised during sampling.
WindowResult generate_window(ScoreNet& net, const ModelSpec& spec, const WindowRequest& request,
                             const std::atomic<bool>* cancel = nullptr);

}  // namespace scorejam
