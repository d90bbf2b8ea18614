// scorejam's configuration: one struct per module, mapped 1:1 to the TOML file's tables.
// configs/default.toml holds every key with its default; a test keeps the two equal.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

#include "core/model_spec.h"
#include "core/roll.h"
#include "core/sampler_config.h"
#include "daemon/osc_config.h"
#include "realtime/live_engine.h"
#include "realtime/midi_ports.h"
#include "realtime/scheduler.h"
#include "train/train_config.h"

namespace scorejam {

struct RuntimeConfig {
  int threads = 0;                // torch intra-op threads; 0 = every core
  std::string log_level = "info"; // trace, debug, info, warn, error
  // The score network's compute path (core/compute_path.h): "auto" picks by the CPU found.
  std::string precision = "auto";      // auto, fp32, bf16
  std::string memory_format = "auto";  // auto, contiguous, channels_last
};

struct RollConfig {
  RollFormat format;              // [roll] fs_hz, sustain_pedal, pedal_channel, onset_offsets
  DecodeThresholds thresholds;    // [roll] onset_threshold, frame_threshold
};

struct DataConfig {
  std::string cache_dir;  // "" = $XDG_CACHE_HOME/scorejam (or ~/.cache/scorejam)
};

// The roll cache folder in effect: cache_dir, or the default when it is empty.
std::filesystem::path roll_cache_dir(const DataConfig& data);

// The sampler `sample` and `eval` start with: the setting `scorejam eval` judged best for the
// bundled model (docs/evaluation.md, "Judging the music"): predictor-corrector, 50 steps, guidance 3 while the
// diffusion time t >= 0.3. `run` takes 30 steps of it, to stay well inside real time.
SamplerConfig default_sampler();

// [model]: the network and SDE of a new model (a checkpoint brings its own).
// [sample]: the checkpoint to play and the sampler settings.
struct SampleConfig {
  std::string checkpoint = "models/scorejam-default.pt";  // relative paths: from the working folder
  SamplerConfig sampler = default_sampler();
};

// The network of a new model when the config names none: the bundled model's.
ModelSpec default_model_spec();

// [live] beyond the engine's own settings: which model `scorejam run` starts with.
struct LiveRunConfig {
  LiveConfig engine = [] {
    LiveConfig c;
    c.settings.sampler = default_sampler();
    // Live, 30 steps: a window in 0.72-0.76 s at the median (bench --config live), where 50 steps
    // guided take 1.1 s (bench: window/pc/50/guidance3), too close to the 2 s hop on a busy laptop.
    // Guided, the bundled model keeps the player's register and key (eval on the validation split:
    // register listening 0.145 against 0.064, listening 0.189 against 0.053 for PC 50 unguided, at
    // about the same cost). Guided while t >= 0.3 only, it answers short phrases at 6.3 notes/s
    // (4.1-4.5 guided to the end; docs/live.md, "Measured (scorejam bench --config live)").
    c.settings.sampler.steps = 30;
    return c;
  }();
  std::string checkpoint = "scorejam-default.pt";  // a file in engine.model_dir
  bool autostart = true;                           // play at once; else wait for /scorejam/start
};

// [session]: where each run's recording goes.
struct SessionConfig {
  std::string dir = "sessions";  // one folder per run inside it; "" = no recording
  double autosave_s = 30;        // session.mid is rewritten this often
};

struct Config {
  RuntimeConfig runtime;
  RollConfig roll;
  DataConfig data;
  ModelSpec model = default_model_spec();  // [model]; its roll format is [roll]'s
  TrainConfig train;   // [train]
  SampleConfig sample; // [sample]
  LiveRunConfig live;  // [live]
  MidiConfig midi;     // [midi]
  OscConfig osc;       // [osc]
  SchedulerConfig scheduler;  // [scheduler]
  SessionConfig session;      // [session]
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads a TOML file over the defaults. Unknown tables or keys, wrong types and out-of-range values
// throw ConfigError naming the file, the line and the key.
Config load_config(const std::filesystem::path& path);
Config parse_config(const std::string& toml_text, const std::string& source);
// The effective configuration as TOML (what --print-config shows).
std::string to_toml(const Config& config);

}  // namespace scorejam
