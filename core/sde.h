// The forward SDEs of Song et al. (score_sde): variance exploding (the original ScoreNet's, std(t) =
// sqrt((sigma^(2t) - 1) / (2 ln sigma)), g(t) = sigma^t), variance preserving and sub-VP. Each gives
// the perturbation kernel's mean coefficient and std, the drift, the diffusion coefficient and
// prior samples. Tensors only: no threads, devices are those of the inputs.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/Generator.h>
#include <c10/core/TensorOptions.h>
#include <c10/util/Optional.h>

#include <string>

#include "core/model_spec.h"

namespace scorejam {

// All functions broadcast t (shape [B]) over x's trailing dimensions where they take x.
struct Sde {
  SdeConfig config;

  // x(t) | x(0) ~ N(mean_coeff(t) x(0), std(t)^2 I)
  at::Tensor mean_coeff(const at::Tensor& t) const;
  at::Tensor std(const at::Tensor& t) const;
  // dx = f(x, t) dt + g(t) dw
  at::Tensor drift(const at::Tensor& x, const at::Tensor& t) const;
  at::Tensor diffusion(const at::Tensor& t) const;
  // VP and sub-VP noise rate beta(t) = beta_min + t (beta_max - beta_min).
  at::Tensor beta(const at::Tensor& t) const;
  // Samples of p_T: N(0, std(1)^2) for VE, N(0, 1) for VP and sub-VP.
  at::Tensor prior_sample(at::IntArrayRef shape, const at::TensorOptions& options,
                          c10::optional<at::Generator> generator) const;
  double prior_std() const;
  // Perturbs clean data to time t: mean_coeff(t) x0 + std(t) z.
  at::Tensor perturb(const at::Tensor& x0, const at::Tensor& t, const at::Tensor& z) const;
};

// Reshapes a [B] tensor to [B, 1, 1, ...] to broadcast against x.
at::Tensor per_sample(const at::Tensor& t, const at::Tensor& x);

}  // namespace scorejam
