#include "core/continuators.h"

#include <algorithm>
#include <stdexcept>

namespace scorejam {

NoteStatistics note_statistics(const std::vector<std::vector<Note>>& corpus, double seconds, std::size_t max_notes) {
  NoteStatistics stats;
  std::size_t total = 0;
  for (const auto& notes : corpus) total += notes.size();
  stats.notes_per_s = seconds > 0 ? static_cast<double>(total) / seconds : 0.0;
  const std::size_t stride = std::max<std::size_t>(1, (total + max_notes - 1) / std::max<std::size_t>(max_notes, 1));
  std::size_t i = 0;
  for (const auto& notes : corpus)
    for (const auto& n : notes)
      if (i++ % stride == 0) stats.notes.push_back(n);
  return stats;
}

std::vector<Note> random_continuation(const NoteStatistics& stats, double seconds, std::mt19937_64& rng) {
  std::vector<Note> out;
  if (stats.notes.empty() || stats.notes_per_s <= 0) return out;
  std::exponential_distribution<double> gap(stats.notes_per_s);
  std::uniform_int_distribution<std::size_t> pick(0, stats.notes.size() - 1);
  for (double t = gap(rng); t < seconds; t += gap(rng)) {
    const auto& like = stats.notes[pick(rng)];
    out.push_back({t, std::min(seconds, t + (like.end_s - like.start_s)), like.pitch, like.velocity, 0});
  }
  return out;
}

MarkovContinuator::MarkovContinuator(int max_order) : max_order_(max_order) {
  if (max_order < 1 || max_order > 3) throw std::invalid_argument("MarkovContinuator: order must be 1..3");
}

// Up to three 7-bit pitches and the order in one word.
std::uint32_t MarkovContinuator::key(const std::vector<int>& history, int order) {
  std::uint32_t k = static_cast<std::uint32_t>(order) << 21;
  for (int i = 0; i < order; ++i)
    k |= static_cast<std::uint32_t>(history[history.size() - static_cast<std::size_t>(order - i)] & 0x7F) << (7 * i);
  return k;
}

void MarkovContinuator::learn(const std::vector<Note>& notes) {
  auto sorted = notes;
  sort_notes(sorted);
  std::vector<int> history;
  double previous_onset = sorted.empty() ? 0.0 : sorted.front().start_s;
  for (const auto& n : sorted) {
    const auto index = static_cast<std::uint32_t>(events_.size());
    events_.push_back({static_cast<std::uint8_t>(std::clamp(n.pitch, 0, 127)), static_cast<std::uint8_t>(std::clamp(n.velocity, 1, 127)),
                       static_cast<float>(n.start_s - previous_onset), static_cast<float>(n.end_s - n.start_s)});
    for (int order = 1; order <= max_order_ && order <= static_cast<int>(history.size()); ++order)
      next_[key(history, order)].push_back(index);
    history.push_back(n.pitch);
    if (history.size() > static_cast<std::size_t>(max_order_)) history.erase(history.begin());
    previous_onset = n.start_s;
  }
}

std::vector<Note> MarkovContinuator::continue_from(const std::vector<Note>& prompt, double prompt_seconds,
                                                   double seconds, std::mt19937_64& rng) const {
  std::vector<Note> out;
  if (events_.empty()) return out;
  auto sorted = prompt;
  sort_notes(sorted);
  std::vector<int> history;
  for (const auto& n : sorted) history.push_back(n.pitch);
  double onset = sorted.empty() ? 0.0 : sorted.back().start_s - prompt_seconds;  // <= 0: before the end
  // A bound on the notes, whatever the learned intervals (all-zero intervals would never advance).
  const auto cap = static_cast<std::size_t>(seconds * 64) + 64;
  while (out.size() < cap) {
    const std::vector<std::uint32_t>* choices = nullptr;
    for (int order = std::min<int>(max_order_, static_cast<int>(history.size())); order >= 1 && !choices; --order) {
      const auto found = next_.find(key(history, order));
      if (found != next_.end()) choices = &found->second;
    }
    const Event& e = choices ? events_[(*choices)[std::uniform_int_distribution<std::size_t>(0, choices->size() - 1)(rng)]]
                             : events_[std::uniform_int_distribution<std::size_t>(0, events_.size() - 1)(rng)];
    onset += e.ioi_s;
    history.push_back(e.pitch);
    if (onset >= seconds) break;
    if (onset >= 0) out.push_back({onset, std::min(seconds, onset + e.duration_s), e.pitch, e.velocity, 0});
  }
  return out;
}

}  // namespace scorejam
