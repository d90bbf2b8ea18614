#include "realtime/replay.h"

#include <algorithm>

namespace scorejam {

std::vector<TimedMidi> replay_messages(const MidiFile& file, double start_s, double seconds, std::int64_t origin_ns) {
  const double end_s = seconds > 0 ? start_s + seconds : file.duration_s + 1;
  auto at = [&](double t) { return origin_ns + static_cast<std::int64_t>((t - start_s) * 1e9); };
  std::vector<TimedMidi> out;
  for (const auto& n : file.notes) {
    if (n.start_s < start_s || n.start_s >= end_s) continue;
    out.push_back(note_on(at(n.start_s), n.channel, n.pitch, n.velocity));
    out.push_back(note_off(at(std::min(n.end_s, end_s)), n.channel, n.pitch));
  }
  for (const auto& c : file.controls)
    if (c.controller == kSustainController && c.time_s >= start_s && c.time_s < end_s)
      out.push_back(control_change(at(c.time_s), c.channel, c.controller, c.value));
  out.push_back(control_change(at(end_s < file.duration_s ? end_s : file.duration_s), 0, kSustainController, 0));
  std::stable_sort(out.begin(), out.end(), [](const TimedMidi& a, const TimedMidi& b) {
    if (a.time_ns != b.time_ns) return a.time_ns < b.time_ns;
    return is_note_off(a) && !is_note_off(b);
  });
  return out;
}

}  // namespace scorejam
