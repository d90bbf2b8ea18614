#include "core/music_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numbers>
#include <numeric>
#include <stdexcept>

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

namespace {

// Onsets per key (MIDI 0..127), each spread evenly over the keys within `spread`, summing to 1.
std::array<double, 128> key_distribution(const std::vector<Note>& notes, int spread) {
  std::array<double, 128> p{};
  const double share = 1.0 / static_cast<double>(notes.size() * static_cast<std::size_t>(2 * spread + 1));
  for (const auto& n : notes)
    for (int k = n.pitch - spread; k <= n.pitch + spread; ++k)
      if (k >= 0 && k < 128) p[static_cast<std::size_t>(k)] += share;
  return p;
}

}  // namespace

double register_overlap(const std::vector<Note>& a, const std::vector<Note>& b, int spread) {
  if (a.empty() || b.empty()) return 0;
  const auto p = key_distribution(a, spread), q = key_distribution(b, spread);
  double overlap = 0;
  for (std::size_t k = 0; k < p.size(); ++k) overlap += std::min(p[k], q[k]);
  return overlap;
}

double register_listening(const std::vector<Note>& notes, const std::vector<std::vector<Note>>& prompts, std::size_t own) {
  if (notes.empty() || own >= prompts.size() || prompts[own].empty()) return 0;
  double others = 0, counted = 0;
  for (std::size_t j = 0; j < prompts.size(); ++j)
    if (j != own && !prompts[j].empty()) {
      others += register_overlap(notes, prompts[j]);
      counted += 1;
    }
  return register_overlap(notes, prompts[own]) - (counted > 0 ? others / counted : 0.0);
}

std::vector<double> register_listening_over_time(const std::vector<std::vector<Note>>& continuations,
                                                 const std::vector<std::vector<Note>>& prompts, double seconds,
                                                 double bin_s) {
  if (continuations.size() != prompts.size())
    throw std::invalid_argument("register_listening_over_time: one prompt per continuation");
  const auto bins = static_cast<std::size_t>(std::max(1.0, std::ceil(seconds / bin_s - 1e-9)));
  std::vector<double> sum(bins, 0.0), count(bins, 0.0);
  for (std::size_t i = 0; i < continuations.size(); ++i) {
    if (prompts[i].empty()) continue;
    std::vector<std::vector<Note>> in_bin(bins);
    for (const auto& n : continuations[i])
      if (n.start_s >= 0 && n.start_s < seconds)
        in_bin[std::min(bins - 1, static_cast<std::size_t>(n.start_s / bin_s))].push_back(n);
    for (std::size_t b = 0; b < bins; ++b)
      if (!in_bin[b].empty()) {
        sum[b] += register_listening(in_bin[b], prompts, i);
        count[b] += 1;
      }
  }
  for (std::size_t b = 0; b < bins; ++b) sum[b] = count[b] > 0 ? sum[b] / count[b] : 0.0;
  return sum;
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

double prompt_copy_share(const std::vector<Note>& generated, const std::vector<Note>& prompt, double prompt_seconds,
                         double grid_s, std::size_t min_fragment) {
  if (generated.empty() || prompt.empty()) return 0;
  // Candidate shifts: every generated-minus-prompt onset difference of one pitch, on the grid.
  std::map<long, std::vector<std::size_t>> matched_by_shift;
  for (std::size_t i = 0; i < generated.size(); ++i)
    for (const auto& p : prompt) {
      if (p.pitch != generated[i].pitch) continue;
      const long shift = std::lround((generated[i].start_s + prompt_seconds - p.start_s) / grid_s);
      auto& matched = matched_by_shift[shift];
      if (matched.empty() || matched.back() != i) matched.push_back(i);
    }
  std::vector<bool> copied(generated.size(), false);
  for (const auto& [shift, matched] : matched_by_shift)
    if (matched.size() >= min_fragment)
      for (auto i : matched) copied[i] = true;
  return static_cast<double>(std::count(copied.begin(), copied.end(), true)) / static_cast<double>(generated.size());
}

double gaussian_overlap(double m1, double s1, double m2, double s2) {
  const double low = std::min(m1 - 8 * s1, m2 - 8 * s2), high = std::max(m1 + 8 * s1, m2 + 8 * s2);
  constexpr int kSteps = 4000;
  const double dx = (high - low) / kSteps;
  auto pdf = [](double x, double m, double s) { return std::exp(-0.5 * (x - m) * (x - m) / (s * s)) / (s * std::sqrt(2 * M_PI)); };
  double area = 0;
  for (int i = 0; i < kSteps; ++i) {
    const double x = low + (i + 0.5) * dx;
    area += std::min(pdf(x, m1, s1), pdf(x, m2, s2)) * dx;
  }
  return std::min(1.0, area);
}

std::vector<double> frame_overlaps(const std::vector<Note>& notes, double seconds, double frame_s, NoteFeature feature) {
  const auto frames = static_cast<std::size_t>(std::ceil(seconds / frame_s - 1e-9));
  std::vector<std::vector<double>> values(frames);
  for (const auto& n : notes) {
    const auto f = static_cast<std::size_t>(std::max(0.0, n.start_s) / frame_s);
    if (f < frames) values[f].push_back(feature == NoteFeature::kPitch ? n.pitch : n.end_s - n.start_s);
  }
  const double min_std = feature == NoteFeature::kPitch ? 0.5 : 1.0 / 32;
  auto fit = [&](const std::vector<double>& v) {
    const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    double squares = 0;
    for (double x : v) squares += (x - mean) * (x - mean);
    return std::pair{mean, std::max(min_std, std::sqrt(squares / static_cast<double>(v.size())))};
  };
  std::vector<double> overlaps;
  for (std::size_t f = 0; f + 1 < frames; ++f) {
    if (values[f].empty() || values[f + 1].empty()) continue;
    const auto [m1, s1] = fit(values[f]);
    const auto [m2, s2] = fit(values[f + 1]);
    overlaps.push_back(gaussian_overlap(m1, s1, m2, s2));
  }
  return overlaps;
}

OverlapMeasures overlap_measures(const std::vector<double>& overlaps, const std::vector<double>& real_overlaps) {
  auto moments = [](const std::vector<double>& v) {
    if (v.empty()) return std::pair{0.0, 0.0};
    const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    double squares = 0;
    for (double x : v) squares += (x - mean) * (x - mean);
    return std::pair{mean, squares / static_cast<double>(v.size())};
  };
  const auto [mean, var] = moments(overlaps);
  const auto [real_mean, real_var] = moments(real_overlaps);
  OverlapMeasures m;
  if (overlaps.empty() || real_overlaps.empty()) return m;
  m.consistency = real_mean > 0 ? std::max(0.0, 1 - std::abs(mean - real_mean) / real_mean) : 0.0;
  m.variance = real_var > 0 ? std::max(0.0, 1 - std::abs(var - real_var) / real_var) : 0.0;
  return m;
}

std::vector<double> note_feature_values(const std::vector<Note>& notes, NoteDistribution feature) {
  std::vector<double> values;
  if (feature == NoteDistribution::kIoi) {
    for (const auto& n : notes) values.push_back(n.start_s);
    std::sort(values.begin(), values.end());
    for (std::size_t i = 1; i < values.size(); ++i) values[i - 1] = values[i] - values[i - 1];
    if (!values.empty()) values.pop_back();
    return values;
  }
  for (const auto& n : notes) values.push_back(feature == NoteDistribution::kDuration ? n.end_s - n.start_s : n.velocity);
  return values;
}

const std::vector<double>& note_feature_edges(NoteDistribution feature) {
  static const std::vector<double> times{0, 1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0 / 2, 1, 2, 4,
                                         std::numeric_limits<double>::infinity()};
  static const std::vector<double> velocities{0, 16, 32, 48, 64, 80, 96, 112, 128};
  return feature == NoteDistribution::kVelocity ? velocities : times;
}

double histogram_overlap(const std::vector<double>& a, const std::vector<double>& b, const std::vector<double>& edges) {
  if (a.empty() || b.empty() || edges.size() < 2) return 0;
  auto histogram = [&](const std::vector<double>& values) {
    std::vector<double> h(edges.size() - 1, 0.0);
    for (double v : values) {
      // bin i holds [edges[i], edges[i + 1]); values outside the edges go to the nearest end bin
      auto it = std::upper_bound(edges.begin(), edges.end(), v);
      const auto bin = std::clamp<std::ptrdiff_t>(it - edges.begin() - 1, 0, static_cast<std::ptrdiff_t>(h.size()) - 1);
      h[static_cast<std::size_t>(bin)] += 1;
    }
    for (auto& count : h) count /= static_cast<double>(values.size());
    return h;
  };
  const auto p = histogram(a), q = histogram(b);
  double overlap = 0;
  for (std::size_t i = 0; i < p.size(); ++i) overlap += std::min(p[i], q[i]);
  return std::min(overlap, 1.0);
}

std::vector<double> density_over_time(const std::vector<std::vector<Note>>& continuations, double seconds, double bin_s) {
  const auto bins = static_cast<std::size_t>(std::max(1.0, std::ceil(seconds / bin_s - 1e-9)));
  std::vector<double> density(bins, 0.0);
  if (continuations.empty()) return density;
  for (const auto& notes : continuations)
    for (const auto& n : notes) {
      if (n.start_s < 0 || n.start_s >= seconds) continue;
      density[std::min(bins - 1, static_cast<std::size_t>(n.start_s / bin_s))] += 1;
    }
  for (auto& d : density) d /= bin_s * static_cast<double>(continuations.size());
  return density;
}

HeldAcross held_across(const std::vector<Note>& notes, double seam, double frame_s) {
  constexpr double kTiny = 1e-9;
  HeldAcross r;
  for (const auto& n : notes) {
    if (n.start_s >= seam - kTiny || n.end_s < seam - kTiny) continue;
    ++r.held;
    if (n.end_s > seam + frame_s + kTiny) continue;
    const bool again = std::any_of(notes.begin(), notes.end(), [&](const Note& m) {
      return m.pitch == n.pitch && m.start_s >= seam - kTiny && m.start_s <= seam + 2 * frame_s + kTiny;
    });
    r.restruck += again;
  }
  return r;
}

Pulse sixteenth_pulse(const std::vector<double>& onsets_s, const std::vector<double>& beats_s) {
  Pulse r;
  if (beats_s.size() < 2) return r;
  double sum = 0;
  for (double t : onsets_s) {
    if (t < beats_s.front() || t > beats_s.back()) continue;
    // The beat the onset falls in: [beats[i], beats[i + 1]), the last beat closing the last one.
    auto next = std::upper_bound(beats_s.begin(), beats_s.end(), t);
    if (next == beats_s.end()) --next;
    const double start = *(next - 1), length = *next - start;
    if (!(length > 0)) continue;
    sum += std::cos(2 * std::numbers::pi * 4 * (t - start) / length);
    ++r.onsets;
  }
  if (r.onsets > 0) r.pulse = sum / static_cast<double>(r.onsets);
  return r;
}

Pulse sixteenth_pulse(const std::vector<Note>& notes, const std::vector<double>& beats_s) {
  std::vector<double> onsets;
  onsets.reserve(notes.size());
  for (const auto& n : notes) onsets.push_back(n.start_s);
  return sixteenth_pulse(onsets, beats_s);
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
