#include "core/sde.h"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

namespace scorejam {

at::Tensor per_sample(const at::Tensor& t, const at::Tensor& x) {
  std::vector<int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
  shape[0] = t.size(0);
  return t.reshape(shape);
}

namespace {

// log of the VP mean coefficient: -t^2 (beta_max - beta_min) / 4 - t beta_min / 2
at::Tensor log_mean_coeff(const SdeConfig& c, const at::Tensor& t) {
  return -0.25 * t * t * (c.beta_max - c.beta_min) - 0.5 * t * c.beta_min;
}

}  // namespace

at::Tensor Sde::beta(const at::Tensor& t) const {
  return config.beta_min + t * (config.beta_max - config.beta_min);
}

at::Tensor Sde::mean_coeff(const at::Tensor& t) const {
  if (config.kind == SdeKind::kVE) return torch::ones_like(t);
  return torch::exp(log_mean_coeff(config, t));
}

at::Tensor Sde::std(const at::Tensor& t) const {
  switch (config.kind) {
    case SdeKind::kVE:
      return torch::sqrt((torch::pow(config.sigma, 2.0 * t) - 1.0) / (2.0 * std::log(config.sigma)));
    case SdeKind::kVP:
      return torch::sqrt(1.0 - torch::exp(2.0 * log_mean_coeff(config, t)));
    case SdeKind::kSubVP:
      return 1.0 - torch::exp(2.0 * log_mean_coeff(config, t));
  }
  throw std::logic_error("Sde::std");
}

at::Tensor Sde::drift(const at::Tensor& x, const at::Tensor& t) const {
  if (config.kind == SdeKind::kVE) return torch::zeros_like(x);
  return -0.5 * per_sample(beta(t), x) * x;
}

at::Tensor Sde::diffusion(const at::Tensor& t) const {
  switch (config.kind) {
    case SdeKind::kVE:
      return torch::pow(config.sigma, t);
    case SdeKind::kVP:
      return torch::sqrt(beta(t));
    case SdeKind::kSubVP: {
      const auto discount = 1.0 - torch::exp(-2.0 * config.beta_min * t - (config.beta_max - config.beta_min) * t * t);
      return torch::sqrt(beta(t) * discount);
    }
  }
  throw std::logic_error("Sde::diffusion");
}

double Sde::prior_std() const {
  if (config.kind == SdeKind::kVE)
    return std::sqrt((std::pow(config.sigma, 2.0) - 1.0) / (2.0 * std::log(config.sigma)));
  return 1.0;
}

at::Tensor Sde::prior_sample(at::IntArrayRef shape, const at::TensorOptions& options,
                             c10::optional<at::Generator> generator) const {
  return torch::randn(shape, generator, options) * prior_std();
}

at::Tensor Sde::perturb(const at::Tensor& x0, const at::Tensor& t, const at::Tensor& z) const {
  return per_sample(mean_coeff(t), x0) * x0 + per_sample(std(t), x0) * z;
}

}  // namespace scorejam
