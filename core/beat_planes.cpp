#include "core/beat_planes.h"

#include <algorithm>
#include <cmath>

namespace scorejam {
namespace {

// The phase of t in [0, 1) between the sorted marks, or -1 outside their span.
double phase(const std::vector<double>& marks, double t) {
  if (marks.size() < 2 || t < marks.front() || t >= marks.back()) return -1;
  const auto next = std::upper_bound(marks.begin(), marks.end(), t);
  const double b = *(next - 1), e = *next;
  return e > b ? (t - b) / (e - b) : -1;
}

}  // namespace

std::vector<float> beat_planes(const std::vector<double>& beats_s, const std::vector<double>& downbeats_s, double fs_hz,
                               int first_frame, int frames) {
  std::vector<float> planes(static_cast<std::size_t>(kBeatPlaneCount) * static_cast<std::size_t>(std::max(0, frames)), 0.0f);
  for (int f = 0; f < frames; ++f) {
    const double t = (first_frame + f) / fs_hz;
    const double beat = phase(beats_s, t);
    if (beat < 0) continue;
    auto at = [&](int plane) -> float& { return planes[static_cast<std::size_t>(plane * frames + f)]; };
    at(0) = static_cast<float>(std::cos(2 * M_PI * beat));
    at(1) = static_cast<float>(std::sin(2 * M_PI * beat));
    const double bar = phase(downbeats_s, t);
    if (bar >= 0) {
      at(2) = static_cast<float>(std::cos(2 * M_PI * bar));
      at(3) = static_cast<float>(std::sin(2 * M_PI * bar));
    }
    at(4) = 1.0f;
  }
  return planes;
}

}  // namespace scorejam
