// Training of the score model on MAESTRO: windows of the train split, shuffled per epoch, with
// pitch-shift augmentation, Adam, an EMA of the weights (what sampling uses), gradient clipping,
// validation on fixed windows of the validation split each epoch, checkpoints every N steps and at
// the end, resume, a loss history as CSV and PNG. Runs on the calling thread; stops early, with a
// checkpoint, when `stop` becomes true (the caller sets it from SIGINT/SIGTERM).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/checkpoint.h"
#include "train/distributed.h"
#include "train/train_config.h"

namespace scorejam {

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
//
// With `world.world_size` > 1, this process is one rank of a data-parallel run (train/distributed.h):
// each rank takes its own share of every step's windows (train/epoch_plan.h), the gradients are
// averaged across ranks every step, rank 0's initial weights are broadcast, the validation windows
// are shared out and their loss averaged, and only rank 0 writes the checkpoint, the loss history
// and the plots. A stop on any rank (signal, time limit) stops every rank at the same step.
TrainReport train(const TrainConfig& config, const ModelSpec& spec, const std::string& run_config,
                  const std::atomic<bool>& stop, const std::filesystem::path& cache_dir,
                  const WorldConfig& world = {});

}  // namespace scorejam
