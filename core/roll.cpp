#include "core/roll.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

namespace scorejam {

PianoRoll::PianoRoll(int frames, double fs_hz) : frames_(frames), fs_hz_(fs_hz) {
  if (frames < 0) throw std::invalid_argument("PianoRoll: negative frame count");
  if (!(fs_hz > 0) || !std::isfinite(fs_hz)) throw std::invalid_argument("PianoRoll: fs_hz must be positive");
  const std::size_t plane = static_cast<std::size_t>(kKeys) * static_cast<std::size_t>(frames);
  data_.assign(static_cast<std::size_t>(kRollChannels) * plane, 0.0f);
  std::fill(data_.begin() + static_cast<std::ptrdiff_t>(static_cast<int>(RollChannel::kOnsetOffset) * plane),
            data_.end(), kNoOnsetOffset);
}

int roll_channels(const RollFormat& format) {
  return 3 + (format.pedal_channel ? 1 : 0) + (format.onset_offsets ? 1 : 0);
}

std::vector<RollChannel> model_channels(const RollFormat& format, int channels) {
  const int full = roll_channels(format);
  if (full == 3 && channels == 1) return {RollChannel::kFrame};
  if (full == 3 && channels == 2) return {RollChannel::kOnset, RollChannel::kFrame};
  if (channels != full)
    throw std::invalid_argument(
        "the roll format's channels are onset, frame, velocity" +
        std::string(format.pedal_channel ? ", pedal" : "") + std::string(format.onset_offsets ? ", onset offset" : "") +
        ": a model of it has " + std::to_string(full) + " channels, not " + std::to_string(channels));
  std::vector<RollChannel> out{RollChannel::kOnset, RollChannel::kFrame, RollChannel::kVelocity};
  if (format.pedal_channel) out.push_back(RollChannel::kPedal);
  if (format.onset_offsets) out.push_back(RollChannel::kOnsetOffset);
  return out;
}

std::string format_problem(const RollFormat& format) {
  if (format.pedal_channel && format.sustain_pedal)
    return "roll.pedal_channel = true plays the pedal back, so notes must keep their key-down lengths: set "
           "roll.sustain_pedal = false";
  return "";
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
    const auto frames = note_frames(n.start_s * format.fs_hz, n.end_s * format.fs_hz);
    grid.push_back({static_cast<int>(frames.onset), static_cast<int>(frames.end), n.pitch, std::clamp(n.velocity, 1, 127),
                    format.onset_offsets ? frames.offset : 0.0f});
  }
  std::sort(grid.begin(), grid.end(), [](const GridNote& a, const GridNote& b) {
    if (a.onset_frame != b.onset_frame) return a.onset_frame < b.onset_frame;
    if (a.pitch != b.pitch) return a.pitch < b.pitch;
    return a.end_frame < b.end_frame;
  });
  return grid;
}

NoteFrames note_frames(double start_frames, double end_frames) {
  NoteFrames f;
  f.onset = std::llround(start_frames);
  f.end = std::max(f.onset + 1, static_cast<std::int64_t>(std::llround(end_frames)));
  f.offset = static_cast<float>(std::clamp(start_frames - static_cast<double>(f.onset), -0.5, 0.5));
  return f;
}

std::vector<GridPedal> quantize_pedal(const std::vector<ControlChange>& controls, double end_s, double fs_hz) {
  std::vector<GridPedal> out;
  for (const auto& span : sustain_intervals(controls, end_s)) {
    const auto down = static_cast<int>(std::lround(span.down_s * fs_hz));
    const auto up = static_cast<int>(std::lround(span.up_s * fs_hz));
    if (up <= down) continue;
    if (!out.empty() && down <= out.back().up_frame) out.back().up_frame = std::max(out.back().up_frame, up);
    else out.push_back({down, up});
  }
  return out;
}

PianoRoll render_roll(const std::vector<GridNote>& notes, double fs_hz, int first_frame, int frames) {
  return render_roll(notes, {}, fs_hz, first_frame, frames);
}

PianoRoll render_roll(const std::vector<GridNote>& notes, const std::vector<GridPedal>& pedal, double fs_hz,
                      int first_frame, int frames) {
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
    if (n.onset_frame >= first_frame && n.onset_frame < last_frame) {
      roll.at(RollChannel::kVelocity, n.pitch - kLowestPitch, n.onset_frame - first_frame) =
          static_cast<float>(n.velocity) / 127.0f;
      roll.at(RollChannel::kOnsetOffset, n.pitch - kLowestPitch, n.onset_frame - first_frame) =
          std::clamp(n.onset_offset, -0.5f, 0.5f) + kNoOnsetOffset;
    }
  for (const auto& p : pedal) {
    const int from = std::max(p.down_frame, first_frame);
    const int to = std::min(p.up_frame, last_frame);
    for (int key = 0; key < kKeys; ++key)
      for (int f = from; f < to; ++f) roll.at(RollChannel::kPedal, key, f - first_frame) = 1.0f;
  }
  return roll;
}

PianoRoll notes_to_roll(const std::vector<Note>& notes, const std::vector<ControlChange>& controls,
                        const RollFormat& format) {
  auto grid = quantize(notes, controls, format);
  int frames = 0;
  for (const auto& n : grid) frames = std::max(frames, n.end_frame);
  if (!format.pedal_channel) return render_roll(grid, format.fs_hz, 0, frames);
  double end_s = 0;
  for (const auto& n : notes) end_s = std::max(end_s, n.end_s);
  const auto pedal = quantize_pedal(controls, end_s, format.fs_hz);
  for (const auto& p : pedal) frames = std::max(frames, p.up_frame);
  return render_roll(grid, pedal, format.fs_hz, 0, frames);
}

std::vector<GridNote> decode_roll(const PianoRoll& roll, const DecodeThresholds& thresholds) {
  std::vector<GridNote> notes;
  for (int key = 0; key < kKeys; ++key) {
    int open_at = -1;
    int open_velocity = 0;
    float open_offset = 0;
    auto close = [&](int end) {
      if (open_at >= 0) notes.push_back({open_at, end, key + kLowestPitch, open_velocity, open_offset});
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
        open_offset = std::clamp(roll.at(RollChannel::kOnsetOffset, key, f) - kNoOnsetOffset, -0.5f, 0.5f);
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

std::vector<GridPedal> decode_pedal(const PianoRoll& roll, const DecodeThresholds& thresholds) {
  std::vector<GridPedal> out;
  int down_at = -1;
  for (int f = 0; f < roll.frames(); ++f) {
    float sum = 0;
    for (int key = 0; key < kKeys; ++key) sum += roll.at(RollChannel::kPedal, key, f);
    const float mean = sum / kKeys;
    if (down_at < 0 && mean >= thresholds.pedal_down) {
      down_at = f;
    } else if (down_at >= 0 && mean < thresholds.pedal_up) {
      out.push_back({down_at, f});
      down_at = -1;
    }
  }
  if (down_at >= 0) out.push_back({down_at, roll.frames()});
  return out;
}

Note to_note(const GridNote& g, double fs_hz, double start_s) {
  return {start_s + (g.onset_frame + static_cast<double>(g.onset_offset)) / fs_hz, start_s + g.end_frame / fs_hz,
          g.pitch, g.velocity, 0};
}

std::vector<Note> roll_to_notes(const PianoRoll& roll, const DecodeThresholds& thresholds, double start_s) {
  std::vector<Note> notes;
  for (const auto& g : decode_roll(roll, thresholds)) notes.push_back(to_note(g, roll.fs_hz(), start_s));
  sort_notes(notes);
  return notes;
}

std::vector<ControlChange> pedal_to_controls(const std::vector<GridPedal>& pedal, double fs_hz, double start_s) {
  std::vector<ControlChange> out;
  for (const auto& p : pedal) {
    out.push_back({start_s + p.down_frame / fs_hz, 0, kSustainController, 127});
    out.push_back({start_s + p.up_frame / fs_hz, 0, kSustainController, 0});
  }
  return out;
}

std::string note_name(int pitch) {
  static constexpr std::array<const char*, 12> kNames = {"C",  "C#", "D",  "D#", "E",  "F",
                                                         "F#", "G",  "G#", "A",  "A#", "B"};
  const int octave = pitch / 12 - 1;
  return std::string(kNames[static_cast<std::size_t>(((pitch % 12) + 12) % 12)]) + std::to_string(octave);
}

}  // namespace scorejam
