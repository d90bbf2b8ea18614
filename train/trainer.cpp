#include "train/trainer.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>

#include "core/beat_planes.h"
#include "core/beats.h"
#include "core/likelihood.h"
#include "core/maestro.h"
#include "core/progress.h"
#include "core/roll_tensor.h"
#include "core/torch_runtime.h"
#include "train/epoch_plan.h"
#include "train/loss_plot.h"

namespace scorejam {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

torch::Device pick_device(const std::string& name) {
  return use_cuda(name, "train.device") ? torch::kCUDA : torch::kCPU;
}

// The seed of a step's random draws (pitch shifts, context masks, diffusion times and noise): a
// function of the run's seed, the step and the rank alone, so that a resumed run draws what the
// uninterrupted one would have, and ranks draw differently (splitmix64's mixer).
std::uint64_t step_seed(std::uint64_t seed, std::int64_t step, int rank) {
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(step) * 0xBF58476D1CE4E5B9ull +
                    static_cast<std::uint64_t>(rank) * 0x94D049BB133111EBull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The beats file of a run: [train] beats, or "<data without .zip>.beats.csv" when it exists; "" for none.
fs::path train_beats_path(const TrainConfig& c) {
  if (c.beats == "none") return {};
  if (!c.beats.empty()) {
    if (!fs::exists(c.beats)) throw std::runtime_error("train.beats: no such file: " + c.beats);
    return c.beats;
  }
  const auto beside = beats_path_beside(c.data);
  return fs::exists(beside) ? beside : fs::path{};
}

// Random training windows from a set of performances.
class WindowSampler {
 public:
  WindowSampler(std::vector<Performance> performances, const ModelSpec& spec, int pitch_shift, std::uint64_t seed)
      : performances_(std::move(performances)), spec_(spec), pitch_shift_(pitch_shift), rng_(seed) {
    std::vector<double> weights;
    for (const auto& p : performances_) weights.push_back(std::max(1, p.frames));
    pick_ = std::discrete_distribution<std::size_t>(weights.begin(), weights.end());
  }

  // One window [C, 88, T] in the model's scale, pitch-shifted: at random, or performance
  // `performance` from frame `start`.
  torch::Tensor window() {
    const std::size_t performance = pick_(rng_);
    const int start =
        std::uniform_int_distribution<int>(0, std::max(0, performances_[performance].frames - spec_.window_frames))(rng_);
    return window(performance, start);
  }
  torch::Tensor window(std::size_t performance, int start) {
    last_performance_ = performance;
    last_start_ = start;
    const auto& p = performances_[performance];
    const int frames = spec_.window_frames;
    auto x = roll_to_tensor(render_roll(p.notes, p.pedal, spec_.roll.fs_hz, start, frames), spec_.roll,
                            spec_.net.channels);
    const int shift = pitch_shift_ ? std::uniform_int_distribution<int>(-pitch_shift_, pitch_shift_)(rng_) : 0;
    if (shift == 0) return x;
    auto shifted = torch::full_like(x, -1.0);
    if (shift > 0) shifted.slice(1, shift, kKeys).copy_(x.slice(1, 0, kKeys - shift));
    else shifted.slice(1, 0, kKeys + shift).copy_(x.slice(1, -shift, kKeys));
    // The keys shifted in are silent: no onset offset there, and the pedal, the same on every key,
    // does not move with the notes.
    int channel = 3;
    if (spec_.roll.pedal_channel) {
      shifted[channel].copy_(x[channel]);
      ++channel;
    }
    if (spec_.roll.onset_offsets) {
      auto offsets = shifted[channel];
      if (shift > 0) offsets.slice(0, 0, shift).fill_(kNoOnsetOffset * 2 - 1);
      else offsets.slice(0, kKeys + shift, kKeys).fill_(kNoOnsetOffset * 2 - 1);
    }
    return shifted;
  }

  // A known past of random length, or (with probability `none`) nothing known: [1, 88, T].
  torch::Tensor context_mask(double none) {
    auto mask = torch::zeros({1, kKeys, spec_.window_frames});
    if (std::uniform_real_distribution<double>(0, 1)(rng_) < none) return mask;
    const int known = std::uniform_int_distribution<int>(1, spec_.window_frames - 1)(rng_);
    mask.slice(2, 0, known).fill_(1.0);
    return mask;
  }

  // beat_planes models: each performance's annotated beats (nullptr: none), in the order given.
  void set_beats(std::vector<const BeatAnnotation*> beats) { beats_ = std::move(beats); }
  // The beat planes [5, 1, T] of the last window: its annotated beats, or (with probability `none`,
  // and where the performance has none) nothing known, as at run time without a beat source.
  torch::Tensor beats(double none) {
    const int frames = spec_.window_frames;
    const BeatAnnotation* beats = last_performance_ < beats_.size() ? beats_[last_performance_] : nullptr;
    const bool drop = std::uniform_real_distribution<double>(0, 1)(rng_) < none;
    if (!beats || drop) return torch::zeros({kBeatPlaneCount, 1, frames});
    auto planes = beat_planes(beats->beats_s, beats->downbeats_s, spec_.roll.fs_hz, last_start_, frames);
    return torch::from_blob(planes.data(), {kBeatPlaneCount, 1, frames}, torch::kFloat32).clone();
  }

  void reseed(std::uint64_t seed) { rng_.seed(seed); }
  std::size_t size() const { return performances_.size(); }
  std::vector<int> frames() const {
    std::vector<int> out;
    for (const auto& p : performances_) out.push_back(p.frames);
    return out;
  }
  std::int64_t total_frames() const {
    std::int64_t n = 0;
    for (const auto& p : performances_) n += p.frames;
    return n;
  }

 private:
  std::vector<Performance> performances_;
  ModelSpec spec_;
  int pitch_shift_;
  std::mt19937_64 rng_;
  std::discrete_distribution<std::size_t> pick_;
  std::vector<const BeatAnnotation*> beats_;
  std::size_t last_performance_ = 0;
  int last_start_ = 0;
};

struct Batch {
  torch::Tensor x0, known, mask, beats;  // beats: beat_planes models only
};

// `size` windows at random, or the `planned` ones.
Batch make_batch(WindowSampler& windows, const ModelSpec& spec, int size, double no_context, torch::Device device,
                 const std::vector<EpochPlan::Window>& planned = {}, double no_beats = 0) {
  std::vector<torch::Tensor> xs, masks, beats;
  for (int i = 0; i < size; ++i) {
    xs.push_back(planned.empty() ? windows.window()
                                 : windows.window(planned[static_cast<std::size_t>(i)].first,
                                                  planned[static_cast<std::size_t>(i)].second));
    if (spec.net.conditional) masks.push_back(windows.context_mask(no_context));
    if (spec.net.beat_planes) beats.push_back(windows.beats(no_beats));
  }
  Batch b;
  b.x0 = torch::stack(xs).to(device);
  if (spec.net.beat_planes) b.beats = torch::stack(beats).to(device);
  if (spec.net.conditional) {
    b.mask = torch::stack(masks).to(device);
    b.known = b.x0;
  }
  return b;
}

// Validation: fixed windows, fixed times and noise, scored with the EMA weights.
struct Validation {
  std::vector<Batch> batches;
  std::vector<torch::Tensor> times, noises;

  // The mean per-batch loss with the network's own weighting, and with Song's (comparable across
  // preconditionings). In a data-parallel run each rank scores every world-size-th batch, and the
  // sums are averaged across ranks.
  std::pair<double, double> loss(ScoreNet& net, DataParallel* group) {
    torch::NoGradGuard no_grad;
    net->eval();
    double own = 0, song = 0, scored = 0;
    const std::size_t first = group ? static_cast<std::size_t>(group->rank()) : 0;
    const std::size_t stride = group ? static_cast<std::size_t>(group->world_size()) : 1;
    for (std::size_t i = first; i < batches.size(); i += stride) {
      ++scored;
      const auto& b = batches[i];
      const auto plain = dsm_loss_at(net, b.x0, times[i], noises[i], b.known, b.mask, DsmWeighting::kSong, b.beats);
      song += plain.mean().item<double>();
      own += net->config().preconditioning == "song"
                 ? plain.mean().item<double>()
                 : dsm_loss_at(net, b.x0, times[i], noises[i], b.known, b.mask, DsmWeighting::kModel, b.beats)
                       .mean()
                       .item<double>();
    }
    net->train();
    if (group) {
      own = group->average(own);
      song = group->average(song);
      scored = group->average(scored);
    }
    const double n = std::max(1.0, scored);
    return {own / n, song / n};
  }
};

void ema_update(ScoreNet& ema, ScoreNet& model, double decay) {
  torch::NoGradGuard no_grad;
  auto target = ema->parameters();
  auto source = model->parameters();
  for (std::size_t i = 0; i < target.size(); ++i) target[i].mul_(decay).add_(source[i], 1.0 - decay);
}

}  // namespace

TrainReport train(const TrainConfig& c, const ModelSpec& requested_spec, const std::string& run_config,
                  const std::atomic<bool>& stop, const fs::path& cache_dir, const WorldConfig& world) {
  const auto device = pick_device(c.device);
  // Joined first: a rank that cannot join fails before it loads anything.
  std::unique_ptr<DataParallel> group;
  if (world.world_size > 1) {
    group = std::make_unique<DataParallel>(world);
    spdlog::info("data-parallel: rank {} of {} (group at {}:{})", world.rank, world.world_size, world.master_addr,
                 world.master_port);
  }
  const bool lead = world.rank == 0;  // writes the files; the other ranks only compute
  if (!lead) spdlog::set_level(spdlog::level::warn);
  const fs::path checkpoint_path = fs::path(c.out_dir) / "checkpoint.pt";
  const fs::path csv_path = fs::path(c.out_dir) / "loss.csv";
  if (lead) {
    fs::create_directories(c.out_dir);
    std::ofstream config_file(fs::path(c.out_dir) / "config.toml");
    config_file << run_config;
  }

  ModelSpec spec = requested_spec;
  TrainingState state;
  ScoreNet model{nullptr}, ema{nullptr};
  if (!c.resume.empty()) {
    auto loaded = load_checkpoint(c.resume);
    if (!(loaded.spec == spec)) spdlog::warn("resuming: the model spec comes from {}, not from the config", c.resume);
    spec = loaded.spec;
    model = loaded.model;
    ema = loaded.ema;
    state = loaded.state;
    spdlog::info("resumed from {} at step {} (epoch {})", c.resume, state.step, state.epoch);
  } else {
    torch::manual_seed(c.seed);
    model = ScoreNet(spec.net, Sde{spec.sde});
    ema = ScoreNet(spec.net, Sde{spec.sde});
    torch::NoGradGuard no_grad;
    auto from = model->parameters();
    auto to = ema->parameters();
    for (std::size_t i = 0; i < from.size(); ++i) to[i].copy_(from[i]);
    auto from_buffers = model->buffers();
    auto to_buffers = ema->buffers();
    for (std::size_t i = 0; i < from_buffers.size(); ++i) to_buffers[i].copy_(from_buffers[i]);
  }
  state.run_config = run_config;
  if (group) {  // one set of weights for every rank: rank 0's
    auto tensors = model->parameters();
    for (auto& t : model->buffers()) tensors.push_back(t);
    for (auto& t : ema->parameters()) tensors.push_back(t);
    for (auto& t : ema->buffers()) tensors.push_back(t);
    group->broadcast(tensors);
  }
  model->to(device);
  ema->to(device);
  model->train();
  spdlog::info("model: {} parameters, input {} x 88 x {}, SDE {}, on {}", model->parameter_count(), spec.net.channels,
               spec.window_frames, to_string(spec.sde.kind), device.str());

  torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(c.learning_rate));
  if (!c.resume.empty()) load_optimizer_state(c.resume, adam);

  // Data.
  MaestroSource source(c.data);
  TrainReport report;
  auto load = [&](const std::string& split) {
    LoadReport load_report;
    LoadOptions options{split, spec.roll, cache_dir, [&](const SkippedFile& s) {
                          spdlog::warn("skipped {}: {}", s.name, s.reason);
                        }, {}};
    std::optional<Progress> progress;  // a first read of the set; the cache's is quick
    if (lead)
      options.on_file = [&](std::size_t done, std::size_t total) {
        if (!progress) progress.emplace("reading " + split, static_cast<std::int64_t>(total), "files");
        progress->update(static_cast<std::int64_t>(done));
      };
    auto perfs = load_performances(source, options, &load_report);
    if (progress) progress->finish();
    report.files_skipped += load_report.skipped.size();
    spdlog::info("{}: {} performances ({} skipped) in {:.2f} s{}", split, perfs.size(), load_report.skipped.size(),
                 load_report.seconds, load_report.from_cache ? " (cache)" : "");
    return perfs;
  };
  auto train_perfs = load("train");
  if (train_perfs.empty()) throw std::runtime_error(c.data + ": no readable performance in the train split");
  auto val_perfs = load("validation");
  // beat_planes: the annotated beats of each performance, by its MAESTRO file name.
  BeatsTable beats_table;
  auto beats_of = [&](const std::vector<Performance>& perfs) {
    std::vector<const BeatAnnotation*> found;
    for (const auto& p : perfs) {
      const auto it = beats_table.by_name.find(source.entries()[p.entry].midi_filename);
      found.push_back(it == beats_table.by_name.end() ? nullptr : &it->second);
    }
    return found;
  };
  std::vector<const BeatAnnotation*> train_beats, val_beats;
  if (spec.net.beat_planes) {
    const auto path = train_beats_path(c);
    if (!path.empty()) {
      beats_table = read_beats_csv(path);
      for (const auto& problem : beats_table.problems)
        spdlog::warn("{}:{}: {} (row skipped)", path.string(), problem.line, problem.message);
    }
    train_beats = beats_of(train_perfs);
    val_beats = beats_of(val_perfs);
    const auto annotated = std::count_if(train_beats.begin(), train_beats.end(), [](auto* b) { return b != nullptr; });
    spdlog::info("beats: {} of {} train performances annotated{}; {:.0f}% of windows without beats", annotated,
                 train_beats.size(), path.empty() ? " (no beats file: the model learns to play without)" : " in " + path.string(),
                 100 * c.no_beats_probability);
  }
  // The windows come from the epoch's plan (alike on every rank; each rank its share); a resumed
  // run goes on with its epoch where it stopped. Everything random in a step is drawn from
  // step_seed(), so that a run resumed from a checkpoint is the run that was not interrupted.
  WindowSampler windows(std::move(train_perfs), spec, c.pitch_shift, c.seed);
  windows.set_beats(train_beats);
  EpochPlan plan(windows.frames(), spec.window_frames, c.batch_size, std::max(1, world.world_size), c.seed, state.epoch);
  if (state.epoch_windows > 0) {
    plan.skip(static_cast<std::size_t>(state.epoch_windows));
    spdlog::info("going on with epoch {} after {} of its windows", state.epoch + 1, plan.taken());
  }
  spdlog::info("an epoch: {} steps of {} windows{}", plan.steps(), c.batch_size * std::max(1, world.world_size),
               group ? fmt::format(" ({} on each of {} ranks)", c.batch_size, world.world_size) : "");

  Validation validation;
  if (!val_perfs.empty()) {
    WindowSampler val_windows(std::move(val_perfs), spec, 0, 12345);
    val_windows.set_beats(val_beats);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(6789);
    for (int done = 0; done < c.validation_windows; done += c.batch_size) {
      const int n = std::min(c.batch_size, c.validation_windows - done);
      auto b = make_batch(val_windows, spec, n, c.no_context_probability, device, {}, c.no_beats_probability);
      const double eps = spec.sde.eps;
      validation.times.push_back((torch::rand({n}, generator) * (1 - eps) + eps).to(device));
      validation.noises.push_back(torch::randn(b.x0.sizes(), generator).to(device));
      validation.batches.push_back(std::move(b));
    }
  }

  // History.
  std::vector<LossPoint> train_history, val_history;
  const bool fresh_csv = c.resume.empty() || !fs::exists(csv_path);
  std::ofstream csv;  // rank 0's; the others' stays closed and writes nothing
  if (lead) csv.open(csv_path, fresh_csv ? std::ios::trunc : std::ios::app);
  if (lead && fresh_csv) csv << "step,epoch,train_loss,val_loss,steps_per_s,elapsed_s\n";
  if (lead && !fresh_csv) read_loss_csv(csv_path, train_history, val_history);
  auto save = [&]() {
    if (!lead) return;
    state.epoch_windows = static_cast<std::int64_t>(plan.taken());
    save_checkpoint(checkpoint_path, spec, model, ema, &adam, state);
    write_loss_png(train_history, val_history, fs::path(c.out_dir) / "loss.png",
                   "scorejam training: " + std::to_string(model->parameter_count()) + " parameters");
  };
  std::int64_t validated_at = -1;  // alike on every rank, so that every rank validates together
  auto validate = [&]() {
    if (validation.batches.empty()) return 0.0;
    validated_at = state.step;
    const auto [loss, song_loss] = validation.loss(ema, group.get());
    if (spec.net.preconditioning != "song")
      spdlog::info("validation loss at step {} with Song's weighting (comparable across models): {:.2f}", state.step,
                   song_loss);
    if (lead && c.validation_bits_windows > 0) {
      // Bits of the first windows, nothing known (core/likelihood.h); its own seeded draws.
      const auto& first = validation.batches.front().x0;
      const auto scored = first.narrow(0, 0, std::min<std::int64_t>(c.validation_bits_windows, first.size(0)));
      LikelihoodConfig bits_config;
      bits_config.eps = spec.sde.eps;
      const auto bits = log_likelihood(ema, scored, bits_config);
      spdlog::info("validation bits per dimension at step {}: {:.4f} ({} windows, {} network evaluations)", state.step,
                   bits.bits_per_dim().mean().item<double>(), scored.size(0), bits.nfe);
    }
    state.last_val_loss = loss;
    val_history.push_back({static_cast<double>(state.step), loss});
    csv << state.step << "," << state.epoch << ",," << loss << ",,\n" << std::flush;
    if (report.first_val_loss == 0) report.first_val_loss = loss;
    report.last_val_loss = loss;
    return loss;
  };
  if (state.step == 0) spdlog::info("validation loss before training: {:.2f}", validate());

  const auto started = Clock::now();
  const std::int64_t first_step = state.step;
  double loss_sum = 0;
  int loss_count = 0;
  // The progress line: rank 0's only; in place on a terminal, a plain line every 30 s in a log.
  std::optional<Progress> progress;
  if (lead) progress.emplace("train", c.max_steps, "steps");
  const bool tty = progress && progress->tty();
  while (state.step < c.max_steps) {
    // Every rank stops at the same step: a stop on one of them is a stop on all.
    const double elapsed_s = std::chrono::duration<double>(Clock::now() - started).count();
    const bool out_of_time = c.max_minutes > 0 && elapsed_s > c.max_minutes * 60;
    double halt = stop ? 1000.0 : out_of_time ? 1.0 : 0.0;
    if (group) halt = group->average(halt) * group->world_size();  // the sum: > 0 when any rank would stop
    if (halt >= 1000.0) {
      report.stopped_early = true;
      spdlog::warn("stopping at step {}{}", state.step, lead ? ": saving a checkpoint" : "");
      break;
    }
    if (halt > 0) {
      spdlog::info("time limit of {} minutes reached at step {}", c.max_minutes, state.step);
      break;
    }
    const auto planned = plan.next(world.rank);
    if (plan.epoch() != state.epoch) {  // the last epoch's windows are used up: it is done
      state.epoch = plan.epoch();
      if (tty) std::fprintf(stderr, "\n");
      spdlog::info("epoch {} done at step {}: validation loss {:.2f}", state.epoch, state.step, validate());
    }
    const auto seed = step_seed(c.seed, state.step, world.rank);
    windows.reseed(seed);
    torch::manual_seed(seed);
    auto batch = make_batch(windows, spec, c.batch_size, c.no_context_probability, device, planned, c.no_beats_probability);
    auto loss = dsm_loss(model, batch.x0, batch.known, batch.mask, batch.beats);
    adam.zero_grad();
    loss.backward();
    if (group) group->average_gradients(model->parameters());
    if (c.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), c.grad_clip);
    adam.step();
    ema_update(ema, model, c.ema_decay);
    ++state.step;
    loss_sum += loss.item<double>();
    ++loss_count;

    if (state.step % c.log_every == 0) {
      const auto now = Clock::now();
      const double total_s = std::chrono::duration<double>(now - started).count();
      const double rate = static_cast<double>(state.step - first_step) / std::max(1e-9, total_s);
      const double mean = group ? group->average(loss_sum / loss_count) : loss_sum / loss_count;
      train_history.push_back({static_cast<double>(state.step), mean});
      csv << state.step << "," << state.epoch << "," << mean << ",," << rate << "," << total_s << "\n" << std::flush;
      // The run ends at max_steps or at the time limit, whichever comes first.
      double left_s = static_cast<double>(c.max_steps - state.step) / rate;
      if (c.max_minutes > 0) left_s = std::min(left_s, std::max(0.0, c.max_minutes * 60 - total_s));
      // The epoch under way, counted from 1 as "epoch N done" and "going on with epoch N" count.
      if (progress) progress->update(state.step, fmt::format("epoch {} loss {:.2f}", state.epoch + 1, mean), left_s);
      loss_sum = 0;
      loss_count = 0;
      report.steps_per_s = rate;
    }
    if (state.step % c.checkpoint_every == 0) save();
  }
  if (progress) progress->finish();
  if (!validation.batches.empty() && validated_at != state.step)
    spdlog::info("final validation loss {:.2f}", validate());
  save();
  report.steps = state.step;
  report.epochs = state.epoch;
  report.checkpoint = checkpoint_path;
  spdlog::info("saved {} (step {}, validation loss {:.2f})", checkpoint_path.string(), state.step, state.last_val_loss);
  return report;
}

}  // namespace scorejam
