#include "core/model_spec.h"

#include <stdexcept>

namespace scorejam {

std::string to_string(SdeKind kind) {
  switch (kind) {
    case SdeKind::kVE: return "ve";
    case SdeKind::kVP: return "vp";
    case SdeKind::kSubVP: return "subvp";
  }
  return "?";
}

SdeKind sde_kind_from_string(const std::string& name) {
  if (name == "ve") return SdeKind::kVE;
  if (name == "vp") return SdeKind::kVP;
  if (name == "subvp") return SdeKind::kSubVP;
  throw std::invalid_argument("unknown SDE '" + name + "' (expected ve, vp or subvp)");
}

std::string spec_problem(const ModelSpec& spec) {
  const auto& net = spec.net;
  if (const auto problem = format_problem(spec.roll); !problem.empty()) return problem;
  const int format_channels = roll_channels(spec.roll);
  if (format_channels == 3 && (net.channels < 1 || net.channels > 3)) return "model.channels must be 1, 2 or 3";
  if (format_channels > 3 && net.channels != format_channels)
    return "model.channels must be " + std::to_string(format_channels) +
           " for this [roll] format (onset, frame, velocity" + std::string(spec.roll.pedal_channel ? ", pedal" : "") +
           std::string(spec.roll.onset_offsets ? ", onset offset" : "") + ")";
  if (net.widths.empty() || net.widths.size() > 8) return "model.widths must list 1 to 8 levels";
  for (int w : net.widths)
    if (w < 4 || w > 4096 || w % 4) return "model.widths: every width must be a multiple of 4 in [4, 4096]";
  if (net.embed_dim < 2 || net.embed_dim > 4096) return "model.embed_dim must be in [2, 4096]";
  if (spec.window_frames < 8 || spec.window_frames > 4096 || spec.window_frames % (1 << (net.widths.size() - 1)))
    return "model.window_frames must be in [8, 4096] and a multiple of 2^(number of widths - 1)";
  if (net.beat_planes && !net.conditional)
    return "model.beat_planes gives a conditional model the beats: it needs model.conditional = true";
  if ((net.context_summary || net.context_map) && !net.conditional)
    return "model.context_summary and model.context_map describe the known past: they need model.conditional = true "
           "(set them to false for an unconditional model)";
  return "";
}

}  // namespace scorejam
