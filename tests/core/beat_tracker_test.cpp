#include "core/beat_tracker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <random>

// Counts every allocation of this test program (the replacement is global but only counts).
namespace {
std::atomic<std::size_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// The nothrow form too (std::stable_sort's temporary buffer takes it): every form that pairs with
// the deletes below must come from malloc, or AddressSanitizer reports an alloc-dealloc mismatch.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  ++g_allocations;
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace scorejam {
namespace {

// A pianist's steady pulse: a bass note on each beat, softer eighths above, from `from_s` for
// `beats` beats at `bpm`, onsets jittered by a few ms as a person plays.
std::vector<Note> pulse_notes(double bpm, double from_s, int beats, std::uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> jitter(0.0, 0.005);
  const double period = 60.0 / bpm;
  std::vector<Note> notes;
  for (int i = 0; i < beats; ++i) {
    const double beat = from_s + i * period;
    notes.push_back({beat + jitter(rng), beat + period, 40, 90, 0});
    notes.push_back({beat + jitter(rng), beat + period / 2, 67, 60, 0});
    notes.push_back({beat + period / 2 + jitter(rng), beat + period, 71, 50, 0});
  }
  return notes;
}

std::vector<double> grid(double bpm, double from_s, int beats) {
  std::vector<double> out;
  for (int i = 0; i < beats; ++i) out.push_back(from_s + i * 60.0 / bpm);
  return out;
}

TEST(BeatFMeasure, MatchesWithin70MsAfterTheFirstFiveSeconds) {
  const std::vector<double> reference{1.0, 6.0, 7.0, 8.0, 9.0};
  // 1.0 and 2.0 fall in the skipped 5 s; 7.1 is 100 ms off; 8.5 matches nothing.
  const std::vector<double> estimated{2.0, 6.05, 7.1, 8.0, 8.5, 9.0};
  const auto s = beat_f_measure(reference, estimated);
  EXPECT_EQ(s.reference, 4u);
  EXPECT_EQ(s.estimated, 5u);
  EXPECT_EQ(s.matched, 3u);
  EXPECT_DOUBLE_EQ(s.precision, 3.0 / 5);
  EXPECT_DOUBLE_EQ(s.recall, 3.0 / 4);
  EXPECT_NEAR(s.f_measure, 2 * 0.6 * 0.75 / 1.35, 1e-12);
}

TEST(BeatFMeasure, MatchesEachAnnotatedBeatOnce) {
  const auto s = beat_f_measure({6.0, 7.0}, {5.97, 6.03, 7.0});
  EXPECT_EQ(s.matched, 2u);
  EXPECT_DOUBLE_EQ(s.recall, 1.0);
  EXPECT_DOUBLE_EQ(s.precision, 2.0 / 3);
}

TEST(BeatFMeasure, FindsTheMaximumMatchingWhereTheNearestPairingWouldLoseOne) {
  // 6.06 is nearer to 6.1 than 6.0 is, but pairing them would leave 6.0 alone.
  const auto s = beat_f_measure({6.0, 6.1}, {6.06, 6.16});
  EXPECT_EQ(s.matched, 2u);
}

TEST(BeatFMeasure, IsZeroWhenEitherSideIsEmpty) {
  EXPECT_EQ(beat_f_measure({}, {6.0}).f_measure, 0.0);
  EXPECT_EQ(beat_f_measure({6.0}, {}).f_measure, 0.0);
  EXPECT_EQ(beat_f_measure({6.0}, {1.0, 2.0}).f_measure, 0.0);  // every estimate in the first 5 s
  EXPECT_DOUBLE_EQ(beat_f_measure({6.0, 7.0}, {6.0, 7.0}).f_measure, 1.0);
}

TEST(BeatTracker, FindsTheBeatsOfASteadyPulse) {
  for (double bpm : {72.0, 100.0, 132.0}) {
    const auto found = track_beats(pulse_notes(bpm, 1.0, static_cast<int>(bpm / 2)));  // 30 s
    const auto s = beat_f_measure(grid(bpm, 1.0, static_cast<int>(bpm / 2)), found);
    EXPECT_GT(s.f_measure, 0.95) << bpm << " bpm: " << s.matched << " of " << s.reference << ", " << s.estimated
                                 << " found";
  }
}

TEST(BeatTracker, EstimatesTheTempo) {
  BeatTracker tracker;
  for (const auto& n : pulse_notes(96, 0.5, 40)) tracker.add_onset(n.start_s, n.velocity, n.pitch);
  EXPECT_NEAR(tracker.bpm(), 96, 2);
  EXPECT_NEAR(tracker.period_s(), 0.625, 0.015);
}

TEST(BeatTracker, FollowsATempoChange) {
  auto notes = pulse_notes(90, 1.0, 30);                      // 1 .. 21 s
  const auto faster = pulse_notes(120, 1.0 + 30 * 60.0 / 90, 40);  // then 20 s at 120
  notes.insert(notes.end(), faster.begin(), faster.end());
  BeatTracker tracker;
  for (const auto& n : notes) tracker.add_onset(n.start_s, n.velocity, n.pitch);
  EXPECT_NEAR(tracker.bpm(), 120, 3);
}

TEST(BeatTracker, PredictsTheComingBeats) {
  const double bpm = 108, period = 60 / bpm;
  BeatTracker tracker;
  for (const auto& n : pulse_notes(bpm, 1.0, 40)) tracker.add_onset(n.start_s, n.velocity, n.pitch);
  const double now = 1.0 + 40 * period - 0.1;  // just before the 41st beat would come
  tracker.advance(now);
  const auto ahead = tracker.predict(now, now + 4);
  ASSERT_GE(ahead.size(), 6u);
  for (std::size_t k = 0; k < ahead.size(); ++k) {
    const double expected = 1.0 + (40 + static_cast<double>(k)) * period;
    EXPECT_NEAR(ahead[k], expected, 0.03) << "beat " << k << " ahead";
  }
}

TEST(BeatTracker, PredictsNothingBeforeItHasHeardEnough) {
  BeatTracker tracker;
  EXPECT_TRUE(tracker.predict(0, 10).empty());
  for (const auto& n : pulse_notes(120, 0.0, 3)) tracker.add_onset(n.start_s, n.velocity, n.pitch);  // 1.5 s
  EXPECT_EQ(tracker.bpm(), 0.0);
  EXPECT_TRUE(tracker.predict(1.5, 5).empty());
  EXPECT_EQ(tracker.beats_found(), 0u);
}

TEST(BeatTracker, GoesOnFindingBeatsThroughARest) {
  const double bpm = 120;
  BeatTracker tracker;
  for (const auto& n : pulse_notes(bpm, 1.0, 40)) tracker.add_onset(n.start_s, n.velocity, n.pitch);  // to 21 s
  const auto before = tracker.beats_found();
  tracker.advance(24.0);
  const auto beats = tracker.beats();
  EXPECT_GE(tracker.beats_found() - before, 5u);
  for (std::size_t i = beats.size() - 4; i < beats.size(); ++i) EXPECT_NEAR(beats[i] - beats[i - 1], 0.5, 0.02);
}

TEST(BeatTracker, KeepsOnlyARecentWindowOfBeatsOverAnHour) {
  BeatTracker tracker;
  for (const auto& n : pulse_notes(120, 0.0, 7200)) tracker.add_onset(n.start_s, n.velocity, n.pitch);
  EXPECT_GT(tracker.beats_found(), 7000u);
  const auto beats = tracker.beats();
  EXPECT_LE(beats.size(), 17u);  // 8 s of beats at 120 bpm
  EXPECT_GT(beats.front(), 3600.0 - 8.5);
}

TEST(BeatTracker, AddsOnsetsAndFindsBeatsWithoutAllocating) {
  const auto notes = pulse_notes(110, 0.5, 120);
  BeatTracker tracker;
  const auto before = g_allocations.load();
  for (const auto& n : notes) tracker.add_onset(n.start_s, n.velocity, n.pitch);
  tracker.advance(notes.back().start_s + 5);  // and through a rest
  EXPECT_EQ(g_allocations.load(), before);
  EXPECT_GT(tracker.beats_found(), 100u);  // it did its work meanwhile
}

TEST(BeatTracker, ResetForgetsWhatItHeard) {
  BeatTracker tracker;
  for (const auto& n : pulse_notes(120, 0.0, 20)) tracker.add_onset(n.start_s, n.velocity, n.pitch);
  ASSERT_GT(tracker.beats_found(), 0u);
  tracker.reset();
  EXPECT_EQ(tracker.beats_found(), 0u);
  EXPECT_EQ(tracker.bpm(), 0.0);
  EXPECT_TRUE(tracker.beats().empty());
}

TEST(BeatTracker, RejectsAHistoryTooShortForTheSlowestTempo) {
  BeatTrackerConfig config;
  config.history_s = 2;
  try {
    BeatTracker tracker(config);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("history_s"), std::string::npos) << e.what();
  }
}

TEST(PredictBeatsAhead, ExtendsASteadyPulse) {
  const auto notes = pulse_notes(100, 1.0, 50);
  const auto predicted = predict_beats_ahead(notes, 2.0);
  EXPECT_GT(beat_f_measure(grid(100, 1.0, 50), predicted).f_measure, 0.95);
}

}  // namespace
}  // namespace scorejam
