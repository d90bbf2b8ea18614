// Training of the score model on MAESTRO: random windows of the train split with pitch-shift
// augmentation, Adam, an EMA of the weights (what sampling uses), gradient clipping, validation on
// fixed windows of the validation split each epoch, checkpoints every N steps and at the end,
// resume, a loss history as CSV and PNG. Runs on the calling thread; stops early, with a
// checkpoint, when `stop` becomes true (the caller sets it from SIGINT/SIGTERM).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/checkpoint.h"

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
  double no_context_probability = 0.2;  // conditional models: share of windows with no known past
  std::uint64_t seed = 0;
  bool operator==(const TrainConfig&) const = default;
};

struct TrainReport {
  std::int64_t steps = 0;        // total, including resumed ones
  std::int64_t epochs = 0;
  double first_val_loss = 0;
  double last_val_loss = 0;
  double steps_per_s = 0;
  std::size_t files_skipped = 0;
  bool stopped_early = false;
  std::filesystem::path checkpoint;
};

// `run_config` is the run's effective config (TOML) saved beside the checkpoint and inside it.
TrainReport train(const TrainConfig& config, const ModelSpec& spec, const std::string& run_config,
                  const std::atomic<bool>& stop, const std::filesystem::path& cache_dir);

}  // namespace scorejam
