// The piano roll: 88 keys (MIDI 21..108) on a frame grid of fs_hz frames per second, in up to five
// channels, always in this order: onset (1 at a note's first frame), frame (1 while the key is held),
// velocity (velocity / 127 on every frame of the note), then, when the RollFormat asks for them,
// pedal (every key's row holds the sustain pedal, 1 down / 0 up, so each convolution sees it) and
// onset offset (on a note's onset frame, where in the frame it was struck: offset + 0.5 with the
// offset in frames in [-0.5, 0.5]; 0.5, no offset, everywhere else). Layout is channel-major, then
// key, then frame: the C x 88 x T tensor the score network sees. No threads, no devices.
#pragma once

#include <cstdint>

#include <cstddef>
#include <string>
#include <vector>

#include "core/notes.h"

namespace scorejam {

inline constexpr int kLowestPitch = 21;   // A0
inline constexpr int kHighestPitch = 108; // C8
inline constexpr int kKeys = 88;

// A PianoRoll stores all five channels; a format's tensor holds the ones it asks for.
enum class RollChannel : int { kOnset = 0, kFrame = 1, kVelocity = 2, kPedal = 3, kOnsetOffset = 4 };
inline constexpr int kRollChannels = 5;
inline constexpr float kNoOnsetOffset = 0.5f;  // the onset-offset channel's value for "on the frame"

struct RollFormat {
  double fs_hz = 16;          // frames per second
  bool sustain_pedal = true;  // lengthen notes held by the pedal, as the pianist heard them
  // The pedal as music: its own channel, and notes as long as their keys are down (needs
  // sustain_pedal = false: the pedal is played back, not folded in twice).
  bool pedal_channel = false;
  // Each onset's place within its frame, so decoded notes start at their exact times.
  bool onset_offsets = false;
  bool operator==(const RollFormat&) const = default;
};

// The format's channels: 3, plus one for the pedal, plus one for onset offsets.
int roll_channels(const RollFormat& format);
// The roll channel that model channel i holds, for a model of `channels` channels of this format
// (1 = frame only, 2 = onset and frame, 3.. = the format's order). Throws std::invalid_argument
// when `channels` does not fit the format.
std::vector<RollChannel> model_channels(const RollFormat& format, int channels);
// What is wrong with a format (naming its [roll] key), or "".
std::string format_problem(const RollFormat& format);

// A note on the frame grid: the sparse form of a roll, cheap to store and to window.
struct GridNote {
  int onset_frame = 0;
  int end_frame = 0;  // exclusive; > onset_frame
  int pitch = 60;     // kLowestPitch..kHighestPitch
  int velocity = 64;  // 1..127
  // Where the key was struck relative to onset_frame, in frames, in [-0.5, 0.5]: the note starts at
  // (onset_frame + onset_offset) / fs. 0 unless the format keeps onset offsets.
  float onset_offset = 0;
  bool operator==(const GridNote&) const = default;
};

// The sustain pedal on the frame grid: down over [down_frame, up_frame).
struct GridPedal {
  int down_frame = 0;
  int up_frame = 0;  // exclusive; > down_frame
  bool operator==(const GridPedal&) const = default;
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

// The one frame rounding, of files (quantize) and of the live performance (realtime/performance)
// alike: a note's onset and end go to the nearest frame, and it lasts at least one frame; `offset`
// is where in its onset frame the key went down (start - onset, -0.5..0.5). In frames.
struct NoteFrames {
  std::int64_t onset = 0, end = 0;
  float offset = 0;
};
NoteFrames note_frames(double start_frames, double end_frames);

// Quantises notes to the grid: onset = round(start * fs), end = max(onset + 1, round(end * fs)).
// Pitches outside the 88 keys are dropped. Applies the sustain pedal first when the format asks;
// keeps start * fs - onset as the onset offset when the format asks.
std::vector<GridNote> quantize(const std::vector<Note>& notes, const std::vector<ControlChange>& controls,
                               const RollFormat& format);

// The sustain pedal (core/notes.h: pedal_spans, with its hysteresis) on the grid: each span from
// round(down * fs) to round(up * fs); spans that vanish are dropped, spans that meet are joined.
// A pedal still down at the end lasts to `end_s`.
std::vector<GridPedal> quantize_pedal(const std::vector<ControlChange>& controls, double end_s, double fs_hz);

// Draws the grid notes that fall in [first_frame, first_frame + frames) into a roll of that many
// frames; a note cut by the window start has no onset inside the window.
PianoRoll render_roll(const std::vector<GridNote>& notes, double fs_hz, int first_frame, int frames);
// The same with the pedal drawn into its channel.
PianoRoll render_roll(const std::vector<GridNote>& notes, const std::vector<GridPedal>& pedal, double fs_hz,
                      int first_frame, int frames);

// Convenience: the whole performance as one roll.
PianoRoll notes_to_roll(const std::vector<Note>& notes, const std::vector<ControlChange>& controls,
                        const RollFormat& format);

struct DecodeThresholds {
  float onset = 0.5f;
  float frame = 0.5f;
  // The pedal goes down where the pedal channel's mean over the keys reaches pedal_down and up
  // where it falls below pedal_up: the gap keeps a sampled roll's flicker from chattering.
  float pedal_down = 0.5f;
  float pedal_up = 0.35f;
  bool operator==(const DecodeThresholds&) const = default;
};

// A note starts where the onset channel reaches the onset threshold on a held frame, or where the
// frame channel rises above its threshold without one; it lasts while the frame channel stays above
// its threshold and no new onset comes. Velocity is read at the note's first frame.
// The onset offset is read at the note's first frame. Exact inverse of render_roll for notes on
// the grid that do not overlap on one key.
std::vector<GridNote> decode_roll(const PianoRoll& roll, const DecodeThresholds& thresholds = {});
// The pedal channel's spans; exact inverse of render_roll's pedal.
std::vector<GridPedal> decode_pedal(const PianoRoll& roll, const DecodeThresholds& thresholds = {});
// Notes in seconds: a note starts at (onset_frame + onset_offset) / fs.
Note to_note(const GridNote& note, double fs_hz, double start_s = 0);
std::vector<Note> roll_to_notes(const PianoRoll& roll, const DecodeThresholds& thresholds = {},
                                double start_s = 0);
// The pedal as CC 64 on channel 0: 127 at each down, 0 at each up, at start_s + frame / fs.
std::vector<ControlChange> pedal_to_controls(const std::vector<GridPedal>& pedal, double fs_hz, double start_s = 0);

// "C4" for 60, "F#3" for 54, "A0" for 21.
std::string note_name(int pitch);

}  // namespace scorejam
