// Notes and controller events in seconds: the form every other part of scorejam speaks.
// Owns the sustain-pedal rule shared by training and live input.
#pragma once

#include <cstdint>
#include <vector>

namespace scorejam {

struct Note {
  double start_s = 0;
  double end_s = 0;
  int pitch = 60;      // MIDI note number 0..127
  int velocity = 64;   // 1..127
  int channel = 0;     // 0..15
  bool operator==(const Note&) const = default;
};

struct ControlChange {
  double time_s = 0;
  int channel = 0;
  int controller = 0;  // 0..127; 64 is the sustain pedal
  int value = 0;       // 0..127
  bool operator==(const ControlChange&) const = default;
};

inline constexpr int kSustainController = 64;
inline constexpr int kPedalDownThreshold = 64;  // pedal is down at value >= 64

// Sorts by start time, then pitch, then end time: the order used by every reader and test.
void sort_notes(std::vector<Note>& notes);

// Lengthens notes held by the sustain pedal (CC 64 >= 64 on the note's channel): a note released
// while the pedal is down lasts until the pedal is lifted or the same pitch is struck again on that
// channel, whichever comes first (Magenta note-seq's rule). Returns the notes sorted.
std::vector<Note> apply_sustain(std::vector<Note> notes, const std::vector<ControlChange>& controls);

// The notes of `notes` that sound in [start_s, end_s), cut to it and shifted to start at 0.
std::vector<Note> notes_between(const std::vector<Note>& notes, double start_s, double end_s);

}  // namespace scorejam
