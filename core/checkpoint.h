// Checkpoints: one versioned file holding the model's weights and their EMA, the full
// model/SDE/roll-format spec, and the training state (step, epoch, optimizer). Loading checks
// everything before returning anything; saving writes a temporary file in the same folder, syncs
// it and renames it into place, so a crash or a full disk never destroys the previous checkpoint.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "core/model_spec.h"
#include "core/roll.h"
#include "core/score_net.h"

namespace torch::optim {
class Optimizer;
}

namespace scorejam {

// The file format (its header: see checkpoint.cpp) and the layout of the torch archive inside it.
inline constexpr std::int64_t kCheckpointFormat = 2;
inline constexpr std::int64_t kCheckpointVersion = 1;

struct TrainingState {
  std::int64_t step = 0;
  std::int64_t epoch = 0;
  double last_val_loss = 0;  // 0 when never validated
  std::string run_config;    // the training run's effective config, as TOML
  // Windows of the epoch's plan already taken (train/epoch_plan.h), so that --resume goes on where
  // the run stopped. 0 in checkpoints written before it was kept.
  std::int64_t epoch_windows = 0;
};

class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string spec_to_toml(const ModelSpec& spec);
ModelSpec spec_from_toml(const std::string& text, const std::string& source);

// `optimizer` may be null (a model for sampling only).
void save_checkpoint(const std::filesystem::path& path, const ModelSpec& spec, ScoreNet& model, ScoreNet& ema,
                     torch::optim::Optimizer* optimizer, const TrainingState& state);

struct LoadedCheckpoint {
  ModelSpec spec;
  ScoreNet model{nullptr};
  ScoreNet ema{nullptr};
  TrainingState state;
};

// Throws CheckpointError naming the file and what is wrong (missing, not a checkpoint, other version,
// truncated or corrupt, weights that do not fit the spec).
LoadedCheckpoint load_checkpoint(const std::filesystem::path& path);
// Restores the optimizer's state for --resume; throws CheckpointError when the file has none.
void load_optimizer_state(const std::filesystem::path& path, torch::optim::Optimizer& optimizer);

}  // namespace scorejam
