// scorejam: the command line. Parses flags over the config file, sets up logging and torch, and
// hands over to one subcommand. Every error reaches the user as one line naming what was wrong.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <optional>

#include "core/compute_path.h"
#include "core/torch_runtime.h"
#include "daemon/beats_command.h"
#include "daemon/bench.h"
#include "daemon/commands.h"
#include "daemon/config.h"
#include "daemon/live_run.h"

namespace {

void set_up_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("scorejam");
  logger->set_pattern("%^[%l]%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

std::atomic<bool> g_stop{false};

// Only sets a lock-free flag: the loops poll it and stop cleanly.
void on_stop_signal(int) { g_stop = true; }

}  // namespace

int main(int argc, char** argv) {
  using namespace scorejam;
  CLI::App app{"scorejam: a score-based generative piano that plays with you"};
  app.require_subcommand(0, 1);
  std::string config_path;
  std::optional<int> threads;
  std::string log_level;
  std::string precision, memory_format;
  bool print_config = false;
  app.add_option("--config", config_path, "TOML config file (defaults: configs/default.toml)")->check(CLI::ExistingFile);
  app.add_option("--threads", threads, "torch threads (0 = every core); overrides runtime.threads")
      ->check(CLI::Range(0, 1024));
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error; overrides runtime.log_level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_option("--precision", precision, "auto, fp32, bf16: the network's arithmetic; overrides runtime.precision")
      ->check(CLI::IsMember({"auto", "fp32", "bf16"}));
  app.add_option("--memory-format", memory_format,
                 "auto, contiguous, channels_last: the network's layout; overrides runtime.memory_format")
      ->check(CLI::IsMember({"auto", "contiguous", "channels_last"}));
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

  auto* train_app = app.add_subcommand("train", "train a score model on MAESTRO (Ctrl-C saves a checkpoint and stops)");
  std::optional<std::string> train_data, train_out, train_device;
  std::string train_resume;
  std::optional<std::int64_t> train_steps;
  std::optional<double> train_minutes;
  std::optional<int> train_batch;
  std::optional<std::uint64_t> train_seed;
  train_app->add_option("--data", train_data, "MAESTRO zip or folder (train.data)");
  train_app->add_option("--out", train_out, "output folder for checkpoint, loss.csv, loss.png, config.toml (train.out_dir)");
  train_app->add_option("--resume", train_resume, "checkpoint to resume from (model, optimizer and step)")
      ->check(CLI::ExistingFile);
  train_app->add_option("--steps", train_steps, "stop after this many steps in all (train.max_steps)")
      ->check(CLI::PositiveNumber);
  train_app->add_option("--minutes", train_minutes, "stop after this many minutes (train.max_minutes)")
      ->check(CLI::NonNegativeNumber);
  train_app->add_option("--batch", train_batch, "batch size (train.batch_size)")->check(CLI::PositiveNumber);
  train_app->add_option("--device", train_device, "auto, cpu or cuda (train.device)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  train_app->add_option("--seed", train_seed, "seed (train.seed)");
  std::optional<int> train_world_size, train_rank, train_nproc;
  std::optional<std::string> train_master;
  train_app->add_option("--world-size", train_world_size, "data-parallel: processes in all (or WORLD_SIZE)")
      ->check(CLI::Range(1, 4096));
  train_app->add_option("--rank", train_rank, "data-parallel: this process, 0 to world size - 1 (or RANK)")
      ->check(CLI::NonNegativeNumber);
  train_app->add_option("--master", train_master, "data-parallel: HOST:PORT of rank 0's rendezvous (or MASTER_ADDR, MASTER_PORT)");
  train_app->add_option("--nproc", train_nproc, "data-parallel: run this many ranks on this machine")->check(CLI::Range(1, 256));

  SampleCommand sample_command;
  auto* sample_app = app.add_subcommand("sample", "generate piano music, or continue a MIDI prompt, with a trained model");
  std::optional<std::string> sampler_kind;
  std::optional<int> sampler_steps;
  std::optional<std::uint64_t> sampler_seed;
  std::optional<double> sampler_snr, sampler_temperature, sampler_guidance, sampler_guidance_t_min;
  sample_app->add_option("--checkpoint", sample_command.checkpoint, "model checkpoint (sample.checkpoint)")
      ->check(CLI::ExistingFile);
  sample_app->add_option("--prompt", sample_command.prompt, "MIDI file to continue")->check(CLI::ExistingFile);
  sample_app->add_option("--prompt-seconds", sample_command.prompt_seconds, "seconds of the prompt's end used as context")
      ->capture_default_str()->check(CLI::PositiveNumber);
  sample_app->add_option("--prompt-end", sample_command.prompt_end_s, "where in the prompt the context ends, in seconds (default: its end)")
      ->check(CLI::PositiveNumber);
  sample_app->add_option("--seconds", sample_command.seconds, "seconds to generate")->capture_default_str()->check(CLI::Range(0.1, 600.0));
  sample_app->add_option("-n,--count", sample_command.count, "number of samples")->capture_default_str()->check(CLI::Range(1, 64));
  sample_app->add_option("-o,--out", sample_command.out_dir, "output folder")->capture_default_str();
  sample_app->add_option("--sampler", sampler_kind, "em, pc, ode or heun (sample.sampler)")
      ->check(CLI::IsMember({"em", "pc", "ode", "heun"}));
  sample_app->add_option("--steps", sampler_steps, "sampler steps (sample.steps)")->check(CLI::Range(1, 100000));
  sample_app->add_option("--snr", sampler_snr, "PC corrector signal-to-noise ratio (sample.snr)")->check(CLI::Range(0.0, 10.0));
  sample_app->add_option("--temperature", sampler_temperature, "noise scale of em/pc (sample.temperature)")
      ->check(CLI::Range(0.0, 10.0));
  sample_app->add_option("--seed", sampler_seed, "seed (sample.seed)");
  sample_app->add_option("--guidance", sampler_guidance, "classifier-free guidance weight, 1 = off (sample.guidance)")
      ->check(CLI::Range(0.0, 20.0));
  sample_app->add_option("--guidance-t-min", sampler_guidance_t_min,
                         "guidance only while the diffusion time t >= this; 0 = to the end (sample.guidance_t_min)")
      ->check(CLI::Range(0.0, 1.0));

  EvalCommand eval_command;
  auto* eval_app = app.add_subcommand("eval", "judge continuations of real prompts against what the pianist played, and baselines");
  eval_app->add_option("--data", eval_command.data, "MAESTRO zip or folder (train.data)");
  eval_app->add_option("--checkpoint", eval_command.checkpoints, "model(s) to judge, repeatable (sample.checkpoint)")
      ->check(CLI::ExistingFile);
  eval_app->add_option("--baselines", eval_command.baselines, "baselines: real other repeat silence random markov-prompt markov-train")
      ->capture_default_str()->check(CLI::IsMember({"real", "other", "repeat", "silence", "random", "markov-prompt", "markov-train"}));
  eval_app->add_option("--split", eval_command.split, "split of the set")->capture_default_str()
      ->check(CLI::IsMember({"train", "validation", "test"}));
  eval_app->add_option("--prompt-seconds", eval_command.prompt_seconds, "context given")->capture_default_str()
      ->check(CLI::Range(0.5, 60.0));
  eval_app->add_option("--seconds", eval_command.seconds, "continuation judged")->capture_default_str()->check(CLI::Range(0.5, 120.0));
  eval_app->add_option("--prompts-per-piece", eval_command.prompts_per_piece, "prompts per performance")
      ->capture_default_str()->check(CLI::Range(1, 100));
  eval_app->add_option("--pieces", eval_command.pieces, "first N performances of the split (0 = all)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  eval_app->add_option("-o,--out", eval_command.out_dir, "output folder")->capture_default_str();
  eval_app->add_option("--pictures", eval_command.pictures, "prompts drawn per system (prompt + continuation)")
      ->capture_default_str()->check(CLI::Range(0, 1000));
  eval_app->add_flag("--likelihood", eval_command.likelihood,
                     "also the models' bits per dimension and per note (probability-flow ODE): of the real windows, and of "
                     "every system's continuation given its prompt");
  eval_app->add_option("--likelihood-prompts", eval_command.likelihood_prompts, "prompts the likelihood is measured on")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  eval_app->add_option("--likelihood-tolerance", eval_command.likelihood_tolerance, "the likelihood ODE's rtol and atol")
      ->capture_default_str()->check(CLI::Range(1e-7, 1e-1));
  eval_app->add_flag("--render-audio", eval_command.render_audio, "also render each drawn one to WAV through FluidSynth");
  eval_app->add_option("--soundfont", eval_command.soundfont, "General MIDI soundfont for --render-audio (default: Debian's)")
      ->check(CLI::ExistingFile);
  eval_app->add_option("--model-beats", eval_command.model_beats,
                       "beat-plane models hear the tracker's beats (as on stage) or the annotated ones")
      ->capture_default_str()->check(CLI::IsMember({"tracker", "annotated"}));
  eval_app->add_option("--beats", eval_command.beats, "beats CSV the pulse is measured against (default: <data without .zip>.beats.csv if there)")
      ->check(CLI::ExistingFile);
  eval_app->add_option("--sampler", sampler_kind, "em, pc, ode or heun (sample.sampler)")
      ->check(CLI::IsMember({"em", "pc", "ode", "heun"}));
  eval_app->add_option("--samplers", eval_command.samplers,
                       "several settings, kind:steps each (pc:100 heun:8 ...): every model runs each, and the trade-off against NFE is plotted");
  eval_app->add_option("--steps", sampler_steps, "sampler steps (sample.steps)")->check(CLI::Range(1, 100000));
  eval_app->add_option("--snr", sampler_snr, "PC corrector signal-to-noise ratio (sample.snr)")->check(CLI::Range(0.0, 10.0));
  eval_app->add_option("--seed", sampler_seed, "seed (sample.seed); every prompt is continued with it");
  eval_app->add_option("--guidance", sampler_guidance, "classifier-free guidance weight, 1 = off (sample.guidance)")
      ->check(CLI::Range(0.0, 20.0));
  eval_app->add_option("--guidance-t-min", sampler_guidance_t_min,
                       "guidance only while the diffusion time t >= this; 0 = to the end (sample.guidance_t_min)")
      ->check(CLI::Range(0.0, 1.0));

  BenchCommand bench_command;
  auto* bench_app = app.add_subcommand("bench", "measure speed with Google Benchmark: network, samplers, training");
  bench_app->add_option("--config", bench_command.config, "default (the model spec or checkpoint), seed (Song's ScoreNet setting), paths (every compute path this CPU offers), live (the live engine answering phrases, with the live surprise off and on), likelihood (the live surprise's bits of one window against the ODE tolerance), soak (a performance replayed for --minutes) or data-parallel (training in 1 and 2 processes)")
      ->capture_default_str()->check(CLI::IsMember({"default", "seed", "paths", "live", "likelihood", "soak", "data-parallel", "data-parallel-peer"}));
  bench_app->add_option("--minutes", bench_command.minutes, "soak: how long")->capture_default_str()->check(CLI::Range(0.1, 1440.0));
  bench_app->add_option("--replay", bench_command.replay, "soak: the MIDI performance replayed phrase by phrase; likelihood: the performance measured")->capture_default_str();
  bench_app->add_option("--checkpoint", bench_command.checkpoint, "benchmark this checkpoint's network")->check(CLI::ExistingFile);
  bench_app->add_option("--filter", bench_command.filter, "regex selecting benchmarks");
  bench_app->add_option("--json", bench_command.json, "also write the results as JSON to this file");
  bench_app->add_option("--repetitions", bench_command.repetitions, "repetitions per figure")->capture_default_str()->check(CLI::Range(1, 100));
  bench_app->add_option("--device", bench_command.device, "cpu or cuda")->capture_default_str()->check(CLI::IsMember({"cpu", "cuda"}));
  // The peer rank that `--config data-parallel` starts; not for people.
  bench_app->add_option("--peer-port", bench_command.peer_port)->group("");
  bench_app->add_flag("--profile", bench_command.profile, "first print where the time goes, op by op (torch's profiler)");
  bench_app->add_option("--python", bench_command.python,
                        "seed: time the original Python code in this folder (its bench.py) in the same run, and print the ratios")
      ->check(CLI::ExistingDirectory);

  RunCommand run_command;
  auto* run_app = app.add_subcommand("run", "the live daemon: listen on MIDI, answer or play along, steered over OSC");
  std::optional<std::string> run_mode, run_sampler, run_checkpoint, run_midi_api, run_midi_in, run_midi_out;
  std::optional<int> run_steps, run_osc_port;
  bool run_no_session = false, run_surprise = false;
  run_app->add_option("--mode", run_mode, "continue, duet or solo (live.mode)")->check(CLI::IsMember({"continue", "duet", "solo"}));
  run_app->add_option("--sampler", run_sampler, "em, pc, ode or heun (live.sampler)")->check(CLI::IsMember({"em", "pc", "ode", "heun"}));
  run_app->add_option("--steps", run_steps, "sampler steps (live.steps)")->check(CLI::Range(1, 1000));
  run_app->add_option("--checkpoint", run_checkpoint, "model file in live.model_dir (live.checkpoint)");
  run_app->add_option("--midi-api", run_midi_api, "auto, alsa or jack (midi.api)")->check(CLI::IsMember({"auto", "alsa", "jack"}));
  run_app->add_option("--midi-in", run_midi_in, "MIDI port to listen to; \"\" = a virtual port (midi.input)");
  run_app->add_option("--midi-out", run_midi_out, "MIDI port to play to; \"\" = a virtual port (midi.output)");
  run_app->add_option("--osc-port", run_osc_port, "UDP port of the OSC server (osc.port)")->check(CLI::Range(0, 65535));
  run_app->add_flag("--no-session", run_no_session, "do not record the session (session.dir = \"\")");
  run_app->add_flag("--surprise", run_surprise, "after each phrase, send its bits per note to OSC subscribers (live.surprise)");
  run_app->add_option("--replay", run_command.replay, "feed this MIDI file in as if played live, instead of the MIDI ports")
      ->check(CLI::ExistingFile);
  run_app->add_option("--replay-start", run_command.replay_start_s, "replay from this second of the file")->check(CLI::NonNegativeNumber);
  run_app->add_option("--replay-seconds", run_command.replay_seconds, "replay this many seconds of it (default: to its end)")
      ->check(CLI::NonNegativeNumber);
  run_app->add_option("--record", run_command.record, "write what was played in and what scorejam played to this .mid at the end");
  run_app->add_option("--seconds", run_command.seconds, "stop after this many seconds")->check(CLI::NonNegativeNumber);
  run_app->add_flag("--help-osc", run_command.help_osc, "print the OSC address space and exit");
  auto* ports_app = app.add_subcommand("ports", "list the MIDI ports scorejam can connect to");
  ReproduceCommand reproduce_command;
  auto* reproduce_app =
      app.add_subcommand("reproduce", "run a recorded session again from its session.trace and check it plays alike");
  reproduce_app->add_option("session", reproduce_command.session, "a session folder of `scorejam run`, or its session.trace")
      ->required()
      ->check(CLI::ExistingPath);
  reproduce_app->add_option("--models", reproduce_command.models, "look here (by file name) for a model that has moved")
      ->check(CLI::ExistingDirectory);
  reproduce_app->add_option("--out", reproduce_command.out, "write the reproduced take (player + scorejam) to this .mid");

  // `scorejam beats`: the beat tracker against the annotated beats (daemon/beats_command.cpp).
  BeatsCommand beats_command;
  auto* beats_app = app.add_subcommand("beats", "measure the online beat tracker, and the pianist's pulse, against annotated beats");
  beats_app->add_option("--data", beats_command.data, "MAESTRO zip or folder (train.data)");
  beats_app->add_option("--beats", beats_command.beats, "beats CSV (default: <data without .zip>.beats.csv)")->check(CLI::ExistingFile);
  beats_app->add_option("--split", beats_command.split, "split of the set")->capture_default_str()
      ->check(CLI::IsMember({"train", "validation", "test", "all"}));
  beats_app->add_option("--lead", beats_command.lead_s, "seconds ahead the predicted beats are judged")->capture_default_str()
      ->check(CLI::Range(0.1, 60.0));
  bool beats_summary_only = false;
  beats_app->add_flag("--summary", beats_summary_only, "print only the means, not a line per performance");

  CLI11_PARSE(app, argc, argv);

  try {
    Config config = config_path.empty() ? Config{} : load_config(config_path);
    if (threads) config.runtime.threads = *threads;
    if (train_data) config.train.data = *train_data;
    if (train_out) config.train.out_dir = *train_out;
    if (train_device) config.train.device = *train_device;
    if (train_steps) config.train.max_steps = *train_steps;
    if (train_minutes) config.train.max_minutes = *train_minutes;
    if (train_batch) config.train.batch_size = *train_batch;
    if (train_seed) config.train.seed = *train_seed;
    config.train.resume = train_resume;
    if (sampler_kind) config.sample.sampler.kind = sampler_kind_from_string(*sampler_kind);
    if (sampler_steps) config.sample.sampler.steps = *sampler_steps;
    if (sampler_seed) config.sample.sampler.seed = *sampler_seed;
    if (sampler_snr) config.sample.sampler.snr = *sampler_snr;
    if (sampler_temperature) config.sample.sampler.temperature = *sampler_temperature;
    if (sampler_guidance) config.sample.sampler.guidance = *sampler_guidance;
    if (sampler_guidance_t_min) config.sample.sampler.guidance_t_min = *sampler_guidance_t_min;
    if (!log_level.empty()) config.runtime.log_level = log_level;
    if (!precision.empty()) config.runtime.precision = precision;
    if (!memory_format.empty()) config.runtime.memory_format = memory_format;
    if (run_mode) config.live.engine.settings.mode = live_mode_from_string(*run_mode);
    if (run_sampler) config.live.engine.settings.sampler.kind = sampler_kind_from_string(*run_sampler);
    if (run_steps) config.live.engine.settings.sampler.steps = *run_steps;
    if (run_checkpoint) config.live.checkpoint = *run_checkpoint;
    if (run_midi_api) config.midi.api = *run_midi_api;
    if (run_midi_in) config.midi.input = *run_midi_in;
    if (run_midi_out) config.midi.output = *run_midi_out;
    if (run_osc_port) config.osc.port = *run_osc_port;
    if (run_no_session) config.session.dir.clear();
    if (run_surprise) config.live.engine.surprise = true;
    run_command.config_path = config_path;
    bench_command.config_path = config_path;
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
    {
      std::string why;
      const auto path = resolve_compute_path(precision_from_string(config.runtime.precision),
                                             layout_from_string(config.runtime.memory_format), cpu_features(), &why);
      set_default_compute_path(path);
      spdlog::info("network: {} on {} ({})", path.describe(), cpu_features().describe(), why);
    }

    if (*beats_app) {
      beats_command.per_file = !beats_summary_only;
      return run_beats(beats_command, config);
    }
    if (*roll_app) return run_roll(roll, config);
    if (*run_app) return run_live(run_command, config);
    if (*ports_app) return run_ports(config);
    if (*reproduce_app) return run_reproduce(reproduce_command);
    if (*sample_app) return run_sample(sample_command, config);
    if (*eval_app) return run_eval(eval_command, config);
    if (*bench_app) {
      bench_command.compute_path_auto = config.runtime.precision == "auto" && config.runtime.memory_format == "auto";
      return run_bench(bench_command, config.model, config.runtime.threads, config.live.engine,
                       (resolve_model_path(config.live.engine.model_dir) / config.live.checkpoint).string());
    }
    if (*train_app) {
      std::signal(SIGINT, on_stop_signal);
      std::signal(SIGTERM, on_stop_signal);
      TrainLaunch launch;
      launch.world = world_from_environment(WorldConfig{});
      if (train_world_size) launch.world.world_size = *train_world_size;
      if (train_rank) launch.world.rank = *train_rank;
      if (train_master) {
        const auto colon = train_master->rfind(':');
        if (colon == std::string::npos || colon == 0)
          throw std::invalid_argument("--master '" + *train_master + "': expected HOST:PORT");
        launch.world.master_addr = train_master->substr(0, colon);
        try {
          launch.world.master_port = std::stoi(train_master->substr(colon + 1));
        } catch (const std::exception&) {
          throw std::invalid_argument("--master '" + *train_master + "': the port is not a number");
        }
      }
      if (const auto problem = world_problem(launch.world); !problem.empty())
        throw std::invalid_argument("data-parallel training: " + problem);
      if (train_nproc) {
        if (launch.world.world_size > 1 && *train_nproc > 1)
          throw std::invalid_argument("--nproc launches the ranks itself: give it without --world-size or WORLD_SIZE");
        launch.nproc = *train_nproc;
        for (int i = 0; i < argc; ++i) {
          const std::string arg = argv[i];
          if (arg == "--nproc") {
            ++i;
            continue;
          }
          if (arg.rfind("--nproc=", 0) == 0) continue;
          launch.rank_args.push_back(arg);
        }
      }
      return run_train(config, g_stop, launch);
    }
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
