// The settings of a training run ([train] in the config file), without LibTorch.
#pragma once

#include <cstdint>
#include <string>

namespace scorejam {

struct TrainConfig {
  std::string data;                 // MAESTRO zip or folder
  std::string out_dir = "runs/train";
  std::string resume;               // checkpoint to resume from ("" = start afresh)
  std::string device = "auto";      // auto (CUDA when available), cpu, cuda
  int batch_size = 16;
  double learning_rate = 2e-4;
  std::int64_t max_steps = 20000;
  double max_minutes = 0;           // stop (with a checkpoint) after this long; 0 = no limit
  double ema_decay = 0.999;
  double grad_clip = 1.0;           // max global gradient norm; 0 = off
  int pitch_shift = 3;              // augmentation: uniform shift in [-n, n] semitones
  std::int64_t checkpoint_every = 500;
  std::int64_t log_every = 20;
  int validation_windows = 64;      // fixed windows of the validation split
  // Of those, how many also get their bits per dimension (core/likelihood.h, nothing known, ODE
  // tolerance 1e-3) at each validation, logged: a yardstick comparable across models of one
  // representation. 0 = off (the default: it costs about 160 network evaluations with their
  // backward passes a validation; configs/music.toml turns it on).
  int validation_bits_windows = 0;
  double no_context_probability = 0.2;  // conditional models: share of windows with no known past
  // beat_planes models: the beats CSV (maestro-asap-subset.beats.csv's layout); "" = the one beside
  // the data (<zip without .zip>.beats.csv) if there is one; "none" = no beats (learn without).
  std::string beats;
  double no_beats_probability = 0.3;    // share of windows trained without their beats
  std::uint64_t seed = 0;
  bool operator==(const TrainConfig&) const = default;
};

}  // namespace scorejam
