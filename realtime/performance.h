// The recent performance on a frame grid anchored to the steady clock: the player's notes, with the
// sustain pedal applied as they arrive (the same rule as core/notes.h applies to files) or, for a
// format with a pedal channel, the pedal kept as its own spans, and the notes (and pedal) scorejam
// has committed to play. The live engine's conductor thread writes it and its
// generator thread reads windows of it, both under the engine's lock; neither is a real-time thread.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/roll.h"
#include "realtime/timed_midi.h"

namespace scorejam {

class Performance {
 public:
  Performance(std::int64_t origin_ns, double fs_hz, bool sustain_pedal);
  // The model's roll format: folds the pedal or keeps it (pedal_channel), and with onset_offsets
  // places the player's notes as quantize() does (onset = round(t * fs) and the offset kept).
  Performance(std::int64_t origin_ns, const RollFormat& format);

  std::int64_t origin_ns() const { return origin_ns_; }
  double fs_hz() const { return fs_hz_; }
  // Frame f covers [time_of(f), time_of(f + 1)).
  std::int64_t frame_at(std::int64_t time_ns) const;
  std::int64_t time_of(std::int64_t frame) const;

  // The player: note on/off (velocity 0 = off) and CC 64; other messages are ignored.
  void player_event(const TimedMidi& message);
  int keys_down() const { return keys_down_; }  // keys physically held (the pedal does not count)
  std::int64_t last_player_note_ns() const { return last_player_note_ns_; }  // last note on or off; 0 = none

  // scorejam's own notes, in absolute frames.
  void add_generated(const GridNote& note);
  // Barge-in: generated notes struck at or after `frame` are forgotten, those sounding are cut there.
  void cut_generated(std::int64_t frame);
  // Whether a generated note of `pitch` is sounding at `frame` (a new one would be cut by its note-off).
  bool generated_sounding(int pitch, std::int64_t frame) const;
  // scorejam's own pedal, in absolute frames; a span that meets the last one joins it.
  void add_generated_pedal(const GridPedal& span);
  bool generated_pedal_down(std::int64_t frame) const;

  struct Sources {
    bool player = true;
    bool generated = true;
  };
  // The notes sounding in [first_frame, first_frame + frames), relative to first_frame: onsets before
  // the window are negative, ends past it are cut. A player's note still held lasts to the window end.
  std::vector<GridNote> window(std::int64_t first_frame, int frames, Sources sources) const;
  // The pedal in the same window (pedal-channel formats; empty otherwise): the player's spans
  // (CC 64 through PedalHysteresis, placed as quantize_pedal places them) and scorejam's, joined.
  std::vector<GridPedal> pedal_window(std::int64_t first_frame, int frames, Sources sources) const;

  // Keeps memory bounded: forgets notes that ended before `frame`.
  void forget_before(std::int64_t frame);
  std::size_t size() const { return player_.size() + generated_.size(); }

 private:
  static constexpr std::int64_t kOpen = std::numeric_limits<std::int64_t>::max();
  struct TimedNote {
    std::int64_t start_ns = 0;
    std::int64_t end_ns = kOpen;  // kOpen while sounding
    int pitch = 60;
    int velocity = 64;
  };
  struct TimedSpan {
    std::int64_t down_ns = 0;
    std::int64_t up_ns = kOpen;  // kOpen while down
  };
  void end_player_note(int pitch, std::int64_t time_ns);
  std::int64_t nearest_frame(std::int64_t time_ns) const;

  std::int64_t origin_ns_;
  double fs_hz_;
  bool sustain_pedal_;
  bool pedal_channel_ = false;
  bool onset_offsets_ = false;
  std::vector<TimedSpan> player_pedal_;             // pedal_channel_ only
  std::array<PedalHysteresis, 16> pedal_channels_{};
  int pedal_channels_down_ = 0;
  std::vector<GridPedal> generated_pedal_;          // absolute frames, sorted, disjoint
  std::vector<TimedNote> player_;
  std::vector<GridNote> generated_;                // absolute frames
  std::array<int, 128> sounding_{};                // index+1 into player_ of the open note per pitch; 0 = none
  std::array<bool, 128> key_down_{};
  std::array<bool, 128> held_by_pedal_{};
  bool pedal_down_ = false;
  int keys_down_ = 0;
  std::int64_t last_player_note_ns_ = 0;
};

}  // namespace scorejam
