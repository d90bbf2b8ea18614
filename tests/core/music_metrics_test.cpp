#include "core/music_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace scorejam {
namespace {

Note note(double start, double end, int pitch) { return {start, end, pitch, 64, 0}; }

TEST(PitchClassHistogram, CountsOnsetsPerPitchClassAcrossOctaves) {
  auto h = pitch_class_histogram({note(0, 1, 60), note(1, 2, 72), note(2, 3, 67), note(3, 4, 48)});
  EXPECT_DOUBLE_EQ(h[0], 0.75);  // three Cs in three octaves
  EXPECT_DOUBLE_EQ(h[7], 0.25);
  EXPECT_DOUBLE_EQ(pitch_class_histogram({})[0], 0.0);
}

TEST(PitchClassDistance, IsTotalVariationWithEmptyHistogramsAtTheEdges) {
  const auto c_major = pitch_class_histogram({note(0, 1, 60), note(0, 1, 64), note(0, 1, 67)});
  const auto c_minor = pitch_class_histogram({note(0, 1, 60), note(0, 1, 63), note(0, 1, 67)});
  const auto f_sharp = pitch_class_histogram({note(0, 1, 66)});
  EXPECT_DOUBLE_EQ(pitch_class_distance(c_major, c_major), 0.0);
  EXPECT_NEAR(pitch_class_distance(c_major, c_minor), 1.0 / 3, 1e-12);  // one of three notes moved
  EXPECT_DOUBLE_EQ(pitch_class_distance(c_major, f_sharp), 1.0);
  EXPECT_DOUBLE_EQ(pitch_class_distance(c_major, {}), 1.0);
  EXPECT_DOUBLE_EQ(pitch_class_distance({}, {}), 0.0);
}

TEST(PitchClassEntropy, IsZeroForOneClassAndLog2TwelveForAll) {
  EXPECT_DOUBLE_EQ(pitch_class_entropy(pitch_class_histogram({note(0, 1, 60), note(1, 2, 72)})), 0.0);
  std::vector<Note> chromatic;
  for (int p = 60; p < 72; ++p) chromatic.push_back(note(0, 1, p));
  EXPECT_NEAR(pitch_class_entropy(pitch_class_histogram(chromatic)), std::log2(12.0), 1e-12);
}

TEST(NoteMeasures, DensityRangeAndPolyphony) {
  const std::vector<Note> notes{note(0, 2, 40), note(0, 1, 64), note(1, 2, 76)};
  EXPECT_DOUBLE_EQ(note_density(notes, 2.0), 1.5);
  EXPECT_EQ(pitch_range(notes), 36);
  EXPECT_EQ(pitch_range({}), 0);
  EXPECT_NEAR(mean_polyphony(notes, 4.0, 0.5), 2.0 * 2 / 4, 1e-12);  // two notes for 2 s of 4
}

TEST(OnsetOverlap, MatchesSamePitchWithinTheTolerance) {
  const std::vector<Note> a{note(0, 1, 60), note(1, 2, 62), note(2, 3, 64), note(3, 4, 65)};
  const std::vector<Note> b{note(0.05, 1, 60), note(1, 2, 63), note(2.5, 3, 64)};
  EXPECT_DOUBLE_EQ(onset_overlap(a, b, 0.0625), 0.25);
  EXPECT_DOUBLE_EQ(onset_overlap(a, a, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(onset_overlap({}, a, 0.1), 0.0);
}

TEST(PromptCopyShare, CountsFragmentsCopiedUnderOneShift) {
  const std::vector<Note> prompt{note(0, 0.5, 60), note(0.5, 1, 62), note(1, 1.5, 64), note(1.5, 2, 65)};
  std::vector<Note> copy;
  for (auto n : prompt) copy.push_back({n.start_s + 1, n.end_s + 1, n.pitch, 64, 0});  // 2 s prompt, replayed 1 s after its end
  EXPECT_DOUBLE_EQ(prompt_copy_share(copy, prompt, 2.0), 1.0);
  copy.push_back(note(3, 3.5, 90));
  EXPECT_DOUBLE_EQ(prompt_copy_share(copy, prompt, 2.0), 0.8);
  // Three notes in the prompt's pitches but each under its own shift: no fragment.
  EXPECT_DOUBLE_EQ(prompt_copy_share({note(0, 1, 60), note(0.3, 1, 62), note(1.7, 2, 64)}, prompt, 2.0), 0.0);
}

TEST(GaussianOverlap, IsOneForEqualAndFallsWithDistance) {
  EXPECT_NEAR(gaussian_overlap(60, 3, 60, 3), 1.0, 1e-3);
  // Equal stds, means d apart: 2 Phi(-d / 2s).
  EXPECT_NEAR(gaussian_overlap(60, 2, 62, 2), 2 * 0.5 * std::erfc(0.5 / std::sqrt(2.0)), 1e-3);
  EXPECT_LT(gaussian_overlap(40, 1, 80, 1), 1e-6);
}

TEST(FrameOverlaps, ComparesAdjacentFramesWithNotes) {
  std::vector<Note> notes{note(0.1, 0.5, 60), note(0.5, 1, 64), note(2.1, 2.5, 60), note(2.5, 3, 64), note(6.2, 7, 90)};
  const auto pitch = frame_overlaps(notes, 8, 2, NoteFeature::kPitch);
  ASSERT_EQ(pitch.size(), 1u);  // frames 0 and 1 alike; frame 2 is empty, so neither 1-2 nor 2-3 counts
  EXPECT_NEAR(pitch[0], 1.0, 1e-3);
  const auto m = overlap_measures({0.5, 0.7}, {0.6, 0.6, 0.6, 0.8});
  EXPECT_NEAR(m.consistency, 1 - std::abs(0.6 - 0.65) / 0.65, 1e-12);
  EXPECT_NEAR(m.variance, 1 - std::abs(0.01 - 0.0075) / 0.0075, 1e-9);
}

TEST(NoteDistributions, IoisDurationsAndVelocitiesAreCompared) {
  // a chord of two then single notes, 0.5 s apart, each 0.25 s long
  const std::vector<Note> notes{{0.0, 0.25, 60, 64}, {0.0, 0.25, 64, 80}, {0.5, 0.75, 67, 100}, {1.0, 1.25, 72, 20}};
  EXPECT_EQ(note_feature_values(notes, NoteDistribution::kIoi), (std::vector<double>{0.0, 0.5, 0.5}));
  EXPECT_EQ(note_feature_values(notes, NoteDistribution::kDuration), (std::vector<double>(4, 0.25)));
  EXPECT_EQ(note_feature_values(notes, NoteDistribution::kVelocity), (std::vector<double>{64, 80, 100, 20}));
  EXPECT_TRUE(note_feature_values({notes[0]}, NoteDistribution::kIoi).empty());
  const std::vector<double> edges{0, 1, 2, 3};
  EXPECT_DOUBLE_EQ(histogram_overlap({0.5, 1.5}, {0.5, 1.5}, edges), 1.0);
  EXPECT_DOUBLE_EQ(histogram_overlap({0.5, 0.5}, {2.5, 2.5}, edges), 0.0);
  EXPECT_DOUBLE_EQ(histogram_overlap({0.5, 1.5}, {0.5, 2.5}, edges), 0.5);
  EXPECT_DOUBLE_EQ(histogram_overlap({-5, 9}, {0.5, 2.5}, edges), 1.0);  // beyond the edges: the end bins
  EXPECT_DOUBLE_EQ(histogram_overlap({}, {0.5}, edges), 0.0);
  EXPECT_DOUBLE_EQ(histogram_overlap(note_feature_values(notes, NoteDistribution::kVelocity), {70, 70},
                                     note_feature_edges(NoteDistribution::kVelocity)),
                   0.25);  // one of four velocities in the band 64..80
}

TEST(DensityOverTime, CountsOnsetsPerBinAveragedOverContinuations) {
  const std::vector<std::vector<Note>> continuations{
      {{0.1, 0.2, 60, 64}, {0.2, 0.3, 62, 64}, {1.5, 1.6, 64, 64}},
      {{0.4, 0.5, 60, 64}, {2.5, 2.6, 60, 64} /* beyond the 2 s: not counted */}};
  EXPECT_EQ(density_over_time(continuations, 2.0, 0.5), (std::vector<double>{3.0, 0.0, 0.0, 1.0}));
  EXPECT_EQ(density_over_time({}, 2.0, 0.5), (std::vector<double>(4, 0.0)));
}

// At a seam at 4 s (frames of 1/16 s): C4 held across it goes on (held, not struck again); E4 is cut
// at the seam and struck again a frame later (restruck); G4 stops at the seam with no new note (held
// only); A4 is cut and struck again, but 0.5 s later (held only); D4 ended before the seam and C5
// begins on it (neither).
TEST(HeldAcross, CountsNotesCutAtASeamAndStruckAgain) {
  const double f = 1.0 / 16;
  const std::vector<Note> notes{
      {3.0, 5.0, 60, 64}, {3.5, 4.0, 64, 64}, {4.0 + f, 4.5, 64, 64}, {3.2, 4.0 + f, 67, 64},
      {3.1, 4.0, 69, 64}, {4.5, 5.0, 69, 64}, {3.0, 3.9, 62, 64},    {4.0, 4.5, 72, 64}};
  const auto r = held_across(notes, 4.0, f);
  EXPECT_EQ(r.held, 4u);
  EXPECT_EQ(r.restruck, 1u);
  EXPECT_EQ(held_across({}, 4.0, f).held, 0u);
}

TEST(RegisterOverlap, IsOneForTheSameKeysAndFallsWithDistance) {
  const std::vector<Note> prompt{note(0, 1, 48), note(0, 1, 52)};
  EXPECT_NEAR(register_overlap(prompt, prompt), 1.0, 1e-12);
  // One note 13 keys above another shares nothing within +-6; 6 above shares 7 of 13 keys.
  EXPECT_DOUBLE_EQ(register_overlap({note(0, 1, 60)}, {note(0, 1, 73)}), 0.0);
  EXPECT_NEAR(register_overlap({note(0, 1, 60)}, {note(0, 1, 66)}), 7.0 / 13, 1e-12);
  EXPECT_NEAR(register_overlap({note(0, 1, 60)}, {note(0, 1, 66)}, 0), 0.0, 1e-12);
  // The same keys in another octave are another register.
  EXPECT_LT(register_overlap({note(0, 1, 84), note(0, 1, 88)}, prompt), 0.01);
  EXPECT_DOUBLE_EQ(register_overlap({}, prompt), 0.0);
  EXPECT_DOUBLE_EQ(register_overlap(prompt, {}), 0.0);
}

// Staying in the prompt's register scores above zero; the register of another prompt below; one
// between the two prompts nothing.
TEST(RegisterListening, IsTheOverlapWithItsOwnPromptMinusTheOthers) {
  const std::vector<std::vector<Note>> prompts{{note(0, 1, 40)}, {note(0, 1, 80)}, {}};
  EXPECT_NEAR(register_listening({note(0, 1, 40)}, prompts, 0), 1.0, 1e-12);   // others: the empty one skipped
  EXPECT_NEAR(register_listening({note(0, 1, 80)}, prompts, 0), -1.0, 1e-12);
  EXPECT_NEAR(register_listening({note(0, 1, 60)}, prompts, 0), 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(register_listening({}, prompts, 0), 0.0);
  EXPECT_DOUBLE_EQ(register_listening({note(0, 1, 40)}, prompts, 2), 0.0);  // its prompt has no notes
}

TEST(RegisterListening, OverTimeAveragesTheContinuationsThatPlayInEachBin) {
  const std::vector<std::vector<Note>> prompts{{note(0, 1, 40)}, {note(0, 1, 80)}, {}};
  const std::vector<std::vector<Note>> continuations{
      {note(0.2, 0.4, 40), note(1.5, 1.6, 80)},  // its prompt's key (1), then the other's (-1)
      {note(0.5, 0.6, 60)},                      // between the two (0), nothing in the second bin
      {note(0.1, 0.2, 90)}};                     // no prompt notes: left out
  const auto over_time = register_listening_over_time(continuations, prompts, 2.0, 1.0);
  ASSERT_EQ(over_time.size(), 2u);
  EXPECT_NEAR(over_time[0], 0.5, 1e-12);
  EXPECT_NEAR(over_time[1], -1.0, 1e-12);
  EXPECT_THROW(register_listening_over_time(continuations, {}, 2.0, 1.0), std::invalid_argument);
}

TEST(MeanInterval, IsTheNormalApproximation) {
  const auto r = mean_interval({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(r.mean, 2.5);
  EXPECT_NEAR(r.half_width, 1.96 * std::sqrt(5.0 / 3) / 2, 1e-12);
  EXPECT_EQ(mean_interval({7}).half_width, 0.0);
  EXPECT_EQ(mean_interval({}).n, 0u);
}

// Beats of changing length, as a pianist bends the tempo.
std::vector<double> bent_beats() {
  std::vector<double> beats{1.0};
  for (int i = 0; i < 40; ++i) beats.push_back(beats.back() + 0.4 + 0.2 * std::sin(i * 0.7));
  return beats;
}

// Onsets at `offset` + k/4 of each beat (offset in beats).
std::vector<double> onsets_in_beats(const std::vector<double>& beats, double offset) {
  std::vector<double> onsets;
  for (std::size_t i = 0; i + 1 < beats.size(); ++i)
    for (int k = 0; k < 4; ++k) onsets.push_back(beats[i] + (k + offset) / 4 * (beats[i + 1] - beats[i]));
  return onsets;
}

TEST(SixteenthPulse, IsOneForOnsetsOnTheSixteenthsOfBentBeats) {
  const auto beats = bent_beats();
  const auto pulse = sixteenth_pulse(onsets_in_beats(beats, 0.0), beats);
  EXPECT_NEAR(pulse.pulse, 1.0, 1e-9);
  EXPECT_EQ(pulse.onsets, 4 * (beats.size() - 1));
}

TEST(SixteenthPulse, IsMinusOneForOnsetsOnThe32ndOffbeats) {
  const auto beats = bent_beats();
  EXPECT_NEAR(sixteenth_pulse(onsets_in_beats(beats, 0.5), beats).pulse, -1.0, 1e-9);
}

TEST(SixteenthPulse, IsNearZeroForOnsetsInFreeTime) {
  const auto beats = bent_beats();
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> at(beats.front(), beats.back());
  std::vector<double> onsets(20000);
  for (auto& t : onsets) t = at(rng);
  const auto pulse = sixteenth_pulse(onsets, beats);
  EXPECT_EQ(pulse.onsets, onsets.size());
  EXPECT_NEAR(pulse.pulse, 0.0, 0.03);  // the mean of 20,000 cosines: standard error 0.005
}

TEST(SixteenthPulse, CountsOnlyOnsetsWithinTheBeats) {
  const std::vector<double> beats{1.0, 2.0, 3.0};
  // 0.5 and 3.5 lie outside; 1.125 is a 32nd offbeat, 3.0 the last beat itself.
  const auto pulse = sixteenth_pulse(std::vector<double>{0.5, 1.125, 3.0, 3.5}, beats);
  EXPECT_EQ(pulse.onsets, 2u);
  EXPECT_NEAR(pulse.pulse, 0.0, 1e-9);
}

TEST(SixteenthPulse, IsZeroWithoutTwoBeats) {
  EXPECT_EQ(sixteenth_pulse(std::vector<double>{1.0, 2.0}, {}).pulse, 0.0);
  EXPECT_EQ(sixteenth_pulse(std::vector<double>{1.0, 2.0}, {1.0}).onsets, 0u);
}

TEST(SixteenthPulse, ReadsNoteOnsets) {
  const std::vector<double> beats{0.0, 1.0};
  EXPECT_NEAR(sixteenth_pulse(std::vector<Note>{note(0.25, 1, 60), note(0.125, 1, 62)}, beats).pulse, 0.0, 1e-9);
}

}  // namespace
}  // namespace scorejam
