#include "core/sampler_config.h"

#include <stdexcept>

namespace scorejam {

std::string to_string(SamplerKind kind) {
  switch (kind) {
    case SamplerKind::kEulerMaruyama: return "em";
    case SamplerKind::kPredictorCorrector: return "pc";
    case SamplerKind::kOde: return "ode";
    case SamplerKind::kHeun: return "heun";
  }
  return "?";
}

SamplerKind sampler_kind_from_string(const std::string& name) {
  if (name == "em") return SamplerKind::kEulerMaruyama;
  if (name == "pc") return SamplerKind::kPredictorCorrector;
  if (name == "ode") return SamplerKind::kOde;
  if (name == "heun") return SamplerKind::kHeun;
  throw std::invalid_argument("unknown sampler '" + name + "' (expected em, pc, ode or heun)");
}

}  // namespace scorejam
