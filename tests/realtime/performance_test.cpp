#include "realtime/performance.h"

#include <gtest/gtest.h>

namespace scorejam {
namespace {

constexpr std::int64_t kOrigin = 1'000'000'000'000;
constexpr double kFs = 16;

std::int64_t at_frame(double frame) { return kOrigin + static_cast<std::int64_t>(frame / kFs * 1e9); }

TEST(Performance, PlayerNoteSpansTheFramesItWasHeld) {
  Performance p(kOrigin, kFs, true);
  p.player_event(note_on(at_frame(2.2), 0, 60, 90));
  p.player_event(note_off(at_frame(5.5), 0, 60));
  const auto w = p.window(0, 16, {});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], (GridNote{2, 6, 60, 90}));
  EXPECT_EQ(p.keys_down(), 0);
}

TEST(Performance, SustainPedalHoldsAReleasedNoteUntilThePedalLifts) {
  Performance p(kOrigin, kFs, true);
  p.player_event(control_change(at_frame(0), 0, 64, 127));
  p.player_event(note_on(at_frame(1), 0, 60, 90));
  p.player_event(note_off(at_frame(2), 0, 60));
  EXPECT_EQ(p.keys_down(), 0) << "the pedal does not hold a key down";
  p.player_event(control_change(at_frame(9), 0, 64, 0));
  const auto w = p.window(0, 16, {});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].end_frame, 9);  // the nearest frame to the pedal's lift, as in training
}

TEST(Performance, RestrikingUnderThePedalEndsTheHeldNote) {
  Performance p(kOrigin, kFs, true);
  p.player_event(control_change(at_frame(0), 0, 64, 127));
  p.player_event(note_on(at_frame(1), 0, 60, 90));
  p.player_event(note_off(at_frame(2), 0, 60));
  p.player_event(note_on(at_frame(4), 0, 60, 70));
  const auto w = p.window(0, 16, {});
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].end_frame, 4);   // ends where it was struck again
  EXPECT_EQ(w[1].onset_frame, 4);
  EXPECT_EQ(w[1].end_frame, 16);  // still held: lasts to the window's end
}

// One frame rounding for training and live (core/roll.h, note_frames): what the player plays
// reaches the network on the frames quantize() gave the same notes in the training rolls. Before,
// live took the frame a key went down in and training the nearest one: up to a frame apart.
TEST(Performance, PlayedNotesLandOnTheFramesTrainingGaveThem) {
  const std::vector<Note> notes = {{0.030, 0.290, 60, 80}, {0.281, 0.530, 64, 70}, {0.5, 0.9687, 67, 90},
                                   {1.012, 1.061, 72, 60}, {1.47, 1.52, 48, 100}};
  RollFormat format;
  format.fs_hz = kFs;
  format.sustain_pedal = false;
  Performance p(kOrigin, kFs, false);
  for (const auto& n : notes) {
    p.player_event(note_on(kOrigin + static_cast<std::int64_t>(n.start_s * 1e9), 0, n.pitch, n.velocity));
    p.player_event(note_off(kOrigin + static_cast<std::int64_t>(n.end_s * 1e9), 0, n.pitch));
  }
  EXPECT_EQ(p.window(0, 32, {}), quantize(notes, {}, format));
}

TEST(Performance, WithoutThePedalRuleNotesEndAtTheirRelease) {
  Performance p(kOrigin, kFs, false);
  p.player_event(control_change(at_frame(0), 0, 64, 127));
  p.player_event(note_on(at_frame(1), 0, 60, 90));
  p.player_event(note_off(at_frame(2), 0, 60));
  EXPECT_EQ(p.window(0, 16, {})[0].end_frame, 2);
}

TEST(Performance, WindowIsRelativeAndCutAtItsEdges) {
  Performance p(kOrigin, kFs, true);
  p.add_generated({10, 30, 64, 80});
  const auto w = p.window(20, 5, {});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], (GridNote{-10, 5, 64, 80}));
  Performance::Sources only_player;
  only_player.generated = false;
  EXPECT_TRUE(p.window(20, 5, only_player).empty());
}

TEST(Performance, CutGeneratedForgetsLaterNotesAndEndsSoundingOnes) {
  Performance p(kOrigin, kFs, true);
  p.add_generated({0, 20, 60, 80});
  p.add_generated({12, 14, 62, 80});
  p.cut_generated(10);
  const auto w = p.window(0, 32, {});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].end_frame, 10);
  EXPECT_TRUE(p.generated_sounding(60, 9));
  EXPECT_FALSE(p.generated_sounding(60, 10));
}

TEST(Performance, ForgettingOldNotesKeepsTheOneStillHeld) {
  Performance p(kOrigin, kFs, true);
  p.player_event(note_on(at_frame(1), 0, 40, 90));
  p.player_event(note_off(at_frame(2), 0, 40));
  p.player_event(note_on(at_frame(3), 0, 50, 90));  // held on
  p.forget_before(100);
  EXPECT_EQ(p.size(), 1u);
  p.player_event(note_off(at_frame(200), 0, 50));
  const auto w = p.window(0, 256, {});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].pitch, 50);
  EXPECT_EQ(w[0].end_frame, 200);
}

RollFormat pedal_and_offsets() {
  RollFormat format;
  format.fs_hz = kFs;
  format.sustain_pedal = false;
  format.pedal_channel = true;
  format.onset_offsets = true;
  return format;
}

TEST(Performance, APedalChannelFormatKeepsThePedalAsItsOwnSpans) {
  Performance p(kOrigin, pedal_and_offsets());
  p.player_event(control_change(at_frame(1), 0, 64, 127));
  p.player_event(note_on(at_frame(2), 0, 60, 90));
  p.player_event(note_off(at_frame(4), 0, 60));
  p.player_event(control_change(at_frame(9), 0, 64, 0));
  const auto w = p.window(0, 16, {});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].end_frame, 4) << "the note keeps its key-down length";
  EXPECT_EQ(p.pedal_window(0, 16, {}), (std::vector<GridPedal>{{1, 9}}));
  EXPECT_EQ(p.pedal_window(4, 8, {}), (std::vector<GridPedal>{{0, 5}}));
}

TEST(Performance, ThePlayersPedalChatterIsOneSpan) {
  Performance p(kOrigin, pedal_and_offsets());
  for (auto [frame, value] : std::vector<std::pair<double, int>>{{1, 70}, {2, 60}, {3, 66}, {4, 58}, {6, 10}})
    p.player_event(control_change(at_frame(frame), 0, 64, value));
  EXPECT_EQ(p.pedal_window(0, 16, {}), (std::vector<GridPedal>{{1, 6}}));
}

TEST(Performance, AHeldPedalLastsToTheWindowsEnd) {
  Performance p(kOrigin, pedal_and_offsets());
  p.player_event(control_change(at_frame(3), 0, 64, 127));
  EXPECT_EQ(p.pedal_window(0, 16, {}), (std::vector<GridPedal>{{3, 16}}));
}

TEST(Performance, OnsetOffsetsPlaceThePlayersNotesAsQuantizeDoes) {
  Performance p(kOrigin, pedal_and_offsets());
  p.player_event(note_on(at_frame(2.3), 0, 60, 90));
  p.player_event(note_off(at_frame(5.7), 0, 60));
  p.player_event(note_on(at_frame(7.6), 0, 62, 90));
  p.player_event(note_off(at_frame(9.2), 0, 62));
  const auto w = p.window(0, 16, {});
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].onset_frame, 2);
  EXPECT_NEAR(w[0].onset_offset, 0.3f, 1e-4);
  EXPECT_EQ(w[0].end_frame, 6);
  EXPECT_EQ(w[1].onset_frame, 8);
  EXPECT_NEAR(w[1].onset_offset, -0.4f, 1e-4);
}

TEST(Performance, CutGeneratedEndsScorejamsPedalThere) {
  Performance p(kOrigin, pedal_and_offsets());
  p.add_generated_pedal({2, 10});
  p.add_generated_pedal({10, 12});  // meets the first: joined
  p.add_generated_pedal({20, 30});
  EXPECT_EQ(p.pedal_window(0, 40, {}), (std::vector<GridPedal>{{2, 12}, {20, 30}}));
  p.cut_generated(6);
  EXPECT_EQ(p.pedal_window(0, 40, {}), (std::vector<GridPedal>{{2, 6}}));
  EXPECT_FALSE(p.generated_pedal_down(6));
}

TEST(Performance, TheFoldingFormatKeepsNoPedalWindow) {
  Performance p(kOrigin, kFs, true);
  p.player_event(control_change(at_frame(1), 0, 64, 127));
  EXPECT_TRUE(p.pedal_window(0, 16, {}).empty());
}

}  // namespace
}  // namespace scorejam
