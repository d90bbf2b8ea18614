#include "core/sampler.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <boost/numeric/odeint.hpp>
#include <cmath>
#include <stdexcept>

namespace scorejam {

namespace {

// Everything a sampler run shares: the network, the device, the noise source and the known region.
class Run {
 public:
  Run(const ScoreFn& score_fn, const Sde& sde, at::IntArrayRef shape, const SamplerConfig& config,
      const torch::TensorOptions& options, const Inpainting* inpainting)
      : score_fn_(score_fn), sde_(sde), shape_(shape.vec()), config_(config),
        generator_(at::make_generator<at::CPUGeneratorImpl>(config.seed)), options_(options) {
    if (inpainting) {
      known_ = inpainting->known.to(options_);
      mask_ = inpainting->mask.to(options_).expand(shape_) > 0.5;
      if (known_.sizes() != at::IntArrayRef(shape_))
        throw std::invalid_argument("sample: known roll and sample shape differ");
    }
  }

  // Noise is drawn on the CPU from the run's own generator, so a seed gives the same samples on
  // every device.
  torch::Tensor noise() { return torch::randn(shape_, generator_, torch::kFloat32).to(options_); }
  torch::Tensor times(double t) { return torch::full({shape_[0]}, t, options_); }

  torch::Tensor score(const torch::Tensor& x, const torch::Tensor& t) {
    ++nfe;
    return score_fn_(x, t);
  }

  bool inpainting() const { return known_.defined(); }

  // The known region at time t: the forward process applied to the known roll.
  torch::Tensor impose(const torch::Tensor& x, double t, const torch::Tensor& z) {
    if (!inpainting()) return x;
    auto tt = times(t);
    return torch::where(mask_, sde_.perturb(known_, tt, z), x);
  }
  torch::Tensor finish(const torch::Tensor& x_mean) {
    if (!inpainting()) return x_mean;
    return torch::where(mask_, known_, x_mean);
  }
  torch::Tensor prior() { return impose(noise() * sde_.prior_std(), 1.0, noise()); }

  const ScoreFn& score_fn_;
  const Sde& sde_;
  std::vector<int64_t> shape_;
  SamplerConfig config_;
  at::Generator generator_;
  torch::TensorOptions options_;
  torch::Tensor known_, mask_;  // mask_: true where known
  int nfe = 0;
};

// Euler–Maruyama on the reverse SDE; with `corrector`, Langevin steps first at each time (PC).
torch::Tensor stochastic(Run& run, bool corrector) {
  const auto& c = run.config_;
  const Sde& sde = run.sde_;
  const double dt = (1.0 - c.eps) / c.steps;
  auto x = run.prior();
  torch::Tensor x_mean = x;
  for (int i = 0; i < c.steps; ++i) {
    const double t = 1.0 - i * dt;
    auto tt = run.times(t);
    if (corrector) {
      // Langevin corrector (score_sde's LangevinCorrector): step from the target signal-to-noise ratio.
      const double alpha = sde.config.kind == SdeKind::kVE ? 1.0 : 1.0 - sde.beta(tt)[0].item<double>() / c.steps;
      for (int k = 0; k < c.corrector_steps; ++k) {
        auto grad = run.score(x, tt);
        auto z = run.noise();
        auto grad_norm = grad.flatten(1).norm(2, 1).mean();
        auto noise_norm = z.flatten(1).norm(2, 1).mean();
        auto step = 2.0 * alpha * (c.snr * noise_norm / grad_norm).pow(2);
        x_mean = x + step * grad;
        x = x_mean + torch::sqrt(2.0 * step) * z * c.temperature;
        x = run.impose(x, t, run.noise());
      }
    }
    // Reverse-diffusion predictor: x <- x - (f - g^2 s) dt + g sqrt(dt) z.
    auto g = per_sample(sde.diffusion(tt), x);
    auto s = run.score(x, tt);
    x_mean = x - (sde.drift(x, tt) - g * g * s) * dt;
    x = x_mean + g * std::sqrt(dt) * run.noise() * c.temperature;
    x = run.impose(x, t - dt, run.noise());
  }
  return run.finish(x_mean);
}

// The probability-flow ODE's right-hand side: f - g^2 s / 2.
torch::Tensor ode_velocity(Run& run, const torch::Tensor& x, double t) {
  auto tt = run.times(t);
  auto g = per_sample(run.sde_.diffusion(tt), x);
  return run.sde_.drift(x, tt) - 0.5 * g * g * run.score(x, tt);
}

// Known region along the deterministic path mean(t) known + std(t) z0, with one fixed z0, so the
// solver sees a smooth trajectory there.
struct KnownPath {
  Run& run;
  torch::Tensor z0;
  torch::Tensor at(const torch::Tensor& x, double t) { return run.impose(x, t, z0); }
  // d/dt of the path, by a central difference of the scalar coefficients.
  torch::Tensor velocity(double t) {
    const double h = 1e-4;
    auto hi = run.times(std::min(1.0, t + h)), lo = run.times(std::max(0.0, t - h));
    const double span = std::min(1.0, t + h) - std::max(0.0, t - h);
    auto dmean = (run.sde_.mean_coeff(hi) - run.sde_.mean_coeff(lo)) / span;
    auto dstd = (run.sde_.std(hi) - run.sde_.std(lo)) / span;
    return per_sample(dmean, run.known_) * run.known_ + per_sample(dstd, z0) * z0;
  }
};

torch::Tensor probability_flow(Run& run) {
  namespace odeint = boost::numeric::odeint;
  using State = std::vector<double>;
  const auto& c = run.config_;
  KnownPath path{run, run.noise()};
  auto x0 = run.prior();
  x0 = path.at(x0, 1.0);
  State state(static_cast<std::size_t>(x0.numel()));
  auto cpu = x0.to(torch::kCPU, torch::kFloat64).contiguous();
  std::copy(cpu.data_ptr<double>(), cpu.data_ptr<double>() + cpu.numel(), state.begin());

  auto system = [&](const State& s, State& ds, double t) {
    auto x = torch::from_blob(const_cast<double*>(s.data()), run.shape_, torch::kFloat64)
                 .to(run.options_);
    torch::Tensor v = ode_velocity(run, path.at(x, t), t);
    if (run.inpainting()) v = torch::where(run.mask_, path.velocity(t), v);
    auto out = v.to(torch::kCPU, torch::kFloat64).contiguous();
    std::copy(out.data_ptr<double>(), out.data_ptr<double>() + out.numel(), ds.begin());
  };
  auto stepper = odeint::make_controlled(c.atol, c.rtol, odeint::runge_kutta_dopri5<State>());
  odeint::integrate_adaptive(stepper, system, state, 1.0, c.eps, -(1.0 - c.eps) / 20.0);
  auto x = torch::from_blob(state.data(), run.shape_, torch::kFloat64).to(run.options_);
  return run.finish(x);
}

// Heun in the scaled variable y = x / m(t) against sigma = std(t) / m(t) (Karras et al.): every
// one of the SDEs becomes dy/dsigma = -sigma m s(m y, t), which is not stiff where beta(t) is large.
torch::Tensor heun(Run& run) {
  const Sde& sde = run.sde_;
  const auto grid = heun_time_grid(sde, run.config_.steps, run.config_.eps);
  KnownPath path{run, run.noise()};
  auto mean_at = [&](double t) { return sde.mean_coeff(torch::full({1}, t, torch::kFloat64)).item<double>(); };
  auto sigma_at = [&](double t) { return sde.std(torch::full({1}, t, torch::kFloat64)).item<double>() / mean_at(t); };
  auto slope = [&](const torch::Tensor& y, double t) {
    const double m = mean_at(t);
    return -sigma_at(t) * m * run.score(path.at(y * m, t), run.times(t));
  };
  auto y = path.at(run.prior(), grid.front()) / mean_at(grid.front());
  for (std::size_t i = 0; i + 1 < grid.size(); ++i) {
    const double t = grid[i], t_next = grid[i + 1];
    const double dsigma = sigma_at(t_next) - sigma_at(t);
    auto d = slope(y, t);
    auto y_next = y + d * dsigma;
    if (i + 2 < grid.size()) y_next = y + 0.5 * (d + slope(y_next, t_next)) * dsigma;  // not on the last step
    y = y_next;
  }
  return run.finish(y * mean_at(grid.back()));
}

}  // namespace

std::vector<double> heun_time_grid(const Sde& sde, int steps, double eps) {
  auto sigma_at = [&](double t) {
    auto tt = torch::full({1}, t, torch::kFloat64);
    return (sde.std(tt) / sde.mean_coeff(tt)).item<double>();
  };
  const double rho = 7.0, s_max = sigma_at(1.0), s_min = sigma_at(eps);
  std::vector<double> grid{1.0};
  for (int i = 1; i < steps; ++i) {
    const double f = static_cast<double>(i) / steps;
    const double s = std::pow(std::pow(s_max, 1 / rho) + f * (std::pow(s_min, 1 / rho) - std::pow(s_max, 1 / rho)), rho);
    // sigma(t) increases with t: invert it by bisection.
    double lo = eps, hi = 1.0;
    for (int k = 0; k < 60; ++k) {
      const double mid = 0.5 * (lo + hi);
      (sigma_at(mid) < s ? lo : hi) = mid;
    }
    grid.push_back(0.5 * (lo + hi));
  }
  grid.push_back(eps);
  return grid;
}

SampleResult sample(const ScoreFn& score, const Sde& sde, at::IntArrayRef shape, const SamplerConfig& config,
                    const at::TensorOptions& options, const Inpainting* inpainting) {
  if (shape.size() != 4) throw std::invalid_argument("sample: shape must be [B, C, H, W]");
  if (config.steps < 1) throw std::invalid_argument("sample: steps must be >= 1");
  torch::InferenceMode guard;
  Run run(score, sde, shape, config, options, inpainting);
  torch::Tensor x;
  switch (config.kind) {
    case SamplerKind::kEulerMaruyama: x = stochastic(run, false); break;
    case SamplerKind::kPredictorCorrector: x = stochastic(run, true); break;
    case SamplerKind::kOde: x = probability_flow(run); break;
    case SamplerKind::kHeun: x = heun(run); break;
  }
  return {x, run.nfe};
}

SampleResult sample(ScoreNet& net, at::IntArrayRef shape, const SamplerConfig& config, const Inpainting* inpainting,
                    const std::atomic<bool>* cancel) {
  const auto options = net->parameters().front().options();
  ScoreFn score = [&](const at::Tensor& x, const at::Tensor& t) { return net->forward(x, t); };
  if (net->config().conditional) {
    torch::Tensor known, mask, beats;
    if (inpainting) {
      if (inpainting->beats.defined()) beats = inpainting->beats.to(options);
      known = inpainting->known.to(options);
      mask = inpainting->mask.to(options).select(1, 0).unsqueeze(1).expand({shape[0], 1, shape[2], shape[3]});
    } else {
      known = torch::zeros(shape, options);
      mask = torch::zeros({shape[0], 1, shape[2], shape[3]}, options);
    }
    // The known past is the same at every step: the network makes it into its condition once.
    if (config.guidance == 1.0) {
      score = [&net, condition = net->condition(known, mask, beats)](const at::Tensor& x, const at::Tensor& t) {
        return net->forward(x, t, condition);
      };
    } else {
      // One batch: the first half knows the roll, the second knows nothing. Below guidance_t_min,
      // the plain conditional score on the first half's condition alone.
      // The beats are known to both halves: guidance weighs what was played, not the pulse.
      auto both_known = net->condition(torch::cat({known, torch::zeros_like(known)}), torch::cat({mask, torch::zeros_like(mask)}),
                                       beats.defined() ? torch::cat({beats, beats}) : beats);
      const ScoreNetCondition only_known{
          both_known.first_layer.narrow(0, 0, shape[0]),
          both_known.summary.defined() ? both_known.summary.narrow(0, 0, shape[0]) : both_known.summary};
      score = [&net, both_known, only_known, w = config.guidance,
               t_min = config.guidance_t_min](const at::Tensor& x, const at::Tensor& t) {
        if (t_min > 0 && t[0].item<double>() < t_min) return net->forward(x, t, only_known);
        const auto both = net->forward(torch::cat({x, x}), torch::cat({t, t}), both_known);
        const auto with = both.narrow(0, 0, x.size(0)), without = both.narrow(0, x.size(0), x.size(0));
        return without + (with - without) * w;
      };
    }
  }
  if (cancel) {
    score = [inner = std::move(score), cancel](const at::Tensor& x, const at::Tensor& t) {
      if (cancel->load(std::memory_order_relaxed)) throw SamplingCancelled{};
      return inner(x, t);
    };
  }
  return sample(score, net->sde(), shape, config, options, inpainting);
}

}  // namespace scorejam
