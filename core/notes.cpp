#include "core/notes.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

namespace scorejam {

void sort_notes(std::vector<Note>& notes) {
  std::sort(notes.begin(), notes.end(), [](const Note& a, const Note& b) {
    if (a.start_s != b.start_s) return a.start_s < b.start_s;
    if (a.pitch != b.pitch) return a.pitch < b.pitch;
    if (a.end_s != b.end_s) return a.end_s < b.end_s;
    return a.channel < b.channel;
  });
}

namespace {

struct PedalSpan {
  double down_s;
  double up_s;
};

// Intervals [down, up) during which the pedal of each channel is down; an unreleased pedal lasts
// until `end_s`. Events at one time apply in file order, as note-seq does.
std::map<int, std::vector<PedalSpan>> pedal_spans(const std::vector<ControlChange>& controls, double end_s) {
  std::vector<ControlChange> pedal;
  for (const auto& cc : controls)
    if (cc.controller == kSustainController) pedal.push_back(cc);
  std::stable_sort(pedal.begin(), pedal.end(),
                   [](const ControlChange& a, const ControlChange& b) { return a.time_s < b.time_s; });
  std::map<int, std::vector<PedalSpan>> spans;
  std::map<int, double> down_since;
  for (const auto& cc : pedal) {
    bool down = cc.value >= kPedalDownThreshold;
    auto open = down_since.find(cc.channel);
    if (down && open == down_since.end()) {
      down_since[cc.channel] = cc.time_s;
    } else if (!down && open != down_since.end()) {
      if (cc.time_s > open->second) spans[cc.channel].push_back({open->second, cc.time_s});
      down_since.erase(open);
    }
  }
  for (const auto& [channel, since] : down_since)
    if (end_s > since) spans[channel].push_back({since, end_s});
  return spans;
}

}  // namespace

std::vector<Note> apply_sustain(std::vector<Note> notes, const std::vector<ControlChange>& controls) {
  double end_s = 0;
  for (const auto& n : notes) end_s = std::max(end_s, n.end_s);
  for (const auto& cc : controls) end_s = std::max(end_s, cc.time_s);
  auto spans = pedal_spans(controls, end_s);

  // Onsets of each (channel, pitch), sorted, to find the re-strike that cuts a sustained note.
  std::map<std::pair<int, int>, std::vector<double>> onsets;
  for (const auto& n : notes) onsets[{n.channel, n.pitch}].push_back(n.start_s);
  for (auto& [key, times] : onsets) std::sort(times.begin(), times.end());

  for (auto& n : notes) {
    auto channel_spans = spans.find(n.channel);
    if (channel_spans == spans.end()) continue;
    const auto& list = channel_spans->second;
    // The span holding the release: down <= end < up.
    auto it = std::upper_bound(list.begin(), list.end(), n.end_s,
                               [](double t, const PedalSpan& s) { return t < s.down_s; });
    if (it == list.begin()) continue;
    --it;
    if (!(n.end_s < it->up_s)) continue;
    double new_end = it->up_s;
    const auto& times = onsets[{n.channel, n.pitch}];
    auto next = std::upper_bound(times.begin(), times.end(), n.end_s);
    if (next != times.end() && *next < new_end) new_end = *next;
    n.end_s = std::max(n.end_s, new_end);
  }
  sort_notes(notes);
  return notes;
}

std::vector<Note> notes_between(const std::vector<Note>& notes, double start_s, double end_s) {
  std::vector<Note> out;
  for (auto n : notes) {
    if (n.end_s <= start_s || n.start_s >= end_s) continue;
    n.start_s = std::max(n.start_s, start_s) - start_s;
    n.end_s = std::min(n.end_s, end_s) - start_s;
    out.push_back(n);
  }
  sort_notes(out);
  return out;
}

std::vector<PedalInterval> sustain_intervals(const std::vector<ControlChange>& controls, double end_s) {
  std::vector<ControlChange> pedal;
  for (const auto& cc : controls)
    if (cc.controller == kSustainController && std::isfinite(cc.time_s)) pedal.push_back(cc);
  std::stable_sort(pedal.begin(), pedal.end(),
                   [](const ControlChange& a, const ControlChange& b) { return a.time_s < b.time_s; });
  // Down while any channel's pedal is down.
  std::map<int, PedalHysteresis> channels;
  int down = 0;
  std::vector<PedalInterval> out;
  double since = 0;
  for (const auto& cc : pedal) {
    auto& state = channels[cc.channel];
    if (!state.update(cc.value)) continue;
    if (state.down && down++ == 0) since = std::max(0.0, cc.time_s);
    if (!state.down && --down == 0 && cc.time_s > since) out.push_back({since, cc.time_s});
  }
  if (down > 0 && end_s > since) out.push_back({since, end_s});
  return out;
}

std::vector<ControlChange> controls_between(const std::vector<ControlChange>& controls, double start_s, double end_s) {
  std::vector<ControlChange> sorted = controls;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const ControlChange& a, const ControlChange& b) { return a.time_s < b.time_s; });
  std::map<std::pair<int, int>, int> before;
  std::vector<ControlChange> out;
  for (const auto& cc : sorted) {
    if (cc.time_s < start_s) before[{cc.channel, cc.controller}] = cc.value;
    else if (cc.time_s < end_s) out.push_back({cc.time_s - start_s, cc.channel, cc.controller, cc.value});
  }
  std::vector<ControlChange> held;
  for (const auto& [key, value] : before) held.push_back({0.0, key.first, key.second, value});
  out.insert(out.begin(), held.begin(), held.end());
  return out;
}

}  // namespace scorejam
