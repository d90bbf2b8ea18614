#include "core/roll.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

namespace scorejam {

PianoRoll::PianoRoll(int frames, double fs_hz) : frames_(frames), fs_hz_(fs_hz) {
  if (frames < 0) throw std::invalid_argument("PianoRoll: negative frame count");
  if (!(fs_hz > 0) || !std::isfinite(fs_hz)) throw std::invalid_argument("PianoRoll: fs_hz must be positive");
  data_.assign(static_cast<std::size_t>(kRollChannels) * kKeys * static_cast<std::size_t>(frames), 0.0f);
}

std::size_t PianoRoll::index(RollChannel channel, int key, int frame) const {
  return (static_cast<std::size_t>(channel) * kKeys + static_cast<std::size_t>(key)) *
             static_cast<std::size_t>(frames_) +
         static_cast<std::size_t>(frame);
}

float& PianoRoll::at(RollChannel channel, int key, int frame) { return data_[index(channel, key, frame)]; }
float PianoRoll::at(RollChannel channel, int key, int frame) const { return data_[index(channel, key, frame)]; }

std::vector<GridNote> quantize(const std::vector<Note>& notes, const std::vector<ControlChange>& controls,
                               const RollFormat& format) {
  const auto& source = format.sustain_pedal ? apply_sustain(notes, controls) : notes;
  std::vector<GridNote> grid;
  grid.reserve(source.size());
  for (const auto& n : source) {
    if (n.pitch < kLowestPitch || n.pitch > kHighestPitch) continue;
    if (!std::isfinite(n.start_s) || !std::isfinite(n.end_s) || n.start_s < 0) continue;
    auto onset = static_cast<int>(std::lround(n.start_s * format.fs_hz));
    auto end = std::max(onset + 1, static_cast<int>(std::lround(n.end_s * format.fs_hz)));
    grid.push_back({onset, end, n.pitch, std::clamp(n.velocity, 1, 127)});
  }
  std::sort(grid.begin(), grid.end(), [](const GridNote& a, const GridNote& b) {
    if (a.onset_frame != b.onset_frame) return a.onset_frame < b.onset_frame;
    if (a.pitch != b.pitch) return a.pitch < b.pitch;
    return a.end_frame < b.end_frame;
  });
  return grid;
}

PianoRoll render_roll(const std::vector<GridNote>& notes, double fs_hz, int first_frame, int frames) {
  PianoRoll roll(frames, fs_hz);
  const int last_frame = first_frame + frames;
  for (const auto& n : notes) {
    if (n.end_frame <= first_frame || n.onset_frame >= last_frame) continue;
    const int key = n.pitch - kLowestPitch;
    const float velocity = static_cast<float>(n.velocity) / 127.0f;
    const int from = std::max(n.onset_frame, first_frame);
    const int to = std::min(n.end_frame, last_frame);
    for (int f = from; f < to; ++f) {
      roll.at(RollChannel::kFrame, key, f - first_frame) = 1.0f;
      roll.at(RollChannel::kVelocity, key, f - first_frame) = velocity;
    }
    if (n.onset_frame >= first_frame) roll.at(RollChannel::kOnset, key, n.onset_frame - first_frame) = 1.0f;
  }
  // A later note's velocity wins on overlapping frames; restore each onset's own velocity so
  // decoding reads what was struck.
  for (const auto& n : notes)
    if (n.onset_frame >= first_frame && n.onset_frame < last_frame)
      roll.at(RollChannel::kVelocity, n.pitch - kLowestPitch, n.onset_frame - first_frame) =
          static_cast<float>(n.velocity) / 127.0f;
  return roll;
}

PianoRoll notes_to_roll(const std::vector<Note>& notes, const std::vector<ControlChange>& controls,
                        const RollFormat& format) {
  auto grid = quantize(notes, controls, format);
  int frames = 0;
  for (const auto& n : grid) frames = std::max(frames, n.end_frame);
  return render_roll(grid, format.fs_hz, 0, frames);
}

std::vector<GridNote> decode_roll(const PianoRoll& roll, const DecodeThresholds& thresholds) {
  std::vector<GridNote> notes;
  for (int key = 0; key < kKeys; ++key) {
    int open_at = -1;
    int open_velocity = 0;
    auto close = [&](int end) {
      if (open_at >= 0) notes.push_back({open_at, end, key + kLowestPitch, open_velocity});
      open_at = -1;
    };
    for (int f = 0; f < roll.frames(); ++f) {
      const bool held = roll.at(RollChannel::kFrame, key, f) >= thresholds.frame;
      const bool struck = held && roll.at(RollChannel::kOnset, key, f) >= thresholds.onset;
      if (!held) {
        close(f);
        continue;
      }
      if (struck || open_at < 0) {
        close(f);
        open_at = f;
        const float v = roll.at(RollChannel::kVelocity, key, f);
        open_velocity = std::clamp(static_cast<int>(std::lround(v * 127.0f)), 1, 127);
      }
    }
    close(roll.frames());
  }
  std::sort(notes.begin(), notes.end(), [](const GridNote& a, const GridNote& b) {
    if (a.onset_frame != b.onset_frame) return a.onset_frame < b.onset_frame;
    return a.pitch < b.pitch;
  });
  return notes;
}

std::vector<Note> roll_to_notes(const PianoRoll& roll, const DecodeThresholds& thresholds, double start_s) {
  std::vector<Note> notes;
  for (const auto& g : decode_roll(roll, thresholds))
    notes.push_back({start_s + g.onset_frame / roll.fs_hz(), start_s + g.end_frame / roll.fs_hz(), g.pitch,
                     g.velocity, 0});
  sort_notes(notes);
  return notes;
}

std::string note_name(int pitch) {
  static constexpr std::array<const char*, 12> kNames = {"C",  "C#", "D",  "D#", "E",  "F",
                                                         "F#", "G",  "G#", "A",  "A#", "B"};
  const int octave = pitch / 12 - 1;
  return std::string(kNames[static_cast<std::size_t>(((pitch % 12) + 12) % 12)]) + std::to_string(octave);
}

}  // namespace scorejam
