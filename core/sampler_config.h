// The settings of a sampler run, apart from the sampler itself: torch-free, so that config files,
// the live settings and the OSC table can name them without compiling torch.
#pragma once

#include <cstdint>
#include <string>

namespace scorejam {

enum class SamplerKind { kEulerMaruyama, kPredictorCorrector, kOde, kHeun };

std::string to_string(SamplerKind kind);
SamplerKind sampler_kind_from_string(const std::string& name);  // em, pc, ode, heun

struct SamplerConfig {
  SamplerKind kind = SamplerKind::kPredictorCorrector;
  int steps = 100;              // EM, PC: time steps; Heun: steps (2 network evaluations each, 1 for the last)
  double snr = 0.16;            // PC: Langevin signal-to-noise ratio
  int corrector_steps = 1;      // PC: Langevin steps per time step
  double atol = 1e-5;           // ODE
  double rtol = 1e-5;           // ODE
  double eps = 1e-3;            // last time of the reverse process
  double temperature = 1.0;     // scales the injected noise of EM/PC (1 = the true reverse SDE)
  // Conditional models: classifier-free guidance (Ho & Salimans 2022). The score is
  // s_none + guidance (s_known - s_none), s_none with nothing known; 1 = plain conditional
  // sampling; > 1 follows what is known more closely. Each evaluation then runs the network on a
  // doubled batch (it still counts as one NFE).
  double guidance = 1.0;
  // Guidance only in the noisier part of sampling, t >= guidance_t_min (t = 1 is pure noise); below
  // it the plain conditional score (a limited guidance interval, Kynkäänniemi et al. 2024). Where a
  // piece goes is settled early; guided to its end, a window stops the notes held into it and
  // strikes them again. Those late steps then cost one network batch, not two.
  double guidance_t_min = 0.0;
  std::uint64_t seed = 0;
  bool operator==(const SamplerConfig&) const = default;
};

}  // namespace scorejam
