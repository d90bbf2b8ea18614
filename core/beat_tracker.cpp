#include "core/beat_tracker.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace scorejam {

BeatTracker::BeatTracker(const BeatTrackerConfig& config) : config_(config) {
  const auto& c = config_;
  if (!(c.frame_s > 0) || !(c.min_bpm > 0) || !(c.max_bpm > c.min_bpm) || !(c.prior_bpm > 0) ||
      !(c.prior_octaves > 0) || !(c.tempo_every_s > 0) || !(c.score_memory >= 0 && c.score_memory < 1) ||
      !(c.decision_delay_s >= 0) || !(c.warm_up_s >= 0) || !(c.tempo_continuity >= 0) || !(c.bass_weight >= 0) ||
      !(c.tightness > 0))
    throw std::invalid_argument("beat tracker: frame_s, the tempi, prior_octaves and tempo_every_s must be > 0, "
                                "max_bpm > min_bpm, score_memory in [0, 1), and the delays and weights >= 0");
  size_ = static_cast<std::size_t>(std::lround(c.history_s / c.frame_s));
  min_lag_ = std::max(1, static_cast<int>(std::floor(60.0 / c.max_bpm / c.frame_s)));
  max_lag_ = static_cast<int>(std::ceil(60.0 / c.min_bpm / c.frame_s));
  // The autocorrelation looks at twice the longest period, and the programme back as far.
  if (size_ < static_cast<std::size_t>(4 * max_lag_ + 2))
    throw std::invalid_argument("beat tracker: history_s " + std::to_string(c.history_s) +
                                " is too short for min_bpm " + std::to_string(c.min_bpm) +
                                ": it must hold four of its beats");
  onset_.assign(size_, 0);
  score_.assign(size_, 0);
  back_.assign(size_, -1);
  weight_.assign(static_cast<std::size_t>(2 * max_lag_ + 2), 0);
  acf_.assign(static_cast<std::size_t>(2 * max_lag_ + 3), 0);
  smooth_.assign(size_, 0);
  // Beats on the path are at least half the shortest period apart.
  found_.assign(size_ / static_cast<std::size_t>(std::max(1, min_lag_ / 2)) + 2, 0);
  path_.reserve(size_);
  reset();
}

void BeatTracker::reset() {
  std::fill(onset_.begin(), onset_.end(), 0.0);
  std::fill(score_.begin(), score_.end(), 0.0);
  std::fill(back_.begin(), back_.end(), -1);
  processed_ = 0;
  first_onset_ = -1;
  last_found_ = -1;
  found_count_ = 0;
  period_frames_ = 0;
  period_lag_ = 0;
  frames_to_tempo_ = 0;
}

void BeatTracker::advance(double time_s) {
  if (!std::isfinite(time_s)) return;
  const auto target = static_cast<std::int64_t>(std::floor(time_s / config_.frame_s + 0.5));
  while (processed_ < target) process_frame();
}

void BeatTracker::add_onset(double time_s, int velocity, int pitch) {
  if (!std::isfinite(time_s)) return;
  advance(time_s);
  double w = std::clamp(velocity, 1, 127) / 127.0;
  if (pitch >= 0) w *= 1 + config_.bass_weight * std::clamp((60 - pitch) / 24.0, 0.0, 1.0);
  // Frame processed_ is the onset's own (or, for a late one, the earliest still open).
  onset_[slot(processed_)] += w;
  if (first_onset_ < 0) first_onset_ = processed_;
}

void BeatTracker::process_frame() {
  const std::int64_t n = processed_;
  const double alpha = config_.score_memory;
  double best = 0;
  std::int64_t from = -1;
  if (period_lag_ > 0) {
    const std::int64_t lo = std::max(1, period_lag_ / 2);
    const std::int64_t hi = std::min<std::int64_t>({2 * period_lag_, n, static_cast<std::int64_t>(size_) - 1});
    for (std::int64_t v = lo; v <= hi; ++v) {
      const double candidate = weight_[static_cast<std::size_t>(v)] * score_[slot(n - v)];
      if (candidate > best) best = candidate, from = n - v;
    }
  }
  score_[slot(n)] = (1 - alpha) * onset_[slot(n)] + alpha * best;
  back_[slot(n)] = from;
  processed_ = n + 1;
  onset_[slot(processed_)] = 0;  // the slot now holds the next frame, not the oldest one

  if (first_onset_ >= 0 && static_cast<double>(n - first_onset_) * config_.frame_s >= config_.warm_up_s &&
      --frames_to_tempo_ <= 0) {
    estimate_tempo();
    frames_to_tempo_ = std::max(1, static_cast<int>(std::lround(config_.tempo_every_s / config_.frame_s)));
  }
  if (period_lag_ > 0) find_beats();
}

void BeatTracker::estimate_tempo() {
  // The onset strength of the kept frames, oldest first, smoothed over ±20 ms (chords are spread).
  const std::size_t len = static_cast<std::size_t>(std::min<std::int64_t>(processed_, static_cast<std::int64_t>(size_) - 1));
  if (len < static_cast<std::size_t>(2 * min_lag_ + 1)) return;
  const std::int64_t first = processed_ - static_cast<std::int64_t>(len);
  static constexpr double kKernel[] = {1, 2, 3, 2, 1};
  double mean = 0;
  for (std::size_t i = 0; i < len; ++i) {
    double sum = 0;
    for (int k = -2; k <= 2; ++k) {
      const auto j = static_cast<std::int64_t>(i) + k;
      if (j >= 0 && j < static_cast<std::int64_t>(len)) sum += kKernel[k + 2] * onset_[slot(first + j)];
    }
    smooth_[i] = sum / 9;
    mean += smooth_[i];
  }
  mean /= static_cast<double>(len);
  for (std::size_t i = 0; i < len; ++i) smooth_[i] -= mean;

  // Lags one past either end too, so that a peak can be told from a slope running out of range.
  const int top = std::min(2 * max_lag_ + 2, static_cast<int>(len) - 1);
  for (int lag = min_lag_ - 1; lag <= top; ++lag) {
    if (lag > max_lag_ + 1 && lag % 2 != 0) continue;  // past the periods only the double lags are used
    double sum = 0;
    for (std::size_t i = 0; i + static_cast<std::size_t>(lag) < len; ++i) sum += smooth_[i] * smooth_[i + lag];
    acf_[static_cast<std::size_t>(lag)] = sum / static_cast<double>(len - static_cast<std::size_t>(lag));
  }
  auto comb = [&](int lag) {
    if (lag < std::max(1, min_lag_ - 1) || lag > max_lag_ + 1 || lag > top) return 0.0;
    double s = acf_[static_cast<std::size_t>(lag)];
    if (2 * lag <= top) s += 0.5 * acf_[static_cast<std::size_t>(2 * lag)];
    const double z = std::log2(60.0 / (lag * config_.frame_s) / config_.prior_bpm) / config_.prior_octaves;
    double keep = 1;
    if (period_frames_ > 0) {
      const double d = std::log2(lag / period_frames_) / 0.1;  // within about 7%
      keep += config_.tempo_continuity * std::exp(-0.5 * d * d);
    }
    return std::max(0.0, s) * std::exp(-0.5 * z * z) * keep;
  };
  int best = 0;
  double best_score = 0;
  for (int lag = min_lag_; lag <= std::min(max_lag_, top - 1); ++lag) {
    const double s = comb(lag);
    if (s > best_score && s >= comb(lag - 1) && s >= comb(lag + 1)) best_score = s, best = lag;
  }
  if (best == 0) return;  // no periodicity heard: keep the last period
  // A parabola through the peak and its neighbours places the period between frames.
  const double left = comb(best - 1), right = comb(best + 1), curve = left - 2 * best_score + right;
  double period = best;
  if (curve < 0) period += std::clamp(0.5 * (left - right) / curve, -0.5, 0.5);
  set_period(period);
}

void BeatTracker::set_period(double period_frames) {
  period_frames_ = period_frames;
  period_lag_ = static_cast<int>(std::lround(period_frames));
  for (std::size_t v = 1; v < weight_.size(); ++v) {
    const double x = config_.tightness * std::log(static_cast<double>(v) / period_frames);
    weight_[v] = std::exp(-0.5 * x * x);
  }
}

std::int64_t BeatTracker::best_recent_frame() const {
  // The highest peak of the score within the last period. A peak, not the highest frame: through a
  // rest the score decays, and the oldest frame of the window would win every time.
  const std::int64_t n = processed_ - 1;
  const std::int64_t ring_oldest = processed_ - static_cast<std::int64_t>(size_) + 1;
  const std::int64_t oldest = std::max<std::int64_t>({0, n - period_lag_ + 1, ring_oldest});
  std::int64_t best = -1;
  double best_score = 0;
  for (std::int64_t m = oldest; m <= n; ++m) {
    const double c = score_[slot(m)];
    if (c <= best_score) continue;
    if (m > std::max<std::int64_t>(0, ring_oldest) && score_[slot(m - 1)] > c) continue;
    if (m < n && score_[slot(m + 1)] > c) continue;
    best_score = c, best = m;
  }
  return best;
}

void BeatTracker::find_beats() {
  const std::int64_t n = processed_ - 1;
  const auto delay = static_cast<std::int64_t>(std::lround(config_.decision_delay_s / config_.frame_s));
  // Beats already found, and anything within half a period after the last, are settled. At the
  // start only the latest beat of the path is taken: the tracker does not rewrite the past.
  const std::int64_t settled = last_found_ >= 0 ? last_found_ + period_lag_ / 2 : n - delay - period_lag_;
  const std::int64_t oldest = processed_ - static_cast<std::int64_t>(size_) + 1;
  path_.clear();
  for (std::int64_t m = best_recent_frame(); m > settled && m >= oldest && m >= 0; m = back_[slot(m)])
    if (m <= n - delay) path_.push_back(m);
  for (auto it = path_.rbegin(); it != path_.rend(); ++it) {
    found_[found_count_ % found_.size()] = static_cast<double>(*it) * config_.frame_s;
    ++found_count_;
    last_found_ = *it;
  }
}

double BeatTracker::period_s() const { return period_frames_ * config_.frame_s; }

double BeatTracker::bpm() const { return period_frames_ > 0 ? 60.0 / period_s() : 0.0; }

std::vector<double> BeatTracker::beats() const {
  const std::size_t count = std::min(found_count_, found_.size());
  const double oldest_s = static_cast<double>(processed_ - static_cast<std::int64_t>(size_)) * config_.frame_s;
  std::vector<double> out;
  out.reserve(count);
  for (std::size_t i = found_count_ - count; i < found_count_; ++i)
    if (found_[i % found_.size()] >= oldest_s) out.push_back(found_[i % found_.size()]);
  return out;
}

std::vector<double> BeatTracker::predict(double from_s, double to_s) const {
  std::vector<double> out;
  if (period_frames_ <= 0 || !(to_s > from_s)) return out;
  const std::int64_t anchor = best_recent_frame();
  if (anchor < 0) return out;
  const double at = static_cast<double>(anchor) * config_.frame_s, period = period_s();
  if ((to_s - from_s) / period > 1e6) return out;
  for (double k = std::ceil((from_s - at) / period);; ++k) {
    const double t = at + k * period;
    if (t >= to_s) break;
    if (t >= from_s) out.push_back(t);
  }
  return out;
}

namespace {

// Feeds notes [next, ...) that start before `until_s`, and time up to it, collecting new beats.
class Feeder {
 public:
  Feeder(const std::vector<Note>& notes, const BeatTrackerConfig& config) : tracker_(config), notes_(notes) {
    std::sort(notes_.begin(), notes_.end(), [](const Note& a, const Note& b) { return a.start_s < b.start_s; });
  }
  void feed_until(double until_s) {
    const double step = tracker_.config().history_s / 2;
    while (next_ < notes_.size() && notes_[next_].start_s < until_s) {
      walk_to(notes_[next_].start_s, step);
      tracker_.add_onset(notes_[next_].start_s, notes_[next_].velocity, notes_[next_].pitch);
      ++next_;
      collect();
    }
    walk_to(until_s, step);
  }
  BeatTracker& tracker() { return tracker_; }
  const std::vector<Note>& notes() const { return notes_; }
  std::vector<double> found;

 private:
  void walk_to(double time_s, double step) {
    while (now_ + step < time_s) {
      now_ += step;
      tracker_.advance(now_);
      collect();
    }
    now_ = std::max(now_, time_s);
    tracker_.advance(now_);
    collect();
  }
  void collect() {
    const std::size_t fresh = tracker_.beats_found() - seen_;
    if (fresh == 0) return;
    const auto recent = tracker_.beats();
    found.insert(found.end(), recent.end() - static_cast<std::ptrdiff_t>(std::min(fresh, recent.size())), recent.end());
    seen_ = tracker_.beats_found();
  }
  BeatTracker tracker_;
  std::vector<Note> notes_;
  std::size_t next_ = 0;
  std::size_t seen_ = 0;
  double now_ = 0;
};

}  // namespace

std::vector<double> track_beats(const std::vector<Note>& notes, const BeatTrackerConfig& config) {
  Feeder feeder(notes, config);
  if (notes.empty()) return {};
  // Up to the last onset, and as long again as it takes to decide on a beat there.
  feeder.feed_until(feeder.notes().back().start_s + config.decision_delay_s + 2 * config.frame_s);
  return std::move(feeder.found);
}

std::vector<double> predict_beats_ahead(const std::vector<Note>& notes, double lead_s, const BeatTrackerConfig& config) {
  if (!(lead_s > 0)) throw std::invalid_argument("predict_beats_ahead: lead_s must be > 0");
  Feeder feeder(notes, config);
  std::vector<double> out;
  if (notes.empty()) return out;
  const double last = feeder.notes().back().start_s;
  for (double t = lead_s; t - lead_s <= last; t += lead_s) {
    feeder.feed_until(t);
    const auto ahead = feeder.tracker().predict(t, t + lead_s);
    for (double b : ahead)
      if (b <= last && (out.empty() || b > out.back())) out.push_back(b);
  }
  return out;
}

BeatScore beat_f_measure(const std::vector<double>& reference_s, const std::vector<double>& estimated_s,
                         double tolerance_s, double skip_s) {
  std::vector<double> ref, est;
  std::copy_if(reference_s.begin(), reference_s.end(), std::back_inserter(ref), [&](double t) { return t >= skip_s; });
  std::copy_if(estimated_s.begin(), estimated_s.end(), std::back_inserter(est), [&](double t) { return t >= skip_s; });
  std::sort(ref.begin(), ref.end());
  std::sort(est.begin(), est.end());
  BeatScore s;
  s.reference = ref.size();
  s.estimated = est.size();
  if (ref.empty() || est.empty()) return s;
  // On a line with one window width, pairing the earliest unmatched of each in order is a maximum
  // matching.
  for (std::size_t i = 0, j = 0; i < ref.size() && j < est.size();) {
    if (std::abs(ref[i] - est[j]) <= tolerance_s) {
      ++s.matched, ++i, ++j;
    } else if (est[j] < ref[i]) {
      ++j;
    } else {
      ++i;
    }
  }
  s.precision = static_cast<double>(s.matched) / static_cast<double>(s.estimated);
  s.recall = static_cast<double>(s.matched) / static_cast<double>(s.reference);
  if (s.precision + s.recall > 0) s.f_measure = 2 * s.precision * s.recall / (s.precision + s.recall);
  return s;
}

}  // namespace scorejam
