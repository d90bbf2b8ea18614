// The benchmarks of `scorejam bench`: lambdas registered with Google Benchmark, each holding its
// network and inputs, run one after another on the calling thread. Times are wall-clock (what a
// player waits for); rates are per wall second. Google Benchmark's flags and context are global,
// so this runs once per process.
#include "daemon/bench.h"

#include <benchmark/benchmark.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <thread>
#include <vector>

#include "core/checkpoint.h"
#include "core/compute_path.h"
#include "core/likelihood.h"
#include "core/roll.h"
#include "core/roll_tensor.h"
#include "core/sampler.h"
#include "core/torch_runtime.h"
#include "daemon/commands.h"
#include "daemon/op_profile.h"
#include "daemon/session.h"
#include "realtime/live_engine.h"
#include "realtime/replay.h"
#include "train/distributed.h"

extern char** environ;

namespace scorejam {
namespace {

using benchmark::Counter;

// value x iterations / wall seconds.
Counter per_second(double per_iteration) { return Counter(per_iteration, Counter::kIsIterationInvariantRate); }

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

torch::Device parse_device(const std::string& name) {
  return use_cuda(name, "bench --device") ? torch::kCUDA : torch::kCPU;
}

// The setting of Song's ScoreNet tutorial, where the targets of issue 3 were measured.
ModelSpec seed_spec() {
  ModelSpec spec;
  spec.net.channels = 1;
  spec.net.widths = {32, 64, 128, 256};
  spec.net.embed_dim = 256;
  spec.net.attention = false;
  spec.net.conditional = false;
  spec.net.valid_convolutions = true;  // the original's unpadded layout: 28 -> 26 -> 12 -> 5 -> 2
  spec.sde = SdeConfig{};
  spec.sde.kind = SdeKind::kVE;
  spec.sde.sigma = 25.0;
  return spec;
}

struct Model {
  ModelSpec spec;
  ScoreNet sampling{nullptr};  // a checkpoint's EMA weights, as sampling uses them
  ScoreNet training{nullptr};
  std::string description;
};

Model load_model(const BenchCommand& command, const ModelSpec& default_spec, const torch::Device& device) {
  Model model;
  auto fresh = [&](const std::string& what) {
    torch::manual_seed(0);
    model.sampling = ScoreNet(model.spec.net, Sde{model.spec.sde});
    torch::manual_seed(0);
    model.training = ScoreNet(model.spec.net, Sde{model.spec.sde});
    model.description = "no checkpoint: a freshly initialised network (torch::manual_seed(0)) of " + what;
  };
  if (command.config == "seed") {
    if (!command.checkpoint.empty())
      throw std::invalid_argument("bench: --config seed is a fixed setting and takes no --checkpoint");
    model.spec = seed_spec();
    fresh("the original ScoreNet setting");
    if (command.compute_path_auto && default_compute_path() != ComputePath{}) {
      model.sampling->set_compute({});
      model.training->set_compute({});
      spdlog::info("bench seed: fp32, contiguous (auto: Song's 28 x 28 network measured fastest in fp32 NCHW on every "
                   "CPU, bf16 NHWC 1.3-1.4x slower on AMX; --precision and --memory-format choose)");
    }
  } else if (command.config == "default" || command.config == "paths" || command.config == "likelihood") {
    if (command.checkpoint.empty()) {
      model.spec = default_spec;
      fresh("the model spec given");
    } else {
      auto loaded = load_checkpoint(command.checkpoint);
      model.spec = loaded.spec;
      model.sampling = loaded.ema;
      model.training = loaded.model;
      model.description = "checkpoint " + command.checkpoint + " (step " + std::to_string(loaded.state.step) +
                          "; sampling with its EMA weights)";
    }
  } else {
    throw std::invalid_argument("bench: unknown config '" + command.config + "' (expected default, seed, paths or likelihood)");
  }
  model.sampling->to(device);
  model.training->to(device);
  model.sampling->eval();
  return model;
}

std::string describe_spec(const ModelSpec& spec) {
  std::string text = "widths";
  for (std::size_t i = 0; i < spec.net.widths.size(); ++i) {
    text += i ? "/" : " ";
    text += std::to_string(spec.net.widths[i]);
  }
  text += ", embed ";
  text += std::to_string(spec.net.embed_dim);
  text += ", SDE ";
  text += to_string(spec.sde.kind);
  if (spec.net.attention) text += ", attention";
  if (spec.net.conditional) text += ", conditional";
  return text;
}

// One Adam step of denoising score matching on a fixed batch. The optimizer lives across
// repetitions, so only the first call pays for allocating Adam's state.
struct TrainStep {
  ScoreNet net;
  torch::optim::Adam optimizer;
  torch::Tensor x0, known, mask;  // known and mask: conditional models only
  torch::Device device;
  bool warmed = false;

  TrainStep(ScoreNet network, torch::Tensor data, torch::Tensor known_roll, torch::Tensor known_mask,
            torch::Device on)
      : net(std::move(network)), optimizer(net->parameters(), torch::optim::AdamOptions(2e-4)), x0(std::move(data)),
        known(std::move(known_roll)), mask(std::move(known_mask)), device(on) {}

  void step() {
    optimizer.zero_grad();
    dsm_loss(net, x0, known, mask).backward();
    optimizer.step();
    synchronize(device);
  }
};

void register_train_step(const char* name, const Model& model, std::int64_t batch, std::vector<std::int64_t> shape,
                         const torch::Device& device) {
  const auto options = torch::TensorOptions().device(device);
  torch::manual_seed(0);
  shape.insert(shape.begin(), batch);
  auto x0 = (torch::rand(shape) * 2 - 1).to(options);
  torch::Tensor known, mask;
  if (model.spec.net.conditional) {
    known = x0;
    mask = torch::zeros({batch, 1, shape[2], shape[3]}, options);
    mask.slice(3, 0, shape[3] / 2).fill_(1);
  }
  auto train = std::make_shared<TrainStep>(model.training, x0, known, mask, device);
  train->net->train();
  benchmark::RegisterBenchmark(name, [train, batch](benchmark::State& state) {
    if (!train->warmed) train->step();
    train->warmed = true;
    for (auto _ : state) train->step();
    state.counters["steps_per_s"] = per_second(1);
    state.counters["samples_per_s"] = per_second(static_cast<double>(batch));
  })->UseRealTime()->Unit(benchmark::kMillisecond);
}

// ---- data-parallel training ----------------------------------------------------------------

constexpr std::int64_t kDataParallelBatch = 16;  // per rank

// A batch of the model's window shape, as register_train_step makes it.
std::shared_ptr<TrainStep> make_train_step(const Model& model, const torch::Device& device) {
  const auto& spec = model.spec;
  const auto options = torch::TensorOptions().device(device);
  torch::manual_seed(0);
  auto x0 = (torch::rand({kDataParallelBatch, spec.net.channels, kKeys, spec.window_frames}) * 2 - 1).to(options);
  torch::Tensor known, mask;
  if (spec.net.conditional) {
    known = x0;
    mask = torch::zeros({kDataParallelBatch, 1, kKeys, spec.window_frames}, options);
    mask.slice(3, 0, spec.window_frames / 2).fill_(1);
  }
  return std::make_shared<TrainStep>(model.training, x0, known, mask, device);
}

// One training step of a rank: the gradients averaged with the other rank before Adam's step.
void data_parallel_step(TrainStep& train, DataParallel& group) {
  train.optimizer.zero_grad();
  dsm_loss(train.net, train.x0, train.known, train.mask).backward();
  group.average_gradients(train.net->parameters());
  train.optimizer.step();
}

// Rank 0 of a two-rank group, with its peer process: started on the first run, killed at the end.
struct DataParallelPair {
  pid_t peer = -1;
  std::unique_ptr<DataParallel> group;
  ~DataParallelPair() {
    if (peer > 0) {
      ::kill(peer, SIGKILL);
      ::waitpid(peer, nullptr, 0);
    }
  }
};

void register_data_parallel(const Model& model, const BenchCommand& command, int threads, const torch::Device& device) {
  auto single = make_train_step(model, device);
  benchmark::RegisterBenchmark("data_parallel/ranks:1", [single, threads](benchmark::State& state) {
    torch::set_num_threads(threads);
    single->net->train();
    if (!single->warmed) single->step();
    single->warmed = true;
    for (auto _ : state) single->step();
    state.counters["samples_per_s"] = per_second(static_cast<double>(kDataParallelBatch));
    state.counters["torch_threads"] = threads;
  })->UseRealTime()->Unit(benchmark::kMillisecond);

  // Two ranks share the machine's threads: each gets half. The peer is this program again.
  const int rank_threads = std::max(1, threads / 2);
  auto pair = std::make_shared<DataParallelPair>();
  auto pair_step = make_train_step(model, device);
  benchmark::RegisterBenchmark("data_parallel/ranks:2", [pair, pair_step, rank_threads, command](benchmark::State& state) {
    torch::set_num_threads(rank_threads);
    if (!pair->group) {
      WorldConfig world;
      world.world_size = 2;
      world.master_port = free_loopback_port();
      // The peer builds the same model: the same config file and checkpoint.
      std::vector<std::string> args{"/proc/self/exe", "--threads", std::to_string(rank_threads)};
      if (!command.config_path.empty()) args.insert(args.end(), {"--config", command.config_path});
      args.insert(args.end(), {"bench", "--config", "data-parallel-peer", "--peer-port", std::to_string(world.master_port)});
      if (!command.checkpoint.empty()) args.insert(args.end(), {"--checkpoint", command.checkpoint});
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      if (posix_spawn(&pair->peer, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
        state.SkipWithError("cannot start the peer rank");
        return;
      }
      pair->group = std::make_unique<DataParallel>(world);
      pair_step->net->train();
      data_parallel_step(*pair_step, *pair->group);  // warm-up
    }
    for (auto _ : state) data_parallel_step(*pair_step, *pair->group);
    state.counters["samples_per_s"] = per_second(2.0 * kDataParallelBatch);
    state.counters["torch_threads"] = rank_threads;
  })->UseRealTime()->Unit(benchmark::kMillisecond);
}

// The first half of a window: a few bars of broken C major chords, as the known part of a
// continuation.
torch::Tensor continuation_roll(const ModelSpec& spec) {
  const int frames = spec.window_frames;
  std::vector<GridNote> notes;
  const int chord[] = {48, 55, 60, 64, 67};
  for (int onset = 0, i = 0; onset < frames / 2; onset += 4, ++i)
    notes.push_back({onset, std::min(onset + 6, frames / 2), chord[i % 5], 64 + 8 * (i % 3)});
  return roll_to_tensor(render_roll(notes, spec.roll.fs_hz, 0, frames), spec.roll, spec.net.channels);
}

void register_default(const Model& model, const torch::Device& device) {
  const auto& spec = model.spec;
  const std::int64_t frames = spec.window_frames;
  const double window_s = static_cast<double>(frames) / spec.roll.fs_hz;
  const std::vector<std::int64_t> shape{1, spec.net.channels, kKeys, frames};
  const auto options = torch::TensorOptions().device(device);

  Inpainting inpainting;
  inpainting.known = continuation_roll(spec).unsqueeze(0).to(options);
  inpainting.mask = torch::zeros({1, 1, kKeys, frames}, options);
  inpainting.mask.slice(3, 0, frames / 2).fill_(1);

  // One network evaluation at the default window and at half and twice its length (the network
  // takes any length); the known past is the first half of each, cut from the same phrase.
  for (const std::int64_t length : {frames / 2, frames, frames * 2}) {
    torch::manual_seed(0);
    const std::vector<std::int64_t> sized{1, spec.net.channels, kKeys, length};
    const auto x = (torch::randn(sized) * 10).to(options);
    const auto t = torch::full({1}, 0.5, options);
    torch::Tensor known, mask;  // the network's conditioning inputs, when it has them
    if (spec.net.conditional) {
      known = torch::full(sized, -1.0, options);
      const auto copied = std::min(length, frames);
      known.slice(3, 0, copied).copy_(inpainting.known.slice(3, 0, copied));
      mask = torch::zeros({1, 1, kKeys, length}, options);
      mask.slice(3, 0, length / 2).fill_(1);
    }
    {
      torch::InferenceMode guard;
      ScoreNet net = model.sampling;
      net->forward(x, t, known, mask);  // warm-up: the allocator's first pass at this shape
    }
    const auto name = length == frames ? std::string("net_eval/window") : "net_eval/frames" + std::to_string(length);
    benchmark::RegisterBenchmark(name.c_str(), [net = model.sampling, x, t, known, mask,
                                                device](benchmark::State& state) mutable {
      torch::InferenceMode guard;
      for (auto _ : state) {
        auto score = net->forward(x, t, known, mask);
        synchronize(device);
        benchmark::DoNotOptimize(score.data_ptr());
      }
    })->UseRealTime()->Unit(benchmark::kMillisecond);
  }

  auto window = [&](const std::string& name, SamplerConfig config) {
    benchmark::RegisterBenchmark(("window/" + name).c_str(), [net = model.sampling, shape, config, inpainting, window_s,
                                                               device](benchmark::State& state) mutable {
      int nfe = 0;
      for (auto _ : state) {
        nfe = sample(net, shape, config, &inpainting).nfe;
        synchronize(device);
      }
      state.counters["nfe"] = nfe;
      state.counters["rtf"] = per_second(window_s);  // the whole window's seconds, though only its second half is new
    })->UseRealTime()->Unit(benchmark::kMillisecond);
  };
  for (int steps : {4, 8, 16}) window("heun/" + std::to_string(steps), {.kind = SamplerKind::kHeun, .steps = steps});
  window("em/100", {.kind = SamplerKind::kEulerMaruyama, .steps = 100});
  window("pc/50", {.kind = SamplerKind::kPredictorCorrector, .steps = 50, .corrector_steps = 1});
  if (spec.net.conditional) {
    // Guided to the end, every evaluation on a doubled batch; and run's default (30) and sample's
    // (50), guided while t >= 0.3 only.
    for (double t_min : {0.0, 0.3})
      for (int steps : {30, 50})
        window("pc/" + std::to_string(steps) + "/guidance3" + (t_min > 0 ? "/t_min0.3" : ""),
               {.kind = SamplerKind::kPredictorCorrector, .steps = steps, .corrector_steps = 1, .guidance = 3.0,
                .guidance_t_min = t_min});
  }
  window("ode/tol1e-3", {.kind = SamplerKind::kOde, .atol = 1e-3, .rtol = 1e-3});

  register_train_step("train_step/batch16", model, 16, {spec.net.channels, kKeys, frames}, device);
}

// Song's tutorial ScoreNet and its Euler–Maruyama sampler and loss, ported line by line (the
// "plain LibTorch port" of issue 3's targets): measured beside scorejam's own network in the same
// run, so the two are compared on the same machine under the same load.
struct PlainScoreNetImpl : torch::nn::Module {
  static constexpr double kSigma = 25.0;
  torch::Tensor fourier;
  torch::nn::Linear embed{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, conv4{nullptr};
  torch::nn::ConvTranspose2d tconv4{nullptr}, tconv3{nullptr}, tconv2{nullptr}, tconv1{nullptr};
  torch::nn::Linear dense[7] = {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  torch::nn::GroupNorm norm[7] = {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};

  PlainScoreNetImpl() {
    const int c[] = {32, 64, 128, 256}, e = 256;
    fourier = register_buffer("fourier", torch::randn({e / 2}) * 30.0);
    embed = register_module("embed", torch::nn::Linear(e, e));
    using Conv = torch::nn::Conv2dOptions;
    using TConv = torch::nn::ConvTranspose2dOptions;
    conv1 = register_module("conv1", torch::nn::Conv2d(Conv(1, c[0], 3).bias(false)));
    conv2 = register_module("conv2", torch::nn::Conv2d(Conv(c[0], c[1], 3).stride(2).bias(false)));
    conv3 = register_module("conv3", torch::nn::Conv2d(Conv(c[1], c[2], 3).stride(2).bias(false)));
    conv4 = register_module("conv4", torch::nn::Conv2d(Conv(c[2], c[3], 3).stride(2).bias(false)));
    tconv4 = register_module("tconv4", torch::nn::ConvTranspose2d(TConv(c[3], c[2], 3).stride(2).bias(false)));
    tconv3 = register_module("tconv3", torch::nn::ConvTranspose2d(TConv(2 * c[2], c[1], 3).stride(2).bias(false).output_padding(1)));
    tconv2 = register_module("tconv2", torch::nn::ConvTranspose2d(TConv(2 * c[1], c[0], 3).stride(2).bias(false).output_padding(1)));
    tconv1 = register_module("tconv1", torch::nn::ConvTranspose2d(TConv(2 * c[0], 1, 3)));
    const int widths[] = {c[0], c[1], c[2], c[3], c[2], c[1], c[0]};
    const int groups[] = {4, 32, 32, 32, 32, 32, 32};
    for (int i = 0; i < 7; ++i) {
      dense[i] = register_module("dense" + std::to_string(i), torch::nn::Linear(e, widths[i]));
      norm[i] = register_module("norm" + std::to_string(i), torch::nn::GroupNorm(groups[i], widths[i]));
    }
  }
  static torch::Tensor act(const torch::Tensor& x) { return x * torch::sigmoid(x); }
  static torch::Tensor std_of(const torch::Tensor& t) {
    return torch::sqrt((torch::pow(kSigma, 2 * t) - 1.0) / (2.0 * std::log(kSigma)));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) {
    auto projected = t.unsqueeze(1) * fourier.unsqueeze(0) * 2 * M_PI;
    auto e = act(embed(torch::cat({torch::sin(projected), torch::cos(projected)}, 1)));
    auto level = [&](const torch::Tensor& h, int i) {
      return act(norm[i](h + dense[i](e).unsqueeze(-1).unsqueeze(-1)));
    };
    auto h1 = level(conv1(x), 0), h2 = level(conv2(h1), 1), h3 = level(conv3(h2), 2), h4 = level(conv4(h3), 3);
    auto h = level(tconv4(h4), 4);
    h = level(tconv3(torch::cat({h, h3}, 1)), 5);
    h = level(tconv2(torch::cat({h, h2}, 1)), 6);
    h = tconv1(torch::cat({h, h1}, 1));
    return h / std_of(t).view({-1, 1, 1, 1});
  }
};
TORCH_MODULE(PlainScoreNet);

void register_plain_port(const torch::Device& device) {
  const std::int64_t batch = 12;
  const auto options = torch::TensorOptions().device(device);
  torch::manual_seed(0);
  PlainScoreNet net;
  net->to(device);
  benchmark::RegisterBenchmark("seed/plain_port/sample_em500_batch12", [net, batch, options, device](benchmark::State& state) mutable {
    torch::NoGradGuard no_grad;
    const int steps = 500;
    const double eps = 1e-3, dt = (1.0 - eps) / (steps - 1);
    for (auto _ : state) {
      auto x = torch::randn({batch, 1, 28, 28}, options) * PlainScoreNetImpl::std_of(torch::ones({batch}, options)).view({-1, 1, 1, 1});
      for (int i = 0; i < steps; ++i) {
        auto t = torch::ones({batch}, options) * (1.0 - i * dt);
        auto g = torch::pow(PlainScoreNetImpl::kSigma, t).view({-1, 1, 1, 1});
        auto mean_x = x + g * g * net->forward(x, t) * dt;
        x = mean_x + std::sqrt(dt) * g * torch::randn_like(x);
      }
      synchronize(device);
    }
    state.counters["samples_per_s"] = per_second(static_cast<double>(batch));
  })->UseRealTime()->Unit(benchmark::kMillisecond);
  auto optimizer = std::make_shared<torch::optim::Adam>(net->parameters(), torch::optim::AdamOptions(1e-4));
  auto x0 = torch::rand({32, 1, 28, 28}, options);
  benchmark::RegisterBenchmark("seed/plain_port/train_step_batch32", [net, optimizer, x0, device](benchmark::State& state) mutable {
    auto step = [&] {
      auto t = torch::rand({x0.size(0)}, x0.options()) * (1.0 - 1e-5) + 1e-5;
      auto z = torch::randn_like(x0);
      auto std = PlainScoreNetImpl::std_of(t).view({-1, 1, 1, 1});
      auto score = net->forward(x0 + z * std, t);
      auto loss = torch::mean(torch::sum(torch::pow(score * std + z, 2), {1, 2, 3}));
      optimizer->zero_grad();
      loss.backward();
      optimizer->step();
      synchronize(device);
    };
    step();  // Adam's state
    for (auto _ : state) step();
    state.counters["samples_per_s"] = per_second(32);
  })->UseRealTime()->Unit(benchmark::kMillisecond);
}

void register_seed(const Model& model, const torch::Device& device) {
  const std::int64_t batch = 12;
  const std::vector<std::int64_t> shape{batch, 1, 28, 28};
  {
    torch::InferenceMode guard;
    const auto options = torch::TensorOptions().device(device);
    ScoreNet net = model.sampling;
    net->forward(torch::randn(shape, options), torch::full({batch}, 0.5, options));  // warm-up
  }
  benchmark::RegisterBenchmark("seed/sample_em500_batch12", [net = model.sampling, shape, batch,
                                                              device](benchmark::State& state) mutable {
    const SamplerConfig config{.kind = SamplerKind::kEulerMaruyama, .steps = 500};
    int nfe = 0;
    for (auto _ : state) {
      nfe = sample(net, shape, config).nfe;
      synchronize(device);
    }
    state.counters["nfe"] = nfe;
    state.counters["samples_per_s"] = per_second(static_cast<double>(batch));
  })->UseRealTime()->Unit(benchmark::kMillisecond);
  register_train_step("seed/train_step_batch32", model, 32, {1, 28, 28}, device);
  register_plain_port(device);
}

// Time the host took this machine's CPUs away (steal, /proc/stat, all CPUs), in ms; 0 where it is
// not reported. SCHED_FIFO cannot help against it, so a late note during steal is the host's.
double host_steal_ms() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (!(stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) || cpu != "cpu") return 0;
  return steal * 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The live engine as `scorejam run` drives it, with the phrases a player would play pushed into its
// input queue. The scheduler sends to nowhere but runs as on stage (SCHED_FIFO when allowed) while
// the generator samples window after window: its lateness is the lateness under a loaded generator.
// live/answer: each iteration is one phrase (8 notes in about a second), the pause and the whole
// answer. live/duet: each iteration is 10 s of playing along with a player who never stops. With
// `busy_threads`, as many threads of another program spin at normal priority meanwhile (a DAW, a
// visuals renderer on the same laptop).
void register_live(const std::string& checkpoint, const LiveConfig& config, LiveMode mode, int iterations,
                   int busy_threads = 0) {
  std::string name = mode == LiveMode::kDuet ? "live/duet" : "live/answer";
  if (busy_threads > 0) name += "/busy_threads:" + std::to_string(busy_threads);
  if (config.surprise) name += "/surprise:on";
  benchmark::RegisterBenchmark(name.c_str(), [checkpoint, config, mode, busy_threads](benchmark::State& state) {
    std::atomic<bool> busy{true};
    std::vector<std::jthread> others;
    for (int i = 0; i < busy_threads; ++i)
      others.emplace_back([&busy] {
        volatile double x = 1;
        while (busy.load(std::memory_order_relaxed)) x = x * 1.0000001 + 1e-9;
      });
    struct Nowhere final : MidiSink {
      void send(const std::uint8_t*, std::size_t) noexcept override {}
    } sink;
    Scheduler scheduler(sink, SchedulerConfig{});
    scheduler.start();
    moodycamel::ConcurrentQueue<TimedMidi> input(1024);
    LiveConfig live = config;
    live.settings.mode = mode;
    LiveEngine engine(live, checkpoint, scheduler, input);
    engine.warm_up();
    engine.start();
    moodycamel::ProducerToken token(input);
    const double steal_before = host_steal_ms();
    int phrase = 0;
    auto play_phrase = [&] {
      const int base = 55 + 3 * (phrase++ % 5);
      for (int offset : {0, 4, 7, 12, 7, 4, 0, 7}) {
        input.enqueue(token, note_on(now_ns(), 0, base + offset, 80));
        std::this_thread::sleep_for(std::chrono::milliseconds(110));
        input.enqueue(token, note_off(now_ns(), 0, base + offset));
        std::this_thread::sleep_for(std::chrono::milliseconds(15));
      }
    };
    for (auto _ : state) {
      if (mode == LiveMode::kDuet) {
        for (int i = 0; i < 10; ++i) play_phrase();  // 10 s
      } else {
        play_phrase();
        std::this_thread::sleep_for(std::chrono::milliseconds(live.settings.pause_ms + 100));
        while (engine.answering()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    const auto s = engine.status();
    busy = false;
    others.clear();
    engine.stop();
    scheduler.stop();
    if (mode == LiveMode::kContinue) {
      state.counters["first_note_ms_p50"] = s.first_note_ms_p50;
      state.counters["first_note_ms_p95"] = s.first_note_ms_p95;
      state.counters["answers_prepared"] = static_cast<double>(s.answers_prepared);
      state.counters["answers_opening_rest"] = static_cast<double>(s.answers_opening_rest);
    }
    state.counters["window_ms_p50"] = s.window_ms_p50;
    state.counters["window_ms_max"] = s.window_ms_max;
    state.counters["windows"] = static_cast<double>(s.windows);
    state.counters["windows_late"] = static_cast<double>(s.windows_late);
    state.counters["steps_in_use"] = s.steps_in_use;
    state.counters["notes_thinned"] = static_cast<double>(s.notes_thinned);
    state.counters["lateness_us_p50"] = s.lateness_us_p50;
    state.counters["lateness_us_p99"] = s.lateness_us_p99;
    state.counters["lateness_us_max"] = s.lateness_us_max;
    state.counters["notes_per_s"] = Counter(static_cast<double>(s.events_sent) / 2, Counter::kIsRate);
    state.counters["rss_mib"] = s.rss_mib;
    state.counters["host_steal_ms"] = host_steal_ms() - steal_before;
    if (live.surprise) {
      state.counters["surprises"] = static_cast<double>(s.surprises);
      state.counters["surprise_ms_last"] = s.surprise_ms_last;
    }
  })->Iterations(iterations)->UseRealTime()->Unit(benchmark::kSecond);
}

// Open file descriptors of this process.
int open_fds() {
  std::error_code ec;
  int n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec))
    ++n;
  return n;
}

// A MIDI output that keeps count of what sounds, as a synth would hear it. Its send() runs on the
// scheduler's real-time thread: atomics only.
class SoundingCount final : public MidiSink {
 public:
  void send(const std::uint8_t* bytes, std::size_t size) noexcept override {
    if (size != 3) return;
    const int kind = bytes[0] & 0xF0, channel = bytes[0] & 0x0F;
    auto& key = sounding_[static_cast<std::size_t>(channel * 128 + bytes[1])];
    if (kind == 0x90 && bytes[2] > 0) {
      key.fetch_add(1, std::memory_order_relaxed);
    } else if ((kind == 0x80 || kind == 0x90) && key.load(std::memory_order_relaxed) > 0) {
      key.fetch_sub(1, std::memory_order_relaxed);
    } else if (kind == 0xB0 && (bytes[1] == 120 || bytes[1] == 123)) {
      for (int pitch = 0; pitch < 128; ++pitch) sounding_[static_cast<std::size_t>(channel * 128 + pitch)].store(0);
    }
  }
  int sounding() const {
    int n = 0;
    for (const auto& key : sounding_) n += key.load(std::memory_order_relaxed);
    return n;
  }

 private:
  std::array<std::atomic<int>, 16 * 128> sounding_{};
};

// The soak: a real performance (a MIDI file) replayed phrase after phrase for `minutes` through the
// live engine, the SCHED_FIFO scheduler and the session recorder, as `scorejam run --replay` wires
// them: each phrase is 6 s of the file (a new excerpt each time), then the pause and the whole
// answer. It counts the notes still sounding once an answer has played out (hanging notes: a
// note-on whose note-off never came) and after the final stop, and compares memory and file
// descriptors after the first minute (warm-up) with the end.
void register_soak(const std::string& checkpoint, const LiveConfig& config, const std::string& performance_path,
                   double minutes) {
  const auto performance = std::make_shared<MidiFile>(read_midi_file(performance_path));
  if (performance->duration_s < 8) throw std::invalid_argument("bench soak: " + performance_path + " is shorter than 8 s");
  benchmark::RegisterBenchmark("soak/answer", [checkpoint, config, performance, minutes](benchmark::State& state) {
    const auto folder = std::filesystem::temp_directory_path() / ("scorejam-soak-" + std::to_string(::getpid()));
    SoundingCount synth;
    Scheduler scheduler(synth, SchedulerConfig{});
    scheduler.start();
    moodycamel::ConcurrentQueue<TimedMidi> input(4096);
    auto recorder = std::make_unique<SessionRecorder>(folder / "session", now_ns());
    LiveListener listener;
    listener.player = [&](const TimedMidi& m) { recorder->player(m); };
    listener.played = [&](const TimedMidi& m) { recorder->played(m); };
    listener.event = [&](const std::string& line) { recorder->log(line); };
    listener.trace = [&](const std::string& line) { recorder->trace(line); };
    auto engine = std::make_unique<LiveEngine>(config, checkpoint, scheduler, input, listener);
    engine->warm_up();
    engine->start();
    moodycamel::ProducerToken token(input);
    const double steal_before = host_steal_ms();
    const auto started = now_ns();
    const auto end = started + static_cast<std::int64_t>(minutes * 60e9);
    auto last_save = started;
    double rss_start = 0;
    int fds_start = 0, phrases = 0, hanging = 0;
    for (auto _ : state) {
      while (now_ns() < end) {
        const double from = std::fmod(phrases * 6.0, performance->duration_s - 6.0);
        for (const auto& m : replay_messages(*performance, from, 6.0, now_ns() + 10'000'000)) {
          while (now_ns() < m.time_ns) std::this_thread::sleep_for(std::chrono::microseconds(500));
          input.enqueue(token, m);
        }
        ++phrases;
        std::this_thread::sleep_for(std::chrono::milliseconds(engine->settings().pause_ms + 100));
        while (engine->answering()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the last note-off is due by now
        hanging += synth.sounding();
        if (rss_start == 0 && now_ns() - started > 60'000'000'000) {
          rss_start = engine->status().rss_mib;
          fds_start = open_fds();
        }
        if (now_ns() - last_save > 30'000'000'000) {  // the daemon's autosave
          recorder->flush();
          last_save = now_ns();
        }
      }
    }
    const auto s = engine->status();
    const double rss_end = s.rss_mib;
    const int fds_end = open_fds();
    engine->stop();
    scheduler.wait_silent(std::chrono::milliseconds(1000));
    engine.reset();  // its conductor calls the recorder until then
    scheduler.stop();
    recorder->flush();
    recorder.reset();
    std::error_code ignored;
    std::filesystem::remove_all(folder, ignored);
    if (rss_start == 0) {  // under a minute: no warm-up to leave out
      rss_start = rss_end;
      fds_start = fds_end;
    }
    state.counters["minutes"] = static_cast<double>(now_ns() - started) / 60e9;
    state.counters["phrases"] = phrases;
    state.counters["answers"] = static_cast<double>(s.answers);
    state.counters["windows"] = static_cast<double>(s.windows);
    state.counters["windows_late"] = static_cast<double>(s.windows_late);
    state.counters["first_note_ms_p95"] = s.first_note_ms_p95;
    state.counters["lateness_us_p99"] = s.lateness_us_p99;
    state.counters["lateness_us_max"] = s.lateness_us_max;
    state.counters["notes_sent"] = static_cast<double>(s.events_sent) / 2;
    state.counters["hanging_notes"] = hanging;
    state.counters["sounding_after_stop"] = synth.sounding();
    state.counters["rss_start_mib"] = rss_start;
    state.counters["rss_end_mib"] = rss_end;
    state.counters["rss_growth_pct"] = 100.0 * (rss_end - rss_start) / rss_start;
    state.counters["fds_start"] = fds_start;
    state.counters["fds_end"] = fds_end;
    state.counters["host_steal_ms"] = host_steal_ms() - steal_before;
  })->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);
}


// ---- compute paths (issue 18) ----------------------------------------------------------------

// The paths this CPU offers: fp32 in both layouts; bf16 in both where the CPU has native bf16
// (elsewhere it is emulated, slower than fp32, and not offered).
std::vector<ComputePath> offered_paths() {
  std::vector<ComputePath> paths{{false, false}, {false, true}};
  if (cpu_features().native_bf16()) {
    paths.push_back({true, true});
    paths.push_back({true, false});
  }
  return paths;
}

std::string path_name(const ComputePath& path) {
  return std::string(path.bf16 ? "bf16" : "fp32") + (path.channels_last ? "_nhwc" : "_nchw");
}

// The CPU's peak FLOP/s on a path with this many threads: cores x clock x FLOPs a cycle.
double peak_flops(const ComputePath& path, int threads) {
  const auto& cpu = cpu_features();
  return threads * cpu.mhz * 1e6 * (path.bf16 ? cpu.bf16_flops_per_cycle() : cpu.fp32_flops_per_cycle());
}

// Inputs of one network evaluation at the model's window: a noisy roll at t = 0.5 and, for a
// conditional model, the first half known.
struct NfeInputs {
  torch::Tensor x, t, known, mask;
};

NfeInputs nfe_inputs(const ModelSpec& spec, std::int64_t batch, const std::vector<std::int64_t>& seed_shape = {}) {
  torch::manual_seed(0);
  NfeInputs in;
  std::vector<std::int64_t> shape = seed_shape.empty()
                                        ? std::vector<std::int64_t>{batch, spec.net.channels, kKeys, spec.window_frames}
                                        : seed_shape;
  shape[0] = batch;
  in.x = torch::randn(shape) * 10;
  in.t = torch::full({batch}, 0.5);
  if (spec.net.conditional) {
    in.known = (torch::rand(shape) * 2 - 1);
    in.mask = torch::zeros({batch, 1, shape[2], shape[3]});
    in.mask.slice(3, 0, shape[3] / 2).fill_(1);
  }
  return in;
}

// One training step's batch of the model's shape.
std::shared_ptr<TrainStep> train_step_of(const Model& model, std::int64_t batch, const std::vector<std::int64_t>& seed_shape = {}) {
  auto in = nfe_inputs(model.spec, batch, seed_shape);
  auto x0 = in.x.clamp(-1, 1);
  return std::make_shared<TrainStep>(model.training, x0, in.known, in.mask, torch::kCPU);
}

// The FLOPs of one network evaluation, as LibTorch's profiler counts them on the fp32 contiguous
// path: the same sums on every path (the bf16 path's sub-pixel form of a transposed convolution
// multiplies zero taps too, which is not work the network asks for), so every path's share of the
// peak is measured against the same count. Leaves the network on the default path.
double network_flops(ScoreNet net, const NfeInputs& in) {
  net->set_compute({});
  double flops = 0;
  {
    torch::InferenceMode guard;
    const auto condition = net->condition(in.known, in.mask);
    flops = profile_ops([&] { net->forward(in.x, in.t, condition); }, 1).flops;
  }
  net->set_compute(default_compute_path());
  return flops;
}

void print_profiles(const Model& model, bool seed) {
  const std::int64_t forward_batches[] = {1, 2};
  const std::vector<std::int64_t> seed_shape = seed ? std::vector<std::int64_t>{12, 1, 28, 28} : std::vector<std::int64_t>{};
  ScoreNet sampling = model.sampling, training = model.training;
  std::map<std::int64_t, double> flops_of;  // by batch
  for (const std::int64_t batch : seed ? std::vector<std::int64_t>{12} : std::vector<std::int64_t>{1, 2})
    flops_of[batch] = network_flops(sampling, nfe_inputs(model.spec, batch, seed_shape));
  for (const auto& path : offered_paths()) {
    sampling->set_compute(path);
    training->set_compute(path);
    std::vector<std::int64_t> batches = seed ? std::vector<std::int64_t>{12} : std::vector<std::int64_t>(std::begin(forward_batches), std::end(forward_batches));
    for (const auto batch : batches) {
      const auto in = nfe_inputs(model.spec, batch, seed_shape);
      ScoreNet net = model.sampling;
      torch::InferenceMode guard;
      const auto condition = net->condition(in.known, in.mask);  // once a window, as the samplers do
      const auto profile = profile_ops([&] { net->forward(in.x, in.t, condition); }, seed ? 20 : 10);
      const double flops = flops_of.at(batch);
      std::printf("\nbench --profile: %s, one network evaluation at batch %lld (%.3f GFLOP, %.1f%% of the peak)\n\n%s",
                  path.describe().c_str(), static_cast<long long>(batch), flops / 1e9,
                  100.0 * flops / (profile.total_ms / 1e3) / peak_flops(path, torch::get_num_threads()),
                  format_profile(profile).c_str());
    }
    const std::int64_t train_batch = seed ? 32 : 16;
    auto train = train_step_of(model, train_batch, seed_shape);
    train->net->train();
    const auto profile = profile_ops([&] { train->step(); }, seed ? 10 : 3);
    std::printf("\nbench --profile: %s, one training step at batch %lld (forward, backward, Adam)\n\n%s",
                path.describe().c_str(), static_cast<long long>(train_batch), format_profile(profile).c_str());
  }
  std::fflush(stdout);
  sampling->set_compute(default_compute_path());
  training->set_compute(default_compute_path());
}

// The live surprise's cost (core/likelihood.h, grid_window_bits): the bits per note of one window
// of a real performance (the second half given the first, as the live engine measures a phrase)
// at each ODE tolerance, with its network evaluations and the error it leaves against the
// reference tolerance 1e-5 (the same probe and noise, so only the solver differs); and the spread
// over Hutchinson probe seeds at the live default, the error that no tolerance removes.
void register_likelihood(const Model& model, const std::string& performance_path, double live_tolerance) {
  const auto file = read_midi_file(performance_path);
  const auto& spec = model.spec;
  const int frames = spec.window_frames;
  const auto first = static_cast<int>(std::lround(2.0 * spec.roll.fs_hz));  // 2 s in: past the opening rest
  std::vector<GridNote> window;
  for (auto g : quantize(file.notes, file.controls, spec.roll)) {
    if (g.onset_frame < first || g.onset_frame >= first + frames) continue;
    g.onset_frame -= first;
    g.end_frame = std::min(g.end_frame - first, frames);
    window.push_back(g);
  }
  std::vector<GridPedal> pedal;
  if (spec.roll.pedal_channel)
    for (auto p : quantize_pedal(file.controls, file.duration_s, spec.roll.fs_hz)) {
      p.down_frame = std::max(0, p.down_frame - first);
      p.up_frame = std::min(frames, p.up_frame - first);
      if (p.up_frame > p.down_frame) pedal.push_back(p);
    }
  std::printf("bench: likelihood of %s, frames %d..%d (%zu notes), the second half given the first\n",
              performance_path.c_str(), first, first + frames, window.size());
  std::fflush(stdout);
  ScoreNet net = model.sampling;
  auto bits_at = [net, spec, window, pedal](double tolerance, std::uint64_t seed) mutable {
    LikelihoodConfig config;
    config.rtol = config.atol = tolerance;
    config.seed = seed;
    return grid_window_bits(net, spec, window, pedal, spec.window_frames / 2, config);
  };
  const auto reference = std::make_shared<double>(std::nan(""));
  for (const double tolerance : {1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1}) {
    char name[64];
    std::snprintf(name, sizeof name, "likelihood/live_window/tol:%g", tolerance);
    benchmark::RegisterBenchmark(name, [bits_at, tolerance, reference](benchmark::State& state) mutable {
      GridWindowBits bits;
      for (auto _ : state) bits = bits_at(tolerance, 0);
      if (tolerance == 1e-5) *reference = bits.bits_per_note;
      state.counters["nfe"] = bits.nfe;
      state.counters["bits_per_note"] = bits.bits_per_note;
      state.counters["bits_per_dim"] = bits.bits_per_dim;
      state.counters["notes"] = bits.notes;
      if (std::isfinite(*reference)) state.counters["error_bits_per_note"] = std::abs(bits.bits_per_note - *reference);
    })->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
  }
  char name[64];
  std::snprintf(name, sizeof name, "likelihood/live_window/probe_seeds:4/tol:%g", live_tolerance);
  benchmark::RegisterBenchmark(name, [bits_at, live_tolerance](benchmark::State& state) mutable {
    std::vector<double> per_note;
    for (auto _ : state)
      for (std::uint64_t seed = 1; seed <= 4; ++seed) per_note.push_back(bits_at(live_tolerance, seed).bits_per_note);
    double mean = 0, var = 0;
    for (double b : per_note) mean += b / static_cast<double>(per_note.size());
    for (double b : per_note) var += (b - mean) * (b - mean) / static_cast<double>(per_note.size() - 1);
    state.counters["bits_per_note_mean"] = mean;
    state.counters["bits_per_note_sd"] = std::sqrt(var);
  })->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
}

void register_paths(const Model& model) {
  const int threads = torch::get_num_threads();
  for (const auto& path : offered_paths()) {
    const auto name = "paths/" + path_name(path);
    for (const std::int64_t batch : {1, 2}) {
      auto in = nfe_inputs(model.spec, batch);
      ScoreNet net = model.sampling;
      const double flops = network_flops(model.sampling, in);
      benchmark::RegisterBenchmark((name + "/nfe_batch" + std::to_string(batch)).c_str(),
                                   [net, in, path, flops, threads](benchmark::State& state) mutable {
        net->set_compute(path);
        torch::InferenceMode guard;
        const auto condition = net->condition(in.known, in.mask);
        net->forward(in.x, in.t, condition);  // warm-up: oneDNN builds its kernels for these shapes
        for (auto _ : state) benchmark::DoNotOptimize(net->forward(in.x, in.t, condition));
        state.counters["gflop"] = flops / 1e9;
        state.counters["gflops"] = Counter(flops / 1e9, Counter::kIsIterationInvariantRate);
        state.counters["peak_pct"] = Counter(100.0 * flops / peak_flops(path, threads), Counter::kIsIterationInvariantRate);
      })->UseRealTime()->Unit(benchmark::kMillisecond);
    }
    // Training: forward and backward, about three forward passes of FLOPs.
    const std::int64_t batch = 16;
    auto train = train_step_of(model, batch);
    const double flops = 3 * network_flops(model.training, nfe_inputs(model.spec, batch));
    benchmark::RegisterBenchmark((name + "/train_batch16").c_str(), [train, path, flops, threads, batch](benchmark::State& state) {
      train->net->set_compute(path);
      train->net->train();
      train->step();  // warm-up, and Adam's state on the first path
      for (auto _ : state) train->step();
      state.counters["samples_per_s"] = per_second(static_cast<double>(batch));
      state.counters["peak_pct"] = Counter(100.0 * flops / peak_flops(path, threads), Counter::kIsIterationInvariantRate);
    })->UseRealTime()->Unit(benchmark::kMillisecond);
  }
}

// The original Python code on its own work, timed by its bench.py with `threads` threads: train
// step at batch 32 (ms) and Euler-Maruyama 500 steps at batch 12 (s). Empty when it cannot run.
std::map<std::string, double> time_python_seed(const std::string& folder, int threads) {
  std::map<std::string, double> result;
  const std::string command = "/usr/bin/python3 '" + folder + "/bench.py' '" + folder + "' " + std::to_string(threads) + " 2>&1";
  std::printf("bench: timing the original Python code: %s\n", command.c_str());
  std::fflush(stdout);
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  char line[512];
  while (std::fgets(line, sizeof line, pipe)) {
    std::fputs(line, stdout);
    double value = 0;
    if (std::sscanf(line, "train step b32: %lf ms", &value) == 1) result["train_ms"] = value;
    if (std::sscanf(line, "EM 500 b12: %lf s", &value) == 1) result["em_s"] = value;
  }
  if (pclose(pipe) != 0) std::printf("bench: the Python benchmark failed (see above)\n");
  return result;
}

// Google Benchmark's console output, and each benchmark's median real time (ms) kept.
class MedianReporter : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> medians_ms;
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs)
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name == "median")
        medians_ms[run.run_name.function_name] = run.GetAdjustedRealTime();
    ConsoleReporter::ReportRuns(runs);
  }
};

int run_registered(const BenchCommand& command, MedianReporter* reporter = nullptr);

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

}  // namespace

int run_bench(const BenchCommand& command, const ModelSpec& default_spec, int threads, const LiveConfig& live,
              const std::string& live_checkpoint) {
  if (command.repetitions < 1) throw std::invalid_argument("bench: --repetitions must be >= 1");
  if (!command.json.empty() && !std::ofstream(command.json))
    throw std::invalid_argument("bench: cannot write --json file '" + command.json + "'");
  const auto device = parse_device(command.device);
  if (threads > 0) torch::set_num_threads(threads);
  if (command.config == "live") {
    const auto checkpoint = command.checkpoint.empty() ? live_checkpoint : command.checkpoint;
    std::printf("bench: the live engine on %s: %s %d steps, pause %d ms, answers of %g s, %d torch threads\n",
                checkpoint.c_str(), to_string(live.settings.sampler.kind).c_str(), live.settings.sampler.steps,
                live.settings.pause_ms, live.settings.answer_seconds, generator_threads(live));
    benchmark::ClearRegisteredBenchmarks();
    // 20 answers: the p95 of the first-note latency is then the second slowest, not the slowest.
    register_live(checkpoint, live, LiveMode::kContinue, 20);
    // The live surprise measured after every phrase, on its idle-priority thread: no window may be
    // later than without it.
    LiveConfig with_surprise = live;
    with_surprise.surprise = true;
    register_live(checkpoint, with_surprise, LiveMode::kContinue, 20);
    register_live(checkpoint, live, LiveMode::kDuet, 3);
    register_live(checkpoint, live, LiveMode::kDuet, 3, 2);
    return run_registered(command);
  }
  if (command.config == "soak") {
    const auto checkpoint = command.checkpoint.empty() ? live_checkpoint : command.checkpoint;
    const auto performance = resolve_model_path(command.replay).string();
    std::printf("bench: soak of %g minutes: %s replayed phrase after phrase into the live engine on %s (%s %d steps)\n",
                command.minutes, performance.c_str(), checkpoint.c_str(), to_string(live.settings.sampler.kind).c_str(),
                live.settings.sampler.steps);
    std::fflush(stdout);
    benchmark::ClearRegisteredBenchmarks();
    LiveConfig soak = live;
    soak.settings.mode = LiveMode::kContinue;
    register_soak(checkpoint, soak, performance, command.minutes);
    BenchCommand once = command;
    once.repetitions = 1;
    return run_registered(once);
  }

  if (command.config == "data-parallel-peer") {  // rank 1 of data_parallel/ranks:2: steps until killed
    BenchCommand as_default = command;
    as_default.config = "default";
    const Model model = load_model(as_default, default_spec, device);
    WorldConfig world;
    world.world_size = 2;
    world.rank = 1;
    world.master_port = command.peer_port;
    DataParallel group(world);
    auto train = make_train_step(model, device);
    train->net->train();
    try {
      for (;;) data_parallel_step(*train, group);
    } catch (const std::exception&) {
      return 0;  // rank 0 is gone: the benchmark is over
    }
  }
  const bool data_parallel = command.config == "data-parallel";
  BenchCommand model_command = command;
  if (data_parallel) model_command.config = "default";
  // The live surprise's figures are for the model `run` plays, unless another is named.
  if (command.config == "likelihood" && model_command.checkpoint.empty()) model_command.checkpoint = live_checkpoint;
  const Model model = load_model(model_command, default_spec, device);
  const auto& spec = model.spec;
  char window[128];
  std::snprintf(window, sizeof window, "window %d x 88 x %d at %g fps (%g s)", spec.net.channels, spec.window_frames,
                spec.roll.fs_hz, spec.window_frames / spec.roll.fs_hz);
  const std::string shape = command.config == "seed" ? "12 x 1 x 28 x 28, EM 500 steps; training at batch 32" : window;
  std::printf("bench: %s\nbench: %s, %lld parameters; %s; torch threads %d, device %s\n", model.description.c_str(),
              describe_spec(spec).c_str(), static_cast<long long>(model.sampling->parameter_count()), shape.c_str(),
              torch::get_num_threads(), command.device.c_str());
  double load[1] = {0};
  if (getloadavg(load, 1) == 1 && load[0] >= 0.5)
    std::printf("bench: load average %.2f before the run: other processes are using the CPU, so timings are slower "
                "and noisier (with more than one torch thread, waiting OpenMP threads can make them 10x slower)\n",
                load[0]);
  std::fflush(stdout);
  benchmark::AddCustomContext("scorejam_config", command.config);
  benchmark::AddCustomContext("scorejam_model", model.description);
  benchmark::AddCustomContext("scorejam_spec", describe_spec(spec));
  benchmark::AddCustomContext("scorejam_shape", shape);
  benchmark::AddCustomContext("torch_threads", std::to_string(torch::get_num_threads()));
  benchmark::AddCustomContext("torch_device", command.device);

  std::printf("bench: network path %s on %s (peak %.0f GFLOP/s fp32 at %d threads, %.0f MHz)\n",
              model.sampling->compute().describe().c_str(), cpu_features().describe().c_str(),
              peak_flops({}, torch::get_num_threads()) / 1e9, torch::get_num_threads(), cpu_features().mhz);
  if (command.profile && !data_parallel && device.is_cpu()) print_profiles(model, command.config == "seed");

  benchmark::ClearRegisteredBenchmarks();
  if (data_parallel)
    register_data_parallel(model, command, torch::get_num_threads(), device);
  else if (command.config == "seed")
    register_seed(model, device);
  else if (command.config == "paths")
    register_paths(model);
  else if (command.config == "likelihood")
    register_likelihood(model, resolve_model_path(command.replay).string(), live.surprise_tolerance);
  else
    register_default(model, device);
  MedianReporter reporter;
  const int result = run_registered(command, &reporter);
  if (command.config == "seed" && !command.python.empty() && result == 0) {
    const auto python = time_python_seed(command.python, torch::get_num_threads());
    auto ratio = [&](const char* ours, const char* theirs, double scale, const char* what) {
      const auto a = reporter.medians_ms.find(ours);
      const auto b = python.find(theirs);
      if (a == reporter.medians_ms.end() || b == python.end()) {
        std::printf("bench: %s: no figure to compare (filtered out, or the Python run failed)\n", what);
        return;
      }
      std::printf("bench: %s: scorejam %.1f ms, the original Python %.1f ms: scorejam runs at %.2fx its speed\n", what,
                  a->second, b->second * scale, b->second * scale / a->second);
    };
    ratio("seed/sample_em500_batch12", "em_s", 1000.0, "Euler-Maruyama 500 steps at batch 12");
    ratio("seed/train_step_batch32", "train_ms", 1.0, "training step at batch 32");
  }
  benchmark::ClearRegisteredBenchmarks();  // ends what the benchmarks hold: the data-parallel peer rank
  return result;
}

namespace {

int run_registered(const BenchCommand& command, MedianReporter* reporter) {
  std::vector<std::string> args{"scorejam-bench", "--benchmark_repetitions=" + std::to_string(command.repetitions),
                                "--benchmark_report_aggregates_only=true"};
  if (!command.filter.empty()) args.push_back("--benchmark_filter=" + command.filter);
  if (!command.json.empty()) {
    args.push_back("--benchmark_out=" + command.json);
    args.push_back("--benchmark_out_format=json");
  }
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(args.size());
  benchmark::Initialize(&argc, argv.data());

  const std::size_t ran = reporter ? benchmark::RunSpecifiedBenchmarks(reporter) : benchmark::RunSpecifiedBenchmarks();
  benchmark::ClearRegisteredBenchmarks();
  if (ran == 0) {
    std::fprintf(stderr, "bench: no benchmark matches the filter '%s'\n", command.filter.c_str());
    return 1;
  }
  std::printf("peak memory: %.0f MiB\n", peak_rss_mib());
  return 0;
}

}  // namespace

}  // namespace scorejam
