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
// The pedal as music (RollFormat::pedal_channel) goes up only below this: a continuous pedal's
// sensor wavers by a few values around 64 while the foot rests, and each crossing would otherwise
// be a lift. 0/127 switch pedals are not affected.
inline constexpr int kPedalUpThreshold = 56;

// One channel's sustain pedal with that hysteresis: down at >= kPedalDownThreshold, up at
// < kPedalUpThreshold. Files and the live input use this one rule.
struct PedalHysteresis {
  bool down = false;
  // Takes a CC 64 value; returns true when the pedal changed.
  bool update(int value) {
    const bool next = down ? value >= kPedalUpThreshold : value >= kPedalDownThreshold;
    const bool changed = next != down;
    down = next;
    return changed;
  }
};

struct PedalInterval {
  double down_s = 0;
  double up_s = 0;
  bool operator==(const PedalInterval&) const = default;
};

// Sorts by start time, then pitch, then end time: the order used by every reader and test.
void sort_notes(std::vector<Note>& notes);

// Lengthens notes held by the sustain pedal (CC 64 >= 64 on the note's channel): a note released
// while the pedal is down lasts until the pedal is lifted or the same pitch is struck again on that
// channel, whichever comes first (Magenta note-seq's rule). Returns the notes sorted.
std::vector<Note> apply_sustain(std::vector<Note> notes, const std::vector<ControlChange>& controls);

// The notes of `notes` that sound in [start_s, end_s), cut to it and shifted to start at 0.
std::vector<Note> notes_between(const std::vector<Note>& notes, double start_s, double end_s);

// When the sustain pedal is down (PedalHysteresis, on any channel: one piano), as sorted,
// disjoint intervals; a pedal still down at the end lasts until `end_s`.
std::vector<PedalInterval> sustain_intervals(const std::vector<ControlChange>& controls, double end_s);

// The controllers of [start_s, end_s), shifted to start at 0, each (channel, controller) first set
// at 0 to the value it had at start_s (so a pedal held into the excerpt is down in it).
std::vector<ControlChange> controls_between(const std::vector<ControlChange>& controls, double start_s, double end_s);

}  // namespace scorejam
