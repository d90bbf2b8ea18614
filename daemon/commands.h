// The subcommands of the scorejam program. Each takes its parsed options and the effective config,
// prints its result to stdout and returns the process exit code. Wiring only: the work is in core/.
#pragma once

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>

#include "daemon/config.h"
#include "train/distributed.h"

namespace scorejam {

struct RollCommand {
  std::string input;                 // a .mid file, or a MAESTRO zip/folder with --index
  std::string output = "roll.png";
  std::optional<std::size_t> index;  // entry of the MAESTRO CSV
  std::optional<double> start_s;
  std::optional<double> seconds;
  std::string title;
};

struct DatasetCommand {
  std::string path;
  std::string split = "all";
  bool use_cache = true;
  int composers = 15;  // composer rows shown
};

struct SampleCommand {
  std::string checkpoint;         // "" = sample.checkpoint from the config
  std::string prompt;             // a .mid file to continue; "" = unconditional
  double prompt_seconds = 4;      // the last seconds of the prompt used as context
  std::optional<double> prompt_end_s;  // where in the prompt file the context ends (default: its end)
  double seconds = 8;             // to generate
  int count = 1;
  std::string out_dir = "samples";
};

int run_sample(const SampleCommand& command, const Config& config);

struct EvalCommand {
  std::string data;                      // MAESTRO zip or folder; "" = train.data
  std::vector<std::string> checkpoints;  // models to judge; none = sample.checkpoint
  std::vector<std::string> samplers;     // "kind:steps" each, e.g. pc:100 heun:8; none = sample.sampler
  std::vector<std::string> baselines{"real", "other", "repeat", "silence", "random", "markov-prompt", "markov-train"};
  std::string split = "test";
  double prompt_seconds = 4;
  double seconds = 8;
  int prompts_per_piece = 2;
  int pieces = 0;                        // 0 = all
  std::string out_dir = "eval";
  int pictures = 3;                      // prompts drawn, per system: prompt + continuation
  bool render_audio = false;             // also a WAV of each drawn one, through FluidSynth
  std::string soundfont;                 // "" = find_soundfont()
  // The models' likelihood (core/likelihood.h) on `likelihood_prompts` of the prompts (evenly spread):
  // bits per dimension and per note of the real 8 s windows, and the conditional bits of every
  // system's continuation (its first half window) given the prompt.
  bool likelihood = false;
  int likelihood_prompts = 16;
  double likelihood_tolerance = 1e-4;  // the ODE solver's rtol and atol (1e-3 leaves a bias larger than the gaps between systems)
  std::string beats;                     // beats CSV for the pulse; "" = the one beside the data, if any
  // What beat-plane models hear: "tracker" (the beats the online tracker finds in the prompt, as on
  // stage) or "annotated" (the annotation over prompt and continuation, where there is one: what the
  // model does with the true pulse, apart from the tracker's errors).
  std::string model_beats = "tracker";
};
// Judges each model (with config.sample.sampler) and baseline on the split's prompts: prints the
// Markdown table and writes it with the per-prompt CSV to out_dir.
int run_eval(const EvalCommand& command, const Config& config);
// A relative model path is looked up from the working folder, then from the checkout the program
// was built in (build/scorejam -> ./models/...), so the bundled model is found from anywhere.
std::filesystem::path resolve_model_path(const std::filesystem::path& path);
// How `scorejam train` runs: as one process, as one rank of a data-parallel run (`world`), or
// (nproc > 1) as the launcher of nproc ranks on this machine, each this program with `rank_args`.
struct TrainLaunch {
  WorldConfig world;
  int nproc = 1;
  std::vector<std::string> rank_args;  // the program and its arguments, without --nproc
};
// Trains with config.train over config.model; `stop` (set by SIGINT/SIGTERM) ends it with a
// checkpoint and exit code 130. The launcher passes a stop on to its ranks, and when one rank
// fails it stops the others and exits with that rank's code.
int run_train(const Config& config, const std::atomic<bool>& stop, const TrainLaunch& launch = {});
int run_roll(const RollCommand& command, const Config& config);
int run_dataset(const DatasetCommand& command, const Config& config);

}  // namespace scorejam
