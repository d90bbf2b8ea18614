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

}  // namespace
}  // namespace scorejam
