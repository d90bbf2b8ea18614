#include "realtime/live.h"

#include <stdexcept>

namespace scorejam {

std::string to_string(LiveMode mode) {
  switch (mode) {
    case LiveMode::kContinue: return "continue";
    case LiveMode::kDuet: return "duet";
    case LiveMode::kSolo: return "solo";
  }
  return "?";
}

LiveMode live_mode_from_string(const std::string& name) {
  if (name == "continue") return LiveMode::kContinue;
  if (name == "duet") return LiveMode::kDuet;
  if (name == "solo") return LiveMode::kSolo;
  throw std::invalid_argument("unknown mode '" + name + "' (expected continue, duet or solo)");
}

}  // namespace scorejam
