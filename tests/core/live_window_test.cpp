#include "core/live_window.h"

#include <gtest/gtest.h>

namespace scorejam {
namespace {

// The beats a live window of a beat_planes model gets: those found, then the tempo carried on to
// the window's end, on the frame grid's clock.
TEST(LiveWindow, ABeatPlanesWindowGetsTheTrackedBeatsCarriedOnToItsEnd) {
  BeatTracker tracker;
  WindowRequest request;
  set_window_beats(request, tracker, 0, 128, 16);
  EXPECT_TRUE(request.beats_s.empty()) << "no onsets, no tempo: the beats are unknown";

  for (int i = 0; i < 16; ++i) tracker.add_onset(0.5 * i, 90, i % 2 ? 64 : 43);  // 120 BPM for 8 s
  const std::int64_t first = 6 * 16;  // a window from 6 s to 14 s
  set_window_beats(request, tracker, first, 128, 16);
  ASSERT_GE(request.beats_s.size(), 10u);
  EXPECT_EQ(request.first_frame, first);
  const auto& b = request.beats_s;
  EXPECT_GT(b.back(), 13.0) << "carried on to the window's end";
  EXPECT_LT(b.back(), 14.0);
  for (std::size_t i = 1; i < b.size(); ++i) EXPECT_NEAR(b[i] - b[i - 1], 0.5, 0.03) << "beat " << i;
  // On the played beats: within a tracker frame or two of the onsets' grid.
  for (double t : b) EXPECT_NEAR(t * 2 - std::round(t * 2), 0.0, 0.05) << t;
}

}  // namespace
}  // namespace scorejam
