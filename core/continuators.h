// Baseline continuators that a fair judge of a generative model asks for: random notes with the
// data's statistics, and a Markov continuator in the spirit of Pachet's Continuator ("The
// Continuator: musical interaction with style", Journal of New Music Research 32(3), 2003).
// Plain C++ over notes; seeded; no threads.
#pragma once

#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include "core/notes.h"

namespace scorejam {

// What random notes are drawn from: the note rate and the notes of a corpus, whole.
struct NoteStatistics {
  double notes_per_s = 0;
  std::vector<Note> notes;  // pitch, duration and velocity are drawn together from one of these
};
// `seconds`: the corpus' total length. Keeps at most `max_notes` notes, evenly spaced through it.
NoteStatistics note_statistics(const std::vector<std::vector<Note>>& corpus, double seconds,
                               std::size_t max_notes = 200'000);

// Onsets of a Poisson process at the corpus' rate over [0, seconds); each note's pitch, duration
// and velocity those of a corpus note drawn at random. Durations are cut at `seconds`.
std::vector<Note> random_continuation(const NoteStatistics& stats, double seconds, std::mt19937_64& rng);

// A variable-order Markov model of the melody-and-chord stream: the notes in onset order, each
// state the last 1..max_order pitches. What follows a context is a note remembered whole: its
// pitch, its time after the previous onset (chords: ~0), its duration and its velocity, so the
// rhythm comes from what was learned as in the Continuator. Generation uses the longest context
// seen in learning, backing off to shorter ones, and to any note remembered when none matches.
class MarkovContinuator {
 public:
  explicit MarkovContinuator(int max_order = 3);

  // Adds a note stream (any order; sorted by onset here). Streams are not joined to each other.
  void learn(const std::vector<Note>& notes);
  std::size_t remembered() const { return events_.size(); }

  // Continues `prompt` (times from 0 to prompt_seconds) over [0, seconds) after its end: times of
  // the result from 0. Empty when nothing was learned.
  std::vector<Note> continue_from(const std::vector<Note>& prompt, double prompt_seconds, double seconds,
                                  std::mt19937_64& rng) const;

 private:
  struct Event {
    std::uint8_t pitch;
    std::uint8_t velocity;
    float ioi_s;  // after the previous onset
    float duration_s;
  };
  static std::uint32_t key(const std::vector<int>& history, int order);
  int max_order_;
  std::vector<Event> events_;
  std::unordered_map<std::uint32_t, std::vector<std::uint32_t>> next_;  // context -> event indices
};

}  // namespace scorejam
