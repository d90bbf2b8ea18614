#include "core/likelihood.h"

#include "core/roll.h"
#include "core/roll_tensor.h"
#include "core/sampler.h"

#include <boost/numeric/odeint.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace scorejam {

double dequantisation_offset_bits(const RollFormat& format, int channels) {
  double sum = 0;
  const auto picked = model_channels(format, channels);
  for (const auto c : picked) {
    switch (c) {
      case RollChannel::kOnset:
      case RollChannel::kFrame:
      case RollChannel::kPedal: sum += -std::log2(2.0); break;
      case RollChannel::kVelocity: sum += -std::log2(2.0 / 127.0); break;
      case RollChannel::kOnsetOffset: break;
    }
  }
  return sum / static_cast<double>(picked.size());
}

at::Tensor LikelihoodResult::bits_per_dim() const { return nll_nats / (static_cast<double>(dims) * std::log(2.0)); }

namespace {

struct NfeLimit : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace

LikelihoodResult log_likelihood(const ScoreFn& score, const Sde& sde, const at::Tensor& x, const LikelihoodConfig& config,
                                const at::Tensor& region) {
  namespace odeint = boost::numeric::odeint;
  if (x.dim() != 4) throw std::invalid_argument("likelihood: a roll must be [B, C, H, W], not " + std::to_string(x.dim()) + "-D");
  if (x.numel() == 0) throw std::invalid_argument("likelihood: an empty roll");
  if (config.probes < 1) throw std::invalid_argument("likelihood: probes must be >= 1");
  {
    const double lo = x.min().item<double>(), hi = x.max().item<double>();
    if (!std::isfinite(lo) || !std::isfinite(hi) || lo < -1.5 || hi > 1.5)
      throw std::invalid_argument("likelihood: roll values must lie in the model's [-1, 1], found " + std::to_string(lo) +
                                  " to " + std::to_string(hi));
  }
  const auto options = x.options();
  const auto shape = x.sizes().vec();
  const int64_t batch = shape[0];
  torch::Tensor counted = region.defined() ? region.to(options).expand(shape).contiguous() : torch::ones(shape, options);
  const auto per_roll = counted.flatten(1).sum(1);
  if (per_roll.min().item<double>() < 0.5) throw std::invalid_argument("likelihood: the region counts no dimension of a roll");
  const int64_t dims = static_cast<int64_t>(std::llround(per_roll[0].item<double>()));
  const bool partial = region.defined() && per_roll.min().item<double>() < static_cast<double>(x[0].numel());

  auto generator = at::make_generator<at::CPUGeneratorImpl>(config.seed);
  std::vector<torch::Tensor> probes;
  for (int i = 0; i < config.probes; ++i) {
    auto e = config.gaussian_probes ? torch::randn(shape, generator, torch::kFloat32)
                                    : torch::randint(0, 2, shape, generator, torch::kFloat32) * 2 - 1;
    probes.push_back(e.to(options) * counted);
  }
  const auto z0 = torch::randn(shape, generator, torch::kFloat32).to(options);
  auto times = [&](double t) { return torch::full({batch}, t, options); };
  // The known region's path and its velocity (by a central difference of the scalar coefficients).
  auto known_at = [&](double t) {
    const auto tt = times(t);
    return per_sample(sde.mean_coeff(tt), x) * x + per_sample(sde.std(tt), x) * z0;
  };
  auto known_velocity = [&](double t) {
    const double h = 1e-4, hi = std::min(1.0, t + h), lo = std::max(0.0, t - h);
    return (known_at(hi) - known_at(lo)) / (hi - lo);
  };

  using State = std::vector<double>;
  const auto n = static_cast<std::size_t>(x.numel());
  State state(n + static_cast<std::size_t>(batch), 0.0);
  {
    const auto cpu = x.to(torch::kCPU, torch::kFloat64).contiguous();
    std::copy(cpu.data_ptr<double>(), cpu.data_ptr<double>() + n, state.begin());
  }
  int nfe = 0;
  auto system = [&](const State& s, State& ds, double t) {
    if (config.cancel && config.cancel->load(std::memory_order_relaxed)) throw SamplingCancelled();
    if (++nfe > config.max_nfe)
      throw NfeLimit("likelihood: the ODE solver needed more than " + std::to_string(config.max_nfe) +
                     " evaluations (loosen rtol/atol, or the score is not smooth)");
    torch::Tensor xt = torch::from_blob(const_cast<double*>(s.data()), shape, torch::kFloat64).to(options);
    if (partial) xt = torch::where(counted > 0.5, xt, known_at(t));
    xt = xt.detach().requires_grad_(true);
    torch::Tensor v, divergence = torch::zeros({batch}, options);
    {
      torch::AutoGradMode grad(true);
      const auto tt = times(t);
      const auto g = per_sample(sde.diffusion(tt), xt);
      v = sde.drift(xt, tt) - 0.5 * g * g * score(xt, tt);
      for (int i = 0; i < config.probes; ++i) {
        const auto& e = probes[static_cast<std::size_t>(i)];
        const auto jte = torch::autograd::grad({(v * e).sum()}, {xt}, {}, /*retain_graph=*/i + 1 < config.probes)[0];
        divergence = divergence + (jte * e).flatten(1).sum(1);
      }
    }
    v = v.detach();
    if (!torch::isfinite(v).all().item<bool>() || !torch::isfinite(divergence).all().item<bool>())
      throw std::invalid_argument("likelihood: the score is not finite at t = " + std::to_string(t));
    if (partial) v = torch::where(counted > 0.5, v, known_velocity(t));
    divergence = divergence / config.probes;
    const auto vc = v.to(torch::kCPU, torch::kFloat64).contiguous();
    std::copy(vc.data_ptr<double>(), vc.data_ptr<double>() + n, ds.begin());
    const auto dc = divergence.to(torch::kCPU, torch::kFloat64).contiguous();
    std::copy(dc.data_ptr<double>(), dc.data_ptr<double>() + batch, ds.begin() + static_cast<std::ptrdiff_t>(n));
  };
  auto stepper = odeint::make_controlled(config.atol, config.rtol, odeint::runge_kutta_dopri5<State>());
  odeint::integrate_adaptive(stepper, system, state, config.eps, 1.0, (1.0 - config.eps) / 20.0);

  const auto x1 = torch::from_blob(state.data(), shape, torch::kFloat64).clone();
  const auto integral = torch::from_blob(state.data() + n, {batch}, torch::kFloat64).clone();
  // The prior N(0, prior_std^2) per counted dimension.
  const double s1 = sde.prior_std();
  const auto counted64 = counted.to(torch::kCPU, torch::kFloat64);
  const auto prior = -0.5 * (x1.square() * counted64).flatten(1).sum(1) / (s1 * s1) -
                     0.5 * static_cast<double>(dims) * std::log(2 * M_PI * s1 * s1);
  LikelihoodResult result;
  result.nll_nats = -(prior + integral);
  result.dims = dims;
  result.nfe = nfe;
  return result;
}

LikelihoodResult log_likelihood(ScoreNet& net, const at::Tensor& x, const LikelihoodConfig& config,
                                const Inpainting* inpainting) {
  const auto options = net->parameters().front().options();
  const auto roll = x.to(options);
  if (roll.dim() == 4 && roll.size(1) != net->config().channels)
    throw std::invalid_argument("likelihood: the roll has " + std::to_string(roll.size(1)) + " channels, the model " +
                                std::to_string(net->config().channels));
  ScoreFn score = [&](const at::Tensor& xt, const at::Tensor& t) { return net->forward(xt, t); };
  torch::Tensor region;
  if (net->config().conditional && roll.dim() == 4) {
    torch::Tensor known = torch::zeros_like(roll), mask = torch::zeros({roll.size(0), 1, roll.size(2), roll.size(3)}, options);
    if (inpainting) {
      known = inpainting->known.to(options);
      mask = inpainting->mask.to(options).select(1, 0).unsqueeze(1).expand_as(mask).contiguous();
      region = 1.0 - mask;
    }
    score = [&net, condition = net->condition(known, mask)](const at::Tensor& xt, const at::Tensor& t) {
      return net->forward(xt, t, condition);
    };
  } else if (inpainting) {
    region = 1.0 - inpainting->mask.to(options);
  }
  const bool training = net->is_training();
  net->eval();
  auto result = log_likelihood(score, net->sde(), roll, config, region);
  if (training) net->train();
  return result;
}

WindowBits note_window_bits(ScoreNet& net, const ModelSpec& spec, const std::vector<std::vector<Note>>& prompts,
                            const std::vector<std::vector<Note>>& continuations, double prompt_s, bool conditional,
                            const LikelihoodConfig& config, int batch) {
  if (prompts.size() != continuations.size())
    throw std::invalid_argument("likelihood: " + std::to_string(prompts.size()) + " prompts but " +
                                std::to_string(continuations.size()) + " continuations");
  if (batch < 1) throw std::invalid_argument("likelihood: batch must be >= 1");
  const int frames = spec.window_frames, half = frames / 2;
  const double fs = spec.roll.fs_hz, middle_s = half / fs;
  RollFormat format = spec.roll;
  format.sustain_pedal = false;  // the notes come as the eval has them (pedal applied or not)
  const auto start = std::chrono::steady_clock::now();
  WindowBits bits;
  for (std::size_t first = 0; first < prompts.size(); first += static_cast<std::size_t>(batch)) {
    const std::size_t last = std::min(prompts.size(), first + static_cast<std::size_t>(batch));
    std::vector<torch::Tensor> rolls;
    std::vector<double> onsets;
    for (std::size_t i = first; i < last; ++i) {
      std::vector<Note> window;
      for (auto n : prompts[i]) {
        n.start_s += middle_s - prompt_s;
        n.end_s += middle_s - prompt_s;
        if (n.end_s > 0) window.push_back(n);
      }
      for (auto n : continuations[i]) {
        n.start_s += middle_s;
        n.end_s += middle_s;
        window.push_back(n);
      }
      const auto grid = quantize(window, {}, format);
      double counted_onsets = 0;
      for (const auto& g : grid)
        if (g.onset_frame < frames && (!conditional || g.onset_frame >= half) && g.onset_frame >= 0) counted_onsets += 1;
      onsets.push_back(counted_onsets);
      rolls.push_back(roll_to_tensor(render_roll(grid, fs, 0, frames), spec.roll, spec.net.channels));
    }
    const auto x = torch::stack(rolls);
    Inpainting known{x, torch::zeros({x.size(0), 1, x.size(2), x.size(3)})};
    known.mask.slice(3, 0, half).fill_(1);
    const auto result = log_likelihood(net, x, config, conditional ? &known : nullptr);
    const auto bpd = result.bits_per_dim();
    bits.dims = result.dims;
    bits.nfe += result.nfe;
    for (int64_t b = 0; b < x.size(0); ++b) {
      const double per_dim = bpd[b].item<double>();
      bits.bits_per_dim.push_back(per_dim);
      const double n = onsets[static_cast<std::size_t>(b)];
      bits.bits_per_note.push_back(n > 0 ? per_dim * static_cast<double>(result.dims) / n : std::nan(""));
    }
  }
  bits.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return bits;
}

GridWindowBits grid_window_bits(ScoreNet& net, const ModelSpec& spec, const std::vector<GridNote>& notes,
                                const std::vector<GridPedal>& pedal, int known_frames, const LikelihoodConfig& config) {
  const int frames = spec.window_frames;
  if (known_frames < 1 || known_frames >= frames)
    throw std::invalid_argument("likelihood: known_frames " + std::to_string(known_frames) + " outside [1, " +
                                std::to_string(frames) + ")");
  const auto start = std::chrono::steady_clock::now();
  GridWindowBits bits;
  for (const auto& g : notes)
    if (g.onset_frame >= known_frames && g.onset_frame < frames) ++bits.notes;
  const auto x = roll_to_tensor(render_roll(notes, pedal, spec.roll.fs_hz, 0, frames), spec.roll, spec.net.channels)
                     .unsqueeze(0);
  Inpainting known{x, torch::zeros({1, 1, x.size(2), x.size(3)})};
  known.mask.slice(3, 0, known_frames).fill_(1);
  const auto result = log_likelihood(net, x, config, &known);
  bits.bits_per_dim = result.bits_per_dim()[0].item<double>();
  bits.bits_per_note = bits.notes > 0 ? bits.bits_per_dim * static_cast<double>(result.dims) / bits.notes : std::nan("");
  bits.dims = result.dims;
  bits.nfe = result.nfe;
  bits.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return bits;
}

}  // namespace scorejam
