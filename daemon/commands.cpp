#include "daemon/commands.h"

#include <netinet/in.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "core/audio_render.h"
#include "core/checkpoint.h"
#include "core/continuation.h"
#include "core/eval_plot.h"
#include "core/evaluation.h"
#include "core/likelihood.h"
#include "core/maestro.h"
#include "core/midi_file.h"
#include "core/picture.h"
#include "core/progress.h"
#include "train/trainer.h"

extern char** environ;

namespace scorejam {
namespace fs = std::filesystem;

int run_roll(const RollCommand& command, const Config& config) {
  MidiFile midi;
  PictureOptions picture;
  if (command.index) {
    MaestroSource source(command.input);
    if (*command.index >= source.entries().size())
      throw std::out_of_range(command.input + ": --index " + std::to_string(*command.index) + " is past the last entry (" +
                              std::to_string(source.entries().size() - 1) + ")");
    const auto& e = source.entries()[*command.index];
    midi = source.read(*command.index);
    picture.title = e.composer + " — " + e.title + " (" + std::to_string(e.year) + ", " + e.split + ")";
  } else {
    if (fs::is_directory(command.input) || fs::path(command.input).extension() == ".zip")
      throw std::invalid_argument(command.input + " is a data set: choose a performance with --index N");
    midi = read_midi_file(command.input);
    picture.title = fs::path(command.input).filename().string();
  }
  if (!command.title.empty()) picture.title = command.title;
  const auto notes = config.roll.format.sustain_pedal ? apply_sustain(midi.notes, midi.controls) : midi.notes;
  if (command.start_s) picture.start_s = *command.start_s;
  if (command.seconds) picture.end_s = picture.start_s + *command.seconds;
  write_roll_png(notes, command.output, picture);
  std::printf("%s: %zu notes, %.1f s -> %s\n", picture.title.c_str(), notes.size(), midi.duration_s,
              command.output.c_str());
  return 0;
}

// A relative model path is looked up from the working folder, then from the checkout the program
// was built in (build/scorejam -> ./models/...), so the bundled model is found from anywhere.
fs::path resolve_model_path(const fs::path& path) {
  std::error_code ec;
  if (path.is_absolute() || fs::exists(path, ec)) return path;
  const auto exe_dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (const auto& base : {exe_dir.parent_path(), exe_dir})
    if (!ec && fs::exists(base / path, ec)) return base / path;
  return path;
}


namespace {

// What is odd about a prompt, said before the model runs on it: a file with no notes (and a header
// that promised tracks it does not hold), a stretch with no notes, or fewer seconds than asked.
void warn_about_prompt(const std::string& path, const MidiFile& midi, const std::vector<Note>& prompt,
                       double asked_s, double start_s, double end_s) {
  if (midi.declared_track_count > midi.track_count)
    spdlog::warn("prompt {}: the header declares {} tracks, the file holds {}", path, midi.declared_track_count,
                 midi.track_count);
  if (midi.notes.empty()) {
    spdlog::warn("prompt {}: no notes in the file ({} tracks read, {:.1f} s long): the model continues silence", path,
                 midi.track_count, midi.duration_s);
    return;
  }
  if (prompt.empty())
    spdlog::warn("prompt {}: no notes from {:.1f} to {:.1f} s (the file's {} notes lie elsewhere): the model continues "
                 "silence",
                 path, start_s, end_s, midi.notes.size());
  if (end_s - start_s < asked_s - 1e-6)
    spdlog::warn("prompt {}: {:.1f} s of prompt, fewer than the {:.1f} s asked (the file is {:.1f} s long)", path,
                 end_s - start_s, asked_s, midi.duration_s);
}

}  // namespace

int run_sample(const SampleCommand& command, const Config& config) {
  const auto path = resolve_model_path(command.checkpoint.empty() ? config.sample.checkpoint : command.checkpoint);
  auto loaded = load_checkpoint(path);
  spdlog::info("model {}: {} parameters, step {}, validation loss {:.1f}", path.string(), loaded.ema->parameter_count(),
               loaded.state.step, loaded.state.last_val_loss);
  ContinuationRequest request;
  request.seconds = command.seconds;
  request.count = command.count;
  request.sampler = config.sample.sampler;
  request.thresholds = config.roll.thresholds;
  std::string title = "scorejam";
  if (!command.prompt.empty()) {
    const auto midi = read_midi_file(command.prompt);
    const auto notes = loaded.spec.roll.sustain_pedal ? apply_sustain(midi.notes, midi.controls) : midi.notes;
    const double end = std::min(midi.duration_s, command.prompt_end_s.value_or(midi.duration_s));
    const double start = std::max(0.0, end - command.prompt_seconds);
    request.prompt = notes_between(notes, start, end);
    if (loaded.spec.roll.pedal_channel) {
      for (const auto& cc : controls_between(midi.controls, start, end))
        if (cc.controller == kSustainController) request.prompt_controls.push_back(cc);
    }
    request.prompt_seconds = end - start;
    title = fs::path(command.prompt).filename().string();
    warn_about_prompt(command.prompt, midi, request.prompt, command.prompt_seconds, start, end);
  }
  loaded.ema->eval();
  std::optional<Progress> progress;  // made at the first window, when the count is known
  request.on_window = [&](int done, int total) {
    if (!progress) progress.emplace("sample", total, "windows");
    progress->update(done);
  };
  const auto result = continue_notes(loaded.ema, loaded.spec, request);
  if (progress) progress->finish();

  fs::create_directories(command.out_dir);
  for (int i = 0; i < command.count; ++i) {
    auto notes = request.prompt;
    for (auto n : result.generated[static_cast<std::size_t>(i)]) {
      n.start_s += request.prompt_seconds;
      n.end_s += request.prompt_seconds;
      notes.push_back(n);
    }
    sort_notes(notes);
    // The pedal, when the model plays it: the prompt's, then the model's from the prompt's end.
    auto controls = request.prompt_controls;
    if (!result.pedal.empty())
      for (auto cc : result.pedal[static_cast<std::size_t>(i)]) {
        cc.time_s += request.prompt_seconds;
        controls.push_back(cc);
      }
    char name[32];
    std::snprintf(name, sizeof name, "sample_%02d", i);
    const auto base = fs::path(command.out_dir) / name;
    write_midi_file(base.string() + ".mid", notes, controls);
    PictureOptions picture;
    picture.title = title + " + " + std::to_string(static_cast<int>(command.seconds)) + " s by scorejam (" +
                    to_string(request.sampler.kind) + ", " + std::to_string(result.nfe) + " NFE)";
    picture.end_s = request.prompt_seconds + command.seconds;
    if (request.prompt_seconds > 0) {
      picture.marked_start_s = 0;
      picture.marked_end_s = request.prompt_seconds;
    }
    write_roll_png(notes, base.string() + ".png", picture);
    std::printf("%s.mid, %s.png: %zu notes generated\n", base.c_str(), base.filename().c_str(),
                result.generated[static_cast<std::size_t>(i)].size());
  }
  const double music_s = command.seconds * command.count;
  std::printf("%d x %.1f s with %s in %d windows: %.2f s wall, %d NFE, real-time factor %.1f\n", command.count,
              command.seconds, to_string(request.sampler.kind).c_str(), result.windows, result.wall_s, result.nfe,
              music_s / result.wall_s);
  return 0;
}

namespace {

// A name made safe for a file: letters, digits, '-' and '_' kept, everything else '_'.
std::string file_stem(std::string name) {
  for (auto& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  return name;
}

// Pictures (and WAVs) of the first prompts, prompt + continuation per system; returns the Markdown
// that shows them.
std::string write_listening(const EvalCommand& command, const std::vector<EvalPrompt>& prompts,
                            const std::vector<SystemResult>& systems,
                            const std::vector<std::vector<std::vector<Note>>>& played) {
  const auto count = std::min<std::size_t>(prompts.size(), static_cast<std::size_t>(std::max(0, command.pictures)));
  if (count == 0) return {};
  std::optional<fs::path> soundfont;
  if (command.render_audio) {
    soundfont = command.soundfont.empty() ? find_soundfont() : std::optional<fs::path>(command.soundfont);
    if (!soundfont)
      throw std::runtime_error("eval --render-audio: no General MIDI soundfont in /usr/share/sounds/sf2 "
                               "(apt install timgm6mb-soundfont, or give --soundfont)");
  }
  const auto dir = fs::path(command.out_dir) / "listen";
  fs::create_directories(dir);
  std::string markdown = "\n## Prompt + continuation\n\nThe shaded part is the prompt.\n";
  for (std::size_t k = 0; k < count; ++k) {
    markdown += fmt::format("\n### {} at {:.1f} s\n\n", prompts[k].piece, prompts[k].end_s);
    for (std::size_t s = 0; s < systems.size(); ++s) {
      auto notes = prompts[k].prompt;
      for (auto n : played[s][k]) {
        n.start_s += command.prompt_seconds;
        n.end_s += command.prompt_seconds;
        notes.push_back(n);
      }
      const auto stem = fmt::format("{:02d}_{}", k, file_stem(systems[s].name));
      PictureOptions picture;
      picture.title = fmt::format("{}: {} at {:.1f} s", systems[s].name, prompts[k].piece, prompts[k].end_s);
      picture.end_s = command.prompt_seconds + command.seconds;
      picture.marked_start_s = 0;
      picture.marked_end_s = command.prompt_seconds;
      write_roll_png(notes, dir / (stem + ".png"), picture);
      markdown += fmt::format("![{}](listen/{}.png)\n", systems[s].name, stem);
      if (soundfont) render_wav(notes, dir / (stem + ".wav"), *soundfont);
    }
  }
  spdlog::info("eval: pictures{} of {} prompts in {}", soundfont ? " and WAVs" : "", count, dir.string());
  return markdown;
}

// "kind:steps" settings (e.g. pc:100, heun:8) over the config's sampler; none = the config's.
std::vector<SamplerConfig> sampler_settings(const std::vector<std::string>& texts, const SamplerConfig& base) {
  std::vector<SamplerConfig> samplers;
  for (const auto& text : texts) {
    SamplerConfig sampler = base;
    const auto colon = text.find(':');
    try {
      sampler.kind = sampler_kind_from_string(text.substr(0, colon));
      if (colon != std::string::npos) sampler.steps = std::stoi(text.substr(colon + 1));
    } catch (const std::exception&) {
      throw std::invalid_argument("eval --samplers: '" + text + "' is not kind:steps (e.g. pc:100, heun:8)");
    }
    if (sampler.steps < 1 || sampler.steps > 10000)
      throw std::invalid_argument("eval --samplers: '" + text + "': steps must be 1..10000");
    samplers.push_back(sampler);
  }
  if (samplers.empty()) samplers.push_back(base);
  return samplers;
}

// What the table calls each model: the file's stem, or its folder and stem where two files share a
// stem (runs/small/checkpoint.pt and runs/large/checkpoint.pt are "small/checkpoint", "large/checkpoint").
std::vector<std::string> model_labels(const std::vector<fs::path>& paths) {
  std::vector<std::string> labels;
  for (const auto& path : paths) {
    const bool shared = std::count_if(paths.begin(), paths.end(),
                                      [&](const fs::path& other) { return other.stem() == path.stem(); }) > 1;
    const auto folder = path.parent_path().filename();
    labels.push_back(shared && !folder.empty() ? (folder / path.stem()).string() : path.stem().string());
  }
  return labels;
}

// One model with one sampler setting continuing every prompt, judged.
SystemResult judge_model(const std::string& label, LoadedCheckpoint& loaded, const SamplerConfig& sampler,
                         const std::vector<EvalPrompt>& prompts, const EvalOptions& options, const Config& config,
                         bool annotated_beats, std::vector<std::vector<Note>>& continuations) {
  ContinuationRequest request;
  request.seconds = options.seconds;
  request.prompt_seconds = options.prompt_seconds;
  request.sampler = sampler;
  request.thresholds = config.roll.thresholds;
  double wall = 0, nfe = 0;
  Progress progress(fmt::format("eval {} ({} {})", label, to_string(sampler.kind), sampler.steps),
                    static_cast<std::int64_t>(prompts.size()), "prompts");
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    request.prompt = prompts[i].prompt;
    request.prompt_controls = prompts[i].prompt_pedal;  // read only by a pedal-channel model
    // Read only by a beat-plane model; empty: the tracker follows the prompt.
    request.beats_s = annotated_beats ? prompts[i].model_beats_s : std::vector<double>{};
    request.downbeats_s = annotated_beats ? prompts[i].model_downbeats_s : std::vector<double>{};
    const auto result = continue_notes(loaded.ema, loaded.spec, request);
    continuations.push_back(result.generated.front());
    wall += result.wall_s;
    nfe += result.nfe;
    spdlog::debug("{} prompt {}/{}: {} notes in {:.2f} s", label, i + 1, prompts.size(),
                  continuations.back().size(), result.wall_s);
    progress.update(static_cast<std::int64_t>(i + 1));
  }
  progress.finish();
  const auto n = static_cast<double>(prompts.size());
  auto judged = judge_system(fmt::format("{} ({} {})", label, to_string(sampler.kind), sampler.steps),
                             prompts, continuations, options, wall / n);
  judged.nfe_per_continuation = nfe / n;
  judged.series = fmt::format("{} {}", label, to_string(sampler.kind));
  judged.steps_label = std::to_string(sampler.steps);
  return judged;
}

// Mean and 95% confidence half-width (music_metrics' mean_interval) of the finite values; NaN when none.
std::pair<double, double> mean_ci(const std::vector<double>& values) {
  std::vector<double> finite;
  for (double x : values)
    if (std::isfinite(x)) finite.push_back(x);
  if (finite.empty()) return {std::nan(""), std::nan("")};
  const auto interval = mean_interval(finite);
  return {interval.mean, interval.half_width};
}

// The likelihood section of eval: one model's bits of the real windows, and of every system's
// continuation given its prompt, on an evenly spread subset of the prompts.
std::string likelihood_section(const std::string& label, const fs::path& path, const std::vector<EvalPrompt>& prompts,
                               const std::vector<SystemResult>& systems,
                               const std::vector<std::vector<std::vector<Note>>>& played, const EvalOptions& options,
                               const EvalCommand& command) {
  auto loaded = load_checkpoint(path);
  loaded.ema->eval();
  const auto& spec = loaded.spec;
  const double half_s = (spec.window_frames / 2) / spec.roll.fs_hz;
  const std::size_t n = std::min(prompts.size(), static_cast<std::size_t>(command.likelihood_prompts));
  std::vector<std::size_t> chosen;
  for (std::size_t k = 0; k < n; ++k) chosen.push_back(k * prompts.size() / n);
  LikelihoodConfig config;
  config.rtol = config.atol = command.likelihood_tolerance;
  config.eps = spec.sde.eps;
  auto cut = [&](const std::vector<Note>& notes) {
    std::vector<Note> kept;
    for (const auto& note : notes)
      if (note.start_s < half_s) kept.push_back(note);
    return kept;
  };
  std::vector<std::vector<Note>> prompt_notes, real;
  for (auto i : chosen) {
    prompt_notes.push_back(prompts[i].prompt);
    real.push_back(cut(prompts[i].real));
  }
  const double offset = dequantisation_offset_bits(spec.roll, spec.net.channels);
  auto row = [offset](const std::string& name, const WindowBits& bits) {
    const auto [dim, dim_ci] = mean_ci(bits.bits_per_dim);
    const auto [note, note_ci] = mean_ci(bits.bits_per_note);
    return fmt::format("| {} | {:.4f} ± {:.4f} | {:.4f} | {:.1f} ± {:.1f} | {} | {:.1f} |\n", name, dim, dim_ci,
                       dim + offset, note, note_ci, bits.nfe, bits.wall_s);
  };
  spdlog::info("eval --likelihood: {} on {} prompts (ODE tolerance {})", label, n, command.likelihood_tolerance);
  std::string text = fmt::format(
      "\n## Likelihood under {}\n\nBits of {} prompts' windows ({} frames at {} fps), by the probability-flow ODE "
      "(rtol = atol = {}, one Rademacher probe); mean ± 95% CI. Differential bits of the model's [-1, 1] roll at t = eps: "
      "comparable between models of the same representation, frame rate and window only. With the dequantisation "
      "offset: plus {:.3f} bits per dimension, -log2 of each channel's bin width (core/likelihood.h).\n\n"
      "| windows | bits/dim | + offset | bits/note | NFE | s |\n|---|---|---|---|---|---|\n",
      label, n, spec.window_frames, spec.roll.fs_hz, command.likelihood_tolerance, offset);
  text += row("the pianist's real window (prompt + continuation), nothing known",
              note_window_bits(loaded.ema, spec, prompt_notes, real, options.prompt_seconds, false, config));
  text += "\nThe continuation's first half window given the prompt (conditional bits; fewer is likelier):\n\n"
          "| system | bits/dim | + offset | bits/note | NFE | s |\n|---|---|---|---|---|---|\n";
  for (std::size_t s = 0; s < systems.size(); ++s) {
    if (systems[s].name == "silence") continue;  // no notes: bits per note undefined
    std::vector<std::vector<Note>> continuations;
    for (auto i : chosen) continuations.push_back(cut(played[s][i]));
    text += row(systems[s].name, note_window_bits(loaded.ema, spec, prompt_notes, continuations, options.prompt_seconds,
                                                  true, config));
  }
  return text;
}

// Where in the continuation each system plays: notes/s per 0.25 s, with the models' window seams
// marked; and per system the density of the second after each seam over the second before it, and
// the share of the notes held across a seam that stop at it and are struck again (one frame of the
// roll as the tolerance).
std::string write_density_timeline(const fs::path& out_dir, const std::vector<SystemResult>& systems,
                                   const std::vector<std::vector<std::vector<Note>>>& played, double seconds,
                                   const std::vector<double>& seams, double frame_s) {
  const double bin_s = 0.25;
  std::vector<TimelineSeries> series;
  std::string ratios;
  for (std::size_t i = 0; i < systems.size(); ++i) {
    if (systems[i].name == "silence" || systems[i].name == "other") continue;  // nothing; the real notes again
    series.push_back({systems[i].name, density_over_time(played[i], seconds, bin_s)});
    double before = 0, after = 0;
    HeldAcross across;
    for (double seam : seams)
      for (const auto& notes : played[i]) {
        for (const auto& n : notes) {
          before += n.start_s >= seam - 1 && n.start_s < seam;
          after += n.start_s >= seam && n.start_s < seam + 1;
        }
        const auto here = held_across(notes, seam, frame_s);
        across.held += here.held;
        across.restruck += here.restruck;
      }
    if (!seams.empty())
      ratios += fmt::format("| {} | {} | {} | {} |\n", systems[i].name,
                            before > 0 ? fmt::format("{:.2f}", after / before) : "–", across.held,
                            across.held > 0 ? fmt::format("{:.2f}", static_cast<double>(across.restruck) / static_cast<double>(across.held)) : "–");
  }
  write_timeline_png("notes per second through the continuation", "dashed: window seams", series, bin_s, seams,
                     out_dir / "plots" / "density_over_time.png");
  std::string markdown = "\n## Density through the continuation\n\n![notes per second through the continuation](plots/density_over_time.png)\n";
  if (!ratios.empty())
    markdown += "\nNotes in the second after each window seam over the second before it; the notes held across a seam, and "
                "the share of them that stop there and are struck again:\n\n| system | after / before | held across | stopped "
                "and struck again |\n|---|---|---|---|\n" + ratios;
  return markdown;
}

// How near the prompt's register each system plays, second by second: a model that can tell which
// keys were played stays near them after its first second, as the pianist does.
std::string write_register_timeline(const fs::path& out_dir, const std::vector<SystemResult>& systems,
                                    const std::vector<EvalPrompt>& prompts,
                                    const std::vector<std::vector<std::vector<Note>>>& played, double seconds,
                                    const std::vector<double>& seams) {
  const double bin_s = 1.0;
  std::vector<std::vector<Note>> prompt_notes;
  for (const auto& p : prompts) prompt_notes.push_back(p.prompt);
  std::vector<TimelineSeries> series;
  std::string rows;
  for (std::size_t i = 0; i < systems.size(); ++i) {
    if (systems[i].name == "silence" || systems[i].name == "other") continue;
    series.push_back({systems[i].name, register_listening_over_time(played[i], prompt_notes, seconds, bin_s)});
    rows += "| " + systems[i].name + " |";
    for (double v : series.back().values) rows += fmt::format(" {:.2f} |", v);
    rows += "\n";
  }
  write_timeline_png("following the prompt's register through the continuation",
                     "register listening; dashed: window seams", series, bin_s, seams,
                     out_dir / "plots" / "register_over_time.png");
  std::string header = "| system |", rule = "|---|";
  for (double t = 0; t < seconds - 1e-9; t += bin_s) {
    header += fmt::format(" {:.0f}–{:.0f} s |", t, t + bin_s);
    rule += "---|";
  }
  return "\n## Register through the continuation\n\n![following the prompt's register through the continuation]"
         "(plots/register_over_time.png)\n\nRegister listening of the notes begun in each second (> 0: in the "
         "prompt's register rather than in any prompt's):\n\n" + header + "\n" + rule + "\n" + rows;
}

// A picture per measure (every continuation a dot, the mean and its 95% CI a bar) and, when models
// ran at several settings, each measure against NFE; returns the Markdown that shows them.
std::string write_plots(const fs::path& out_dir, const std::vector<SystemResult>& systems) {
  std::string markdown = "\n## Measures per system\n\n";
  const auto dir = out_dir / "plots";
  fs::create_directories(dir);
  const SystemResult* real = nullptr;
  std::size_t model_settings = 0;
  for (const auto& system : systems) {
    if (system.name == "real") real = &system;
    model_settings += !system.series.empty();
  }
  std::string tradeoffs;
  for (const auto& m : eval_metrics()) {
    auto values_of = [&](const SystemResult& system) {
      std::vector<double> values;
      for (const auto& s : system.scores) values.push_back(s.*m.field);
      return values;
    };
    std::vector<MetricRow> rows;
    for (const auto& system : systems) rows.push_back({system.name, values_of(system)});
    const auto stem = file_stem(m.name);
    write_metric_png(m.name, m.definition, rows, dir / (stem + ".png"));
    markdown += fmt::format("![{}](plots/{}.png)\n", m.name, stem);
    if (model_settings < 2) continue;
    std::vector<TradeoffSeries> series;
    for (const auto& system : systems) {
      if (system.series.empty()) continue;
      auto found = std::find_if(series.begin(), series.end(), [&](const auto& t) { return t.name == system.series; });
      if (found == series.end()) found = series.insert(series.end(), TradeoffSeries{system.series, {}});
      found->points.push_back({system.nfe_per_continuation, values_of(system), system.steps_label});
    }
    const auto real_mean = real ? std::optional<double>(mean_interval(values_of(*real)).mean) : std::nullopt;
    write_tradeoff_png(m.name, series, real_mean, dir / ("tradeoff_" + stem + ".png"));
    tradeoffs += fmt::format("![{} against NFE](plots/tradeoff_{}.png)\n", m.name, stem);
  }
  if (!tradeoffs.empty()) markdown += "\n## Quality against speed\n\n" + tradeoffs;
  return markdown;
}

}  // namespace

int run_eval(const EvalCommand& command, const Config& config) {
  const auto data = command.data.empty() ? config.train.data : command.data;
  if (data.empty()) throw ConfigError("eval: no data set: give --data or train.data");
  MaestroSource source(resolve_model_path(data));
  EvalOptions options;
  options.split = command.split;
  options.prompt_seconds = command.prompt_seconds;
  options.seconds = command.seconds;
  options.prompts_per_piece = command.prompts_per_piece;
  options.pieces = command.pieces;
  options.sustain_pedal = config.roll.format.sustain_pedal;
  options.seed = config.sample.sampler.seed;
  // The pulse is measured against the annotated beats where there are some, else the tracker's.
  const auto beats_path = command.beats.empty() ? beats_path_beside(source.path()) : fs::path(command.beats);
  std::optional<BeatsTable> beats;
  if (!command.beats.empty() || fs::exists(beats_path)) {
    beats = read_beats_csv(beats_path);
    for (const auto& p : beats->problems) spdlog::warn("{}", p.message);
    options.beats = &*beats;
  }
  const auto prompts =
      eval_prompts(source, options, [](const SkippedFile& s) { spdlog::warn("skipped {}: {}", s.name, s.reason); });
  if (prompts.empty()) throw std::invalid_argument(data + ": no performance of split '" + command.split + "' is long enough");
  spdlog::info("eval: {} prompts of {} s from split '{}', continuations of {} s", prompts.size(), command.prompt_seconds,
               command.split, command.seconds);
  const auto annotated = std::count_if(prompts.begin(), prompts.end(), [](const EvalPrompt& p) { return p.beats_annotated; });
  const std::string pulse_beats =
      beats ? fmt::format("{} of {} prompts against the annotated beats of {}, the rest against the tracker's", annotated,
                          prompts.size(), beats_path.string())
            : fmt::format("against the beats the tracker finds before each prompt's end (no {}; --beats FILE)",
                          beats_path.string());
  spdlog::info("eval: pulse {}", pulse_beats);
  if (command.model_beats == "annotated" && annotated == 0)
    spdlog::warn("eval: --model-beats annotated, but no prompt has annotated beats: beat-plane models hear the tracker's");
  else
    spdlog::info("eval: beat-plane models hear {}", command.model_beats == "annotated"
                                                        ? fmt::format("the annotated beats ({} prompts), the tracker's elsewhere", annotated)
                                                        : std::string("the tracker's beats, as on stage"));

  std::optional<EvalCorpus> corpus;
  for (const auto& name : command.baselines)
    if ((name == "random" || name == "markov-train") && !corpus) {
      corpus = eval_corpus(source, "train", options.sustain_pedal);
      spdlog::info("eval: the random and Markov baselines learned {} train performances ({:.1f} notes/s)",
                   corpus->performances, corpus->statistics.notes_per_s);
    }
  std::vector<SystemResult> systems;
  std::vector<std::vector<std::vector<Note>>> played;  // per system, per prompt
  for (const auto& name : command.baselines) {
    played.push_back(baseline_continuations(name, prompts, options, corpus ? &*corpus : nullptr));
    systems.push_back(judge_system(name, prompts, played.back(), options));
  }
  std::vector<double> seams;  // the first model's: continue_notes makes half a window per window
  double frame_s = 1.0 / 16;  // the first model's roll frame
  auto checkpoints = command.checkpoints;
  if (checkpoints.empty()) checkpoints.push_back(config.sample.checkpoint);
  const auto samplers = sampler_settings(command.samplers, config.sample.sampler);
  std::vector<fs::path> paths;
  for (const auto& checkpoint : checkpoints) paths.push_back(resolve_model_path(checkpoint));
  const auto labels = model_labels(paths);
  for (std::size_t m = 0; m < paths.size(); ++m) {
    auto loaded = load_checkpoint(paths[m]);
    loaded.ema->eval();
    const double horizon_s = (loaded.spec.window_frames - loaded.spec.window_frames / 2) / loaded.spec.roll.fs_hz;
    if (seams.empty() && horizon_s > 0) {
      frame_s = 1.0 / loaded.spec.roll.fs_hz;
      for (double t = horizon_s; t < options.seconds - 1e-9; t += horizon_s) seams.push_back(t);
    }
    for (const auto& sampler : samplers) {
      played.emplace_back();
      systems.push_back(judge_model(labels[m], loaded, sampler, prompts, options, config,
                                    command.model_beats == "annotated", played.back()));
    }
  }

  std::string likelihood;
  if (command.likelihood)
    for (std::size_t m = 0; m < paths.size(); ++m)
      likelihood += likelihood_section(labels[m], paths[m], prompts, systems, played, options, command);

  const auto table = eval_table_markdown(systems) + likelihood;
  fs::create_directories(command.out_dir);
  auto plots = write_plots(command.out_dir, systems);  // makes plots/
  plots += write_density_timeline(command.out_dir, systems, played, options.seconds, seams, frame_s);
  plots += write_register_timeline(command.out_dir, systems, prompts, played, options.seconds, seams);
  const auto listen = write_listening(command, prompts, systems, played);
  std::ofstream(fs::path(command.out_dir) / "table.md") << table << plots << listen;
  std::ofstream(fs::path(command.out_dir) / "scores.csv") << eval_csv(systems, prompts);
  std::printf("%zu prompts (%d per piece) of %.1f s from %s, split %s; %.1f s continuations; mean ± 95%% CI\n\n%s\n",
              prompts.size(), command.prompts_per_piece, command.prompt_seconds, data.c_str(), command.split.c_str(),
              command.seconds, table.c_str());
  for (const auto& m : eval_metrics()) std::printf("  %s: %s\n", m.name, m.definition);
  std::printf("  pulse: %s\n", pulse_beats.c_str());
  std::printf("  OA pitch / duration C / V: Mittal et al. (ISMIR 2021) overlapping-area consistency / variance of the\n"
              "    pitch and duration Gaussians of adjacent %.0f s frames, against the real continuations (1 = alike)\n",
              options.oa_frame_s);
  std::printf("  IOI / duration / velocity overlap: the histograms of all the system's inter-onset intervals,\n"
              "    durations and velocities against the real continuations', sum of min(p, q) over fixed bins (1 = alike)\n");
  std::printf("\nwritten: %s/table.md, %s/scores.csv, %s/plots\n", command.out_dir.c_str(), command.out_dir.c_str(),
              command.out_dir.c_str());
  return 0;
}

namespace {

// --nproc N: N ranks of this program on this machine, in torchrun's environment variables. The
// first rank to fail ends the run: the others get SIGTERM (and SIGKILL 30 s later).
int launch_local_ranks(int nproc, const std::vector<std::string>& rank_args, const std::atomic<bool>& stop) {
  const int port = free_loopback_port();
  spdlog::info("train: launching {} ranks on this machine (rendezvous 127.0.0.1:{})", nproc, port);
  std::vector<pid_t> ranks;
  auto end_all = [&](int signal) {
    for (pid_t pid : ranks)
      if (pid > 0) ::kill(pid, signal);
  };
  for (int rank = 0; rank < nproc; ++rank) {
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry = *e;
      const auto name = entry.substr(0, entry.find('='));
      if (name != "WORLD_SIZE" && name != "RANK" && name != "LOCAL_RANK" && name != "MASTER_ADDR" && name != "MASTER_PORT")
        env_strings.push_back(entry);
    }
    env_strings.insert(env_strings.end(), {"WORLD_SIZE=" + std::to_string(nproc), "RANK=" + std::to_string(rank),
                                           "LOCAL_RANK=" + std::to_string(rank), "MASTER_ADDR=127.0.0.1",
                                           "MASTER_PORT=" + std::to_string(port)});
    std::vector<char*> envp, argv;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = rank_args;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    if (const int error = posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), envp.data()); error != 0) {
      end_all(SIGTERM);
      throw std::runtime_error("train --nproc: cannot start rank " + std::to_string(rank) + ": " + std::strerror(error));
    }
    ranks.push_back(pid);
  }
  int result = 0;
  std::size_t running = ranks.size();
  bool stop_passed_on = false;
  auto kill_at = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      const auto it = std::find(ranks.begin(), ranks.end(), pid);
      if (it == ranks.end()) continue;
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      const auto rank = it - ranks.begin();
      *it = -1;
      --running;
      if (code != 0 && result == 0) {
        result = code;
        if (running > 0) {
          if (!stop_passed_on)  // after a stop every rank ends with 130: no news
            spdlog::error("train: rank {} ended with code {}: stopping the other ranks", rank, code);
          end_all(SIGTERM);
          kill_at = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        }
      }
      continue;
    }
    if (stop && !stop_passed_on) {  // Ctrl-C or SIGTERM: every rank saves (rank 0) and stops
      end_all(SIGTERM);
      stop_passed_on = true;
    }
    if (std::chrono::steady_clock::now() > kill_at) end_all(SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return result;
}

}  // namespace

int run_train(const Config& config, const std::atomic<bool>& stop, const TrainLaunch& launch) {
  if (config.train.data.empty()) throw ConfigError("train: no data set: give --data or train.data");
  if (launch.nproc > 1) return launch_local_ranks(launch.nproc, launch.rank_args, stop);
  const auto report = train(config.train, config.model, to_toml(config), stop, roll_cache_dir(config.data), launch.world);
  if (launch.world.rank != 0) return report.stopped_early ? 130 : 0;  // rank 0 reports
  std::printf("trained to step %lld (%lld epochs): validation loss %.2f (first %.2f), %.2f steps/s, %zu files skipped\n"
              "checkpoint: %s\n",
              static_cast<long long>(report.steps), static_cast<long long>(report.epochs), report.last_val_loss,
              report.first_val_loss, report.steps_per_s, report.files_skipped, report.checkpoint.c_str());
  return report.stopped_early ? 130 : 0;
}

namespace {

void print_row(const SummaryRow& row) {
  std::printf("  %-34.34s %6zu %9.2f %10zu\n", row.name.c_str(), row.files, row.hours, row.notes);
}

}  // namespace

int run_dataset(const DatasetCommand& command, const Config& config) {
  MaestroSource source(command.path);
  LoadOptions options;
  options.split = command.split;
  options.format = config.roll.format;
  if (command.use_cache) options.cache_dir = roll_cache_dir(config.data);
  options.on_skip = [](const SkippedFile& s) { spdlog::warn("skipped {}: {}", s.name, s.reason); };
  std::optional<Progress> progress;  // a first read takes a while; the cache's does not
  options.on_file = [&](std::size_t done, std::size_t total) {
    if (!progress) progress.emplace("dataset " + command.split, static_cast<std::int64_t>(total), "files");
    progress->update(static_cast<std::int64_t>(done));
  };
  LoadReport report;
  const auto performances = load_performances(source, options, &report);
  if (progress) progress->finish();
  const auto summary = summarize(source, performances, config.roll.format.fs_hz);

  std::printf("%s\n", source.path().c_str());
  std::printf("  %zu entries in the CSV; split '%s': %zu files read, %zu skipped, in %.2f s%s\n\n",
              source.entries().size(), command.split.c_str(), report.loaded, report.skipped.size(), report.seconds,
              report.from_cache ? " (from the cache)" : "");
  std::printf("  %-34s %6s %9s %10s\n", "split", "files", "hours", "notes");
  for (const auto& row : summary.by_split) print_row(row);
  print_row(summary.total);
  std::printf("\n  %-34s %6s %9s %10s\n", "composer", "files", "hours", "notes");
  const auto shown = std::min<std::size_t>(summary.by_composer.size(), static_cast<std::size_t>(command.composers));
  for (std::size_t i = 0; i < shown; ++i) print_row(summary.by_composer[i]);
  if (shown < summary.by_composer.size())
    std::printf("  ... and %zu more composers (--composers N shows more)\n", summary.by_composer.size() - shown);
  if (!report.skipped.empty()) {
    std::printf("\n  skipped files:\n");
    for (const auto& s : report.skipped) std::printf("    %s: %s\n", s.name.c_str(), s.reason.c_str());
  }
  return 0;
}

}  // namespace scorejam
