#include "realtime/live_timeline.h"

#include <algorithm>
#include <cmath>

namespace scorejam {

Hop commit_hop(Performance& performance, Timeline& timeline, const HopRules& rules, const HopInput& input) {
  constexpr std::int64_t kMs = 1'000'000;
  const auto& generated = *input.generated;
  const double fs = performance.fs_hz();
  const auto lead_ns = static_cast<std::int64_t>(rules.lead_ms) * kMs;
  int from = input.known;  // window-relative first frame of the hop
  std::int64_t shift = 0;
  if (input.first_answer) {
    // The answer's first hop starts at its first note, moved to sound lead_ms from now: the answer
    // follows the pause at once instead of after the model's rest.
    if (!generated.empty())
      from = std::min_element(generated.begin(), generated.end(),
                              [](const GridNote& a, const GridNote& b) { return a.onset_frame < b.onset_frame; })
                 ->onset_frame;
    const auto earliest_ns = input.now_ns + lead_ns;
    const auto earliest_frame = performance.frame_at(earliest_ns);
    shift = input.window_first + from - earliest_frame;
    timeline.offset_ns = earliest_ns - performance.time_of(earliest_frame);
    timeline.answer_end =
        input.window_first + from - shift + static_cast<std::int64_t>(std::lround(input.answer_seconds * fs));
  }
  const int to = from + rules.hop_frames;
  std::vector<GridNote> hop;
  for (const auto& g : generated)
    if (g.onset_frame >= from && g.onset_frame < to) hop.push_back(g);
  Hop out;
  out.decoded = hop.size();
  // A window sampled with very few steps (lowered to stay on time on a loaded machine) decodes to
  // noise: hundreds of notes a second, more than a MIDI cable carries. Keep the loudest.
  const auto cap = static_cast<std::size_t>(std::ceil(rules.max_notes_per_second * rules.hop_frames / fs));
  if (hop.size() > cap) {
    out.thinned = hop.size() - cap;
    // Stable, so that notes of equal velocity are kept in the same order in every run.
    std::stable_sort(hop.begin(), hop.end(), [](const GridNote& a, const GridNote& b) { return a.velocity > b.velocity; });
    hop.resize(cap);
  }
  for (const auto& g : hop) {
    const std::int64_t onset = input.window_first + g.onset_frame - shift;
    const std::int64_t end = input.window_first + g.end_frame - shift;
    if (input.answering && onset >= timeline.answer_end) continue;
    if (performance.generated_sounding(g.pitch, onset)) continue;  // its note-off would cut the new one
    const auto offset_ns = static_cast<std::int64_t>(std::llround(static_cast<double>(g.onset_offset) / fs * 1e9));
    const auto on_ns = performance.time_of(onset) + timeline.offset_ns + offset_ns;
    const auto off_ns = performance.time_of(end) + timeline.offset_ns;
    if (on_ns < input.now_ns) continue;  // decided too late to sound: dropped rather than played late
    performance.add_generated({static_cast<int>(onset), static_cast<int>(end), g.pitch, g.velocity, g.onset_offset});
    out.notes.push_back({on_ns, off_ns, g.pitch, g.velocity});
  }
  if (input.pedal) {
    auto down_in_window = [&](int f) {
      return std::any_of(input.pedal->begin(), input.pedal->end(),
                         [f](const GridPedal& p) { return p.down_frame <= f && f < p.up_frame; });
    };
    bool down = performance.generated_pedal_down(input.window_first + from - shift - 1);
    for (int f = from; f < to; ++f) {
      const std::int64_t frame = input.window_first + f - shift;
      const bool want = down_in_window(f) && !(input.answering && frame >= timeline.answer_end);
      if (want) performance.add_generated_pedal({static_cast<int>(frame), static_cast<int>(frame + 1)});
      if (want == down) continue;
      down = want;
      out.pedal.push_back({std::max(performance.time_of(frame) + timeline.offset_ns, input.now_ns), want ? 127 : 0});
    }
  }
  out.committed_end = input.window_first + to - shift;
  return out;
}

std::uint64_t fingerprint(const std::vector<PlannedNote>& notes) {
  std::uint64_t h = 14695981039346656037ull;
  auto mix = [&h](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xFF;
      h *= 1099511628211ull;
    }
  };
  for (const auto& n : notes) {
    mix(static_cast<std::uint64_t>(n.on_ns));
    mix(static_cast<std::uint64_t>(n.off_ns));
    mix(static_cast<std::uint64_t>(n.pitch) << 8 | static_cast<std::uint64_t>(n.velocity));
  }
  return h;
}

}  // namespace scorejam
