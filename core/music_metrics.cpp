#include "core/music_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace scorejam {

PitchClassHistogram pitch_class_histogram(const std::vector<Note>& notes) {
  PitchClassHistogram h{};
  for (const auto& n : notes) h[static_cast<std::size_t>(((n.pitch % 12) + 12) % 12)] += 1;
  if (!notes.empty())
    for (auto& p : h) p /= static_cast<double>(notes.size());
  return h;
}

double pitch_class_distance(const PitchClassHistogram& a, const PitchClassHistogram& b) {
  const bool a_empty = std::all_of(a.begin(), a.end(), [](double p) { return p == 0; });
  const bool b_empty = std::all_of(b.begin(), b.end(), [](double p) { return p == 0; });
  if (a_empty || b_empty) return a_empty == b_empty ? 0.0 : 1.0;
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += std::abs(a[i] - b[i]);
  return 0.5 * sum;
}

double pitch_class_entropy(const PitchClassHistogram& h) {
  double bits = 0;
  for (double p : h)
    if (p > 0) bits -= p * std::log2(p);
  return bits;
}

double note_density(const std::vector<Note>& notes, double seconds) {
  return seconds > 0 ? static_cast<double>(notes.size()) / seconds : 0.0;
}

int pitch_range(const std::vector<Note>& notes) {
  if (notes.empty()) return 0;
  const auto [low, high] = std::minmax_element(notes.begin(), notes.end(),
                                               [](const Note& a, const Note& b) { return a.pitch < b.pitch; });
  return high->pitch - low->pitch;
}

double mean_polyphony(const std::vector<Note>& notes, double seconds, double step_s) {
  if (seconds <= 0 || step_s <= 0) return 0;
  const auto samples = static_cast<std::size_t>(std::ceil(seconds / step_s));
  std::size_t sounding = 0;
  for (std::size_t i = 0; i < samples; ++i) {
    const double time = static_cast<double>(i) * step_s;
    for (const auto& n : notes) sounding += n.start_s <= time && time < n.end_s;
  }
  return static_cast<double>(sounding) / static_cast<double>(samples);
}

double onset_overlap(const std::vector<Note>& a, const std::vector<Note>& b, double tolerance_s) {
  if (a.empty()) return 0;
  std::size_t matched = 0;
  for (const auto& n : a)
    matched += std::any_of(b.begin(), b.end(), [&](const Note& m) {
      return m.pitch == n.pitch && std::abs(m.start_s - n.start_s) <= tolerance_s;
    });
  return static_cast<double>(matched) / static_cast<double>(a.size());
}

MeanInterval mean_interval(const std::vector<double>& values) {
  MeanInterval r;
  r.n = values.size();
  if (values.empty()) return r;
  r.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(r.n);
  if (r.n < 2) return r;
  double squares = 0;
  for (double v : values) squares += (v - r.mean) * (v - r.mean);
  r.half_width = 1.96 * std::sqrt(squares / static_cast<double>(r.n - 1)) / std::sqrt(static_cast<double>(r.n));
  return r;
}

}  // namespace scorejam
