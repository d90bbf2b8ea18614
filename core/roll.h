// The piano roll: 88 keys (MIDI 21..108) on a frame grid of fs_hz frames per second, in three
// channels: onset (1 at a note's first frame), frame (1 while the key is held) and velocity
// (velocity / 127 on every frame of the note). Layout is channel-major, then key, then frame:
// the C x 88 x T tensor the score network sees. No threads, no devices.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/notes.h"

namespace scorejam {

inline constexpr int kLowestPitch = 21;   // A0
inline constexpr int kHighestPitch = 108; // C8
inline constexpr int kKeys = 88;

enum class RollChannel : int { kOnset = 0, kFrame = 1, kVelocity = 2 };
inline constexpr int kRollChannels = 3;

struct RollFormat {
  double fs_hz = 16;          // frames per second
  bool sustain_pedal = true;  // lengthen notes held by the pedal, as the pianist heard them
  bool operator==(const RollFormat&) const = default;
};

// A note on the frame grid: the sparse form of a roll, cheap to store and to window.
struct GridNote {
  int onset_frame = 0;
  int end_frame = 0;  // exclusive; > onset_frame
  int pitch = 60;     // kLowestPitch..kHighestPitch
  int velocity = 64;  // 1..127
  bool operator==(const GridNote&) const = default;
};

class PianoRoll {
 public:
  PianoRoll() = default;
  PianoRoll(int frames, double fs_hz);

  int frames() const { return frames_; }
  double fs_hz() const { return fs_hz_; }
  double seconds() const { return frames_ / fs_hz_; }

  // key is 0..87 (pitch - kLowestPitch).
  float& at(RollChannel channel, int key, int frame);
  float at(RollChannel channel, int key, int frame) const;

  // Channel-major contiguous storage, kRollChannels * kKeys * frames() floats.
  const std::vector<float>& data() const { return data_; }
  std::vector<float>& data() { return data_; }

 private:
  std::size_t index(RollChannel channel, int key, int frame) const;
  int frames_ = 0;
  double fs_hz_ = 16;
  std::vector<float> data_;
};

// Quantises notes to the grid: onset = round(start * fs), end = max(onset + 1, round(end * fs)).
// Pitches outside the 88 keys are dropped. Applies the sustain pedal first when the format asks.
std::vector<GridNote> quantize(const std::vector<Note>& notes, const std::vector<ControlChange>& controls,
                               const RollFormat& format);

// Draws the grid notes that fall in [first_frame, first_frame + frames) into a roll of that many
// frames; a note cut by the window start has no onset inside the window.
PianoRoll render_roll(const std::vector<GridNote>& notes, double fs_hz, int first_frame, int frames);

// Convenience: the whole performance as one roll.
PianoRoll notes_to_roll(const std::vector<Note>& notes, const std::vector<ControlChange>& controls,
                        const RollFormat& format);

struct DecodeThresholds {
  float onset = 0.5f;
  float frame = 0.5f;
  bool operator==(const DecodeThresholds&) const = default;
};

// A note starts where the onset channel reaches the onset threshold on a held frame, or where the
// frame channel rises above its threshold without one; it lasts while the frame channel stays above
// its threshold and no new onset comes. Velocity is read at the note's first frame.
// Exact inverse of render_roll for notes on the grid that do not overlap on one key.
std::vector<GridNote> decode_roll(const PianoRoll& roll, const DecodeThresholds& thresholds = {});
std::vector<Note> roll_to_notes(const PianoRoll& roll, const DecodeThresholds& thresholds = {},
                                double start_s = 0);

// "C4" for 60, "F#3" for 54, "A0" for 21.
std::string note_name(int pitch);

}  // namespace scorejam
