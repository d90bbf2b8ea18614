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
  std::uint64_t seed = 0;
  bool operator==(const SamplerConfig&) const = default;
};

}  // namespace scorejam
