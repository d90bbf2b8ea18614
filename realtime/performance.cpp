#include "realtime/performance.h"

#include <algorithm>
#include <cmath>

namespace scorejam {

Performance::Performance(std::int64_t origin_ns, double fs_hz, bool sustain_pedal)
    : origin_ns_(origin_ns), fs_hz_(fs_hz), sustain_pedal_(sustain_pedal) {}

Performance::Performance(std::int64_t origin_ns, const RollFormat& format)
    : origin_ns_(origin_ns),
      fs_hz_(format.fs_hz),
      sustain_pedal_(format.sustain_pedal),
      pedal_channel_(format.pedal_channel),
      onset_offsets_(format.onset_offsets) {}

std::int64_t Performance::nearest_frame(std::int64_t time_ns) const {
  return std::llround(static_cast<double>(time_ns - origin_ns_) * 1e-9 * fs_hz_);
}

std::int64_t Performance::frame_at(std::int64_t time_ns) const {
  return static_cast<std::int64_t>(std::floor(static_cast<double>(time_ns - origin_ns_) * 1e-9 * fs_hz_));
}

std::int64_t Performance::time_of(std::int64_t frame) const {
  return origin_ns_ + static_cast<std::int64_t>(std::llround(static_cast<double>(frame) / fs_hz_ * 1e9));
}

void Performance::end_player_note(int pitch, std::int64_t time_ns) {
  if (sounding_[pitch] == 0) return;
  player_[sounding_[pitch] - 1].end_ns = time_ns;
  sounding_[pitch] = 0;
  held_by_pedal_[pitch] = false;
}

void Performance::player_event(const TimedMidi& m) {
  if (m.size < 3) return;
  const int kind = m.bytes[0] & 0xF0;
  const int pitch = m.bytes[1] & 0x7F;
  if (is_note_on(m)) {
    end_player_note(pitch, m.time_ns);  // struck again: the held note ends here
    player_.push_back({m.time_ns, kOpen, pitch, m.bytes[2]});
    sounding_[pitch] = static_cast<int>(player_.size());
    if (!key_down_[pitch]) ++keys_down_;
    key_down_[pitch] = true;
    last_player_note_ns_ = m.time_ns;
  } else if (is_note_off(m)) {
    if (key_down_[pitch]) --keys_down_;
    key_down_[pitch] = false;
    last_player_note_ns_ = m.time_ns;
    if (sustain_pedal_ && pedal_down_ && sounding_[pitch] != 0)
      held_by_pedal_[pitch] = true;
    else
      end_player_note(pitch, m.time_ns);
  } else if (kind == 0xB0 && m.bytes[1] == kSustainController) {
    if (pedal_channel_ && pedal_channels_[m.bytes[0] & 0x0F].update(m.bytes[2])) {
      // Down while any channel's pedal is down, as sustain_intervals() reads a file.
      if (pedal_channels_[m.bytes[0] & 0x0F].down) {
        if (pedal_channels_down_++ == 0) player_pedal_.push_back({m.time_ns, kOpen});
      } else if (--pedal_channels_down_ == 0 && !player_pedal_.empty()) {
        player_pedal_.back().up_ns = m.time_ns;
      }
    }
    const bool down = m.bytes[2] >= kPedalDownThreshold;
    if (pedal_down_ && !down)
      for (int p = 0; p < 128; ++p)
        if (held_by_pedal_[p]) end_player_note(p, m.time_ns);
    pedal_down_ = down;
  }
}

void Performance::add_generated(const GridNote& note) { generated_.push_back(note); }

void Performance::cut_generated(std::int64_t frame) {
  std::erase_if(generated_, [frame](const GridNote& n) { return n.onset_frame >= frame; });
  for (auto& n : generated_) n.end_frame = static_cast<int>(std::min<std::int64_t>(n.end_frame, frame));
  std::erase_if(generated_pedal_, [frame](const GridPedal& s) { return s.down_frame >= frame; });
  for (auto& s : generated_pedal_) s.up_frame = static_cast<int>(std::min<std::int64_t>(s.up_frame, frame));
}

void Performance::add_generated_pedal(const GridPedal& span) {
  if (span.up_frame <= span.down_frame) return;
  if (!generated_pedal_.empty() && span.down_frame <= generated_pedal_.back().up_frame &&
      span.down_frame >= generated_pedal_.back().down_frame) {
    generated_pedal_.back().up_frame = std::max(generated_pedal_.back().up_frame, span.up_frame);
    return;
  }
  generated_pedal_.push_back(span);
}

bool Performance::generated_pedal_down(std::int64_t frame) const {
  return std::any_of(generated_pedal_.begin(), generated_pedal_.end(),
                     [frame](const GridPedal& s) { return s.down_frame <= frame && frame < s.up_frame; });
}

std::vector<GridPedal> Performance::pedal_window(std::int64_t first_frame, int frames, Sources sources) const {
  if (!pedal_channel_) return {};
  const std::int64_t last = first_frame + frames;
  std::vector<std::pair<std::int64_t, std::int64_t>> spans;
  if (sources.player)
    for (const auto& s : player_pedal_)
      spans.emplace_back(nearest_frame(s.down_ns), s.up_ns == kOpen ? last : nearest_frame(s.up_ns));
  if (sources.generated)
    for (const auto& s : generated_pedal_) spans.emplace_back(s.down_frame, s.up_frame);
  std::sort(spans.begin(), spans.end());
  std::vector<GridPedal> out;
  for (auto [down, up] : spans) {
    down = std::max(down, first_frame);
    up = std::min(up, last);
    if (up <= down) continue;
    const int from = static_cast<int>(down - first_frame), to = static_cast<int>(up - first_frame);
    if (!out.empty() && from <= out.back().up_frame) out.back().up_frame = std::max(out.back().up_frame, to);
    else out.push_back({from, to});
  }
  return out;
}

bool Performance::generated_sounding(int pitch, std::int64_t frame) const {
  return std::any_of(generated_.begin(), generated_.end(), [&](const GridNote& n) {
    return n.pitch == pitch && n.onset_frame <= frame && frame < n.end_frame;
  });
}

std::vector<GridNote> Performance::window(std::int64_t first_frame, int frames, Sources sources) const {
  std::vector<GridNote> out;
  const std::int64_t last = first_frame + frames;
  auto add = [&](std::int64_t onset, std::int64_t end, int pitch, int velocity, float offset) {
    if (pitch < kLowestPitch || pitch > kHighestPitch) return;
    end = std::max(end, onset + 1);
    if (end <= first_frame || onset >= last) return;
    out.push_back({static_cast<int>(onset - first_frame), static_cast<int>(std::min(end, last) - first_frame), pitch,
                   velocity, offset});
  };
  if (sources.player)
    for (const auto& n : player_) {
      // As quantize() places a file's notes in training (core/roll.h, note_frames): the nearest
      // frames, and where in its onset frame the key went down. A key still down lasts to the end.
      const auto frames_of = [&](std::int64_t t) { return static_cast<double>(t - origin_ns_) * 1e-9 * fs_hz_; };
      auto f = note_frames(frames_of(n.start_ns), n.end_ns == kOpen ? static_cast<double>(last) : frames_of(n.end_ns));
      add(f.onset, f.end, n.pitch, n.velocity, onset_offsets_ ? f.offset : 0.0f);
    }
  if (sources.generated)
    for (const auto& n : generated_) add(n.onset_frame, n.end_frame, n.pitch, n.velocity, n.onset_offset);
  std::sort(out.begin(), out.end(), [](const GridNote& a, const GridNote& b) {
    return a.onset_frame != b.onset_frame ? a.onset_frame < b.onset_frame : a.pitch < b.pitch;
  });
  return out;
}

void Performance::forget_before(std::int64_t frame) {
  const auto cutoff_ns = time_of(frame);
  // Open notes are referenced by index from sounding_: rebuild those indices after erasing.
  std::vector<TimedNote> kept;
  kept.reserve(player_.size());
  std::array<int, 128> sounding{};
  for (std::size_t i = 0; i < player_.size(); ++i) {
    const auto& n = player_[i];
    if (n.end_ns != kOpen && n.end_ns < cutoff_ns) continue;
    kept.push_back(n);
    if (sounding_[n.pitch] == static_cast<int>(i) + 1) sounding[n.pitch] = static_cast<int>(kept.size());
  }
  player_ = std::move(kept);
  sounding_ = sounding;
  std::erase_if(generated_, [frame](const GridNote& n) { return n.end_frame < frame; });
  std::erase_if(player_pedal_, [cutoff_ns](const TimedSpan& s) { return s.up_ns != kOpen && s.up_ns < cutoff_ns; });
  std::erase_if(generated_pedal_, [frame](const GridPedal& s) { return s.up_frame < frame; });
}

}  // namespace scorejam
