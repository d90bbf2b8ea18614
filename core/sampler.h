// Samplers of the reverse SDE (Song et al.): Euler–Maruyama; predictor–corrector (reverse-diffusion
// predictor + Langevin corrector); the probability-flow ODE with an adaptive Dormand–Prince solver
// (Boost.Odeint); and a fixed-step deterministic Heun solver for real time. Each can inpaint: the
// known region (mask = 1) starts at the prior's noise level, is replaced at every step by the known
// roll perturbed to the current noise level, and comes out exactly as it went in (the final output
// is built from the predictor's mean, then the known region copied in). Seeded and reproducible.
// No threads of its own; runs on the device of the network.
#pragma once

#include <ATen/core/Tensor.h>

#include <c10/core/TensorOptions.h>

#include <atomic>
#include <exception>
#include <functional>

#include "core/sampler_config.h"
#include "core/score_net.h"

namespace scorejam {

struct Inpainting {
  at::Tensor known;  // [B, C, H, W], values where mask = 1 are kept
  at::Tensor mask;   // [B, 1, H, W] or [B, C, H, W]: 1 = known
  at::Tensor beats = {};  // beat_planes networks: [B, 5, 1, W] (core/beat_planes.h); undefined = none known
};

struct SampleResult {
  at::Tensor x;  // [B, C, H, W] on the network's device, in the model's scale
  int nfe = 0;   // network evaluations
};

// s(x, t): the score of the perturbed data at time t.
using ScoreFn = std::function<at::Tensor(const at::Tensor& x, const at::Tensor& t)>;

// Draws samples of `shape` ([B, C, H, W]) with tensors of `options`; with `inpainting`, fills in
// around the known region.
SampleResult sample(const ScoreFn& score, const Sde& sde, at::IntArrayRef shape, const SamplerConfig& config,
                    const at::TensorOptions& options, const Inpainting* inpainting = nullptr);
// Thrown out of a sampler run whose `cancel` flag was raised: a live window that is no longer
// wanted stops at its next network evaluation instead of finishing.
struct SamplingCancelled : std::exception {
  const char* what() const noexcept override { return "sampling cancelled"; }
};

// The same with a score network, on its device; a conditional network is given the known roll and
// its mask (zeros when there is none). `cancel`, when given, is read before every evaluation.
SampleResult sample(ScoreNet& net, at::IntArrayRef shape, const SamplerConfig& config,
                    const Inpainting* inpainting = nullptr, const std::atomic<bool>* cancel = nullptr);

// The time grid of the deterministic solver: `steps` + 1 times from 1 down to eps, spaced so that
// sigma = std / mean follows Karras et al.'s rho = 7 schedule.
std::vector<double> heun_time_grid(const Sde& sde, int steps, double eps);

}  // namespace scorejam
