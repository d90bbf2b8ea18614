#include "core/notes.h"

#include <gtest/gtest.h>

namespace scorejam {
namespace {

constexpr int kDown = 127, kUp = 0;

TEST(Sustain, NoteReleasedUnderPedalLastsUntilPedalUp) {
  auto out = apply_sustain({{0.0, 1.0, 60, 80, 0}}, {{0.5, 0, 64, kDown}, {3.0, 0, 64, kUp}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_DOUBLE_EQ(out[0].end_s, 3.0);
}

TEST(Sustain, RestrikeOfSamePitchEndsSustainedNote) {
  auto out = apply_sustain({{0.0, 1.0, 60, 80, 0}, {2.0, 2.5, 60, 70, 0}},
                           {{0.5, 0, 64, kDown}, {4.0, 0, 64, kUp}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_DOUBLE_EQ(out[0].end_s, 2.0);
  EXPECT_DOUBLE_EQ(out[1].end_s, 4.0);
}

TEST(Sustain, NoteReleasedAfterPedalUpIsUnchanged) {
  auto out = apply_sustain({{0.0, 2.0, 60, 80, 0}}, {{0.5, 0, 64, kDown}, {1.0, 0, 64, kUp}});
  EXPECT_DOUBLE_EQ(out[0].end_s, 2.0);
}

TEST(Sustain, PedalIsDownAtSixtyFourAndAbove) {
  auto half = apply_sustain({{0.0, 1.0, 60, 80, 0}}, {{0.5, 0, 64, 63}, {3.0, 0, 64, kUp}});
  EXPECT_DOUBLE_EQ(half[0].end_s, 1.0);
  auto down = apply_sustain({{0.0, 1.0, 60, 80, 0}}, {{0.5, 0, 64, 64}, {3.0, 0, 64, kUp}});
  EXPECT_DOUBLE_EQ(down[0].end_s, 3.0);
}

TEST(Sustain, PedalOfOneChannelDoesNotHoldAnother) {
  auto out = apply_sustain({{0.0, 1.0, 60, 80, 1}}, {{0.5, 0, 64, kDown}, {3.0, 0, 64, kUp}});
  EXPECT_DOUBLE_EQ(out[0].end_s, 1.0);
}

TEST(Sustain, UnreleasedPedalHoldsUntilTheLastEvent) {
  auto out = apply_sustain({{0.0, 1.0, 60, 80, 0}, {1.0, 5.0, 64, 80, 0}}, {{0.5, 0, 64, kDown}});
  EXPECT_DOUBLE_EQ(out[0].end_s, 5.0);
}

TEST(Sustain, OtherControllersAreIgnored) {
  auto out = apply_sustain({{0.0, 1.0, 60, 80, 0}}, {{0.5, 0, 67, kDown}, {3.0, 0, 67, kUp}});
  EXPECT_DOUBLE_EQ(out[0].end_s, 1.0);
}

TEST(SustainIntervals, HysteresisIgnoresChatterAroundSixtyFour) {
  // A continuous pedal resting near the threshold: down at 70, wavering 60..66, lifted at 20.
  const auto spans = sustain_intervals(
      {{0.5, 0, 64, 70}, {0.6, 0, 64, 63}, {0.7, 0, 64, 66}, {0.8, 0, 64, 60}, {0.9, 0, 64, 65}, {1.5, 0, 64, 20}}, 3.0);
  EXPECT_EQ(spans, (std::vector<PedalInterval>{{0.5, 1.5}}));
}

TEST(SustainIntervals, PedalGoesUpBelowFiftySix) {
  const auto spans = sustain_intervals({{0.5, 0, 64, 64}, {1.0, 0, 64, 55}, {1.5, 0, 64, 63}, {2.0, 0, 64, 64}}, 3.0);
  // Up at 55; 63 is not enough to put it down again, 64 is; still down at the end.
  EXPECT_EQ(spans, (std::vector<PedalInterval>{{0.5, 1.0}, {2.0, 3.0}}));
}

TEST(SustainIntervals, DownWhileAnyChannelsPedalIsDown) {
  const auto spans =
      sustain_intervals({{0.5, 0, 64, kDown}, {1.0, 1, 64, kDown}, {1.5, 0, 64, kUp}, {2.0, 1, 64, kUp}}, 3.0);
  EXPECT_EQ(spans, (std::vector<PedalInterval>{{0.5, 2.0}}));
}

TEST(ControlsBetween, PedalHeldIntoTheExcerptIsDownAtItsStart) {
  const auto out = controls_between({{0.5, 0, 64, kDown}, {1.2, 0, 64, kUp}, {2.5, 0, 64, kDown}}, 1.0, 2.0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], (ControlChange{0.0, 0, 64, kDown}));
  EXPECT_NEAR(out[1].time_s, 0.2, 1e-12);
  EXPECT_EQ(out[1].value, kUp);
}

}  // namespace
}  // namespace scorejam
