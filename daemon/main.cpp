// scorejam: the command line. Parses flags over the config file, sets up logging and torch, and
// hands over to one subcommand. Every error reaches the user as one line naming what was wrong.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <optional>

#include "core/torch_runtime.h"
#include "daemon/commands.h"
#include "daemon/config.h"

namespace {

void set_up_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("scorejam");
  logger->set_pattern("%^[%l]%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace scorejam;
  CLI::App app{"scorejam: a score-based generative piano that plays with you"};
  app.require_subcommand(0, 1);
  std::string config_path;
  std::optional<int> threads;
  std::string log_level;
  bool print_config = false;
  app.add_option("--config", config_path, "TOML config file (defaults: configs/default.toml)")->check(CLI::ExistingFile);
  app.add_option("--threads", threads, "torch threads (0 = every core); overrides runtime.threads")
      ->check(CLI::Range(0, 1024));
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error; overrides runtime.log_level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_flag("--print-config", print_config, "print the effective config as TOML and exit");

  RollCommand roll;
  auto* roll_app = app.add_subcommand("roll", "draw a MIDI file (or a MAESTRO entry) as a piano-roll PNG");
  roll_app->add_option("input", roll.input, "a .mid file, or a MAESTRO zip/folder with --index")->required();
  roll_app->add_option("-o,--output", roll.output, "PNG to write")->capture_default_str();
  roll_app->add_option("--index", roll.index, "entry of the MAESTRO CSV (0-based)");
  roll_app->add_option("--start", roll.start_s, "first second to draw")->check(CLI::NonNegativeNumber);
  roll_app->add_option("--seconds", roll.seconds, "seconds to draw")->check(CLI::PositiveNumber);
  roll_app->add_option("--title", roll.title, "title (default: file name, or composer and title)");

  DatasetCommand dataset;
  auto* dataset_app = app.add_subcommand("dataset", "summarise a MAESTRO zip or folder: files, hours, notes");
  dataset_app->add_option("path", dataset.path, "maestro-v3.0.0-midi.zip, its folder, or its CSV")->required();
  dataset_app->add_option("--split", dataset.split, "train, validation, test or all")->capture_default_str();
  dataset_app->add_option("--composers", dataset.composers, "composer rows to show")->capture_default_str();
  bool no_cache = false;
  dataset_app->add_flag("--no-cache", no_cache, "read every file, neither using nor writing the roll cache");

  CLI11_PARSE(app, argc, argv);

  try {
    Config config = config_path.empty() ? Config{} : load_config(config_path);
    if (threads) config.runtime.threads = *threads;
    if (!log_level.empty()) config.runtime.log_level = log_level;
    if (print_config) {
      std::fputs(to_toml(config).c_str(), stdout);
      return 0;
    }
    if (app.get_subcommands().empty()) {
      std::fputs(app.help().c_str(), stderr);
      return 2;
    }
    set_up_logging(config.runtime.log_level);
    const auto runtime = configure_torch(config.runtime.threads);
    if (runtime.reference_blas)
      spdlog::warn("torch is running on the reference BLAS ({}), about 15x slower: {}", runtime.blas_library, kBlasFix);
    spdlog::debug("torch: {} threads, BLAS {}, CUDA {}", runtime.threads, runtime.blas_library,
                  runtime.cuda_available ? "available" : "absent");

    if (*roll_app) return run_roll(roll, config);
    if (*dataset_app) {
      dataset.use_cache = !no_cache;
      return run_dataset(dataset, config);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "scorejam: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
