#include "core/beat_planes.h"

#include <gtest/gtest.h>

#include <cmath>

namespace scorejam {
namespace {

// Beats every 0.5 s from 1 s, a bar of 4: at 16 fps a beat lasts 8 frames.
TEST(BeatPlanes, GiveEachFramesPhaseWithinItsBeatAndBar) {
  std::vector<double> beats, downbeats;
  for (int i = 0; i <= 16; ++i) beats.push_back(1.0 + 0.5 * i);
  for (int i = 0; i <= 4; ++i) downbeats.push_back(1.0 + 2.0 * i);
  const int frames = 64;
  const auto p = beat_planes(beats, downbeats, 16, 0, frames);
  ASSERT_EQ(p.size(), static_cast<std::size_t>(kBeatPlaneCount * frames));
  auto at = [&](int plane, int frame) { return p[static_cast<std::size_t>(plane * frames + frame)]; };
  // Before the first beat (frames 0..15): nothing known.
  for (int plane = 0; plane < kBeatPlaneCount; ++plane) EXPECT_EQ(at(plane, 15), 0.0f);
  // Frame 16 (1.0 s) is on a beat and a downbeat: phase 0.
  EXPECT_FLOAT_EQ(at(0, 16), 1.0f);
  EXPECT_NEAR(at(1, 16), 0.0f, 1e-6);
  EXPECT_FLOAT_EQ(at(2, 16), 1.0f);
  EXPECT_FLOAT_EQ(at(4, 16), 1.0f);
  // Frame 20 (1.25 s): half a beat, an eighth of the bar.
  EXPECT_NEAR(at(0, 20), -1.0f, 1e-6);
  EXPECT_NEAR(at(2, 20), std::cos(2 * M_PI / 8), 1e-6);
  EXPECT_NEAR(at(3, 20), std::sin(2 * M_PI / 8), 1e-6);
  // A window further on starts where the first left off.
  const auto later = beat_planes(beats, downbeats, 16, 20, 4);
  EXPECT_NEAR(later[0], at(0, 20), 1e-6);
}

TEST(BeatPlanes, NoBeatsMeanNothingKnownAndNoDownbeatsLeaveTheBarAtZero) {
  const auto none = beat_planes({}, {}, 16, 0, 8);
  for (float v : none) EXPECT_EQ(v, 0.0f);
  const auto beats_only = beat_planes({0.0, 0.5, 1.0}, {}, 16, 0, 8);
  EXPECT_EQ(beats_only[4 * 8 + 3], 1.0f);  // known
  EXPECT_EQ(beats_only[2 * 8 + 3], 0.0f);  // bar unknown
}

}  // namespace
}  // namespace scorejam
