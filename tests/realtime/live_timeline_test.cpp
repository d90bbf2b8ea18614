#include "realtime/live_timeline.h"

#include <gtest/gtest.h>

namespace scorejam {
namespace {

constexpr std::int64_t kOrigin = 1'000'000'000'000;
constexpr double kFs = 16;
constexpr std::int64_t kFrameNs = 62'500'000;

RollFormat pedal_and_offsets() {
  RollFormat format;
  format.fs_hz = kFs;
  format.sustain_pedal = false;
  format.pedal_channel = true;
  format.onset_offsets = true;
  return format;
}

HopInput input_for(const std::vector<GridNote>& notes, const std::vector<GridPedal>* pedal) {
  HopInput input;
  input.generated = &notes;
  input.pedal = pedal;
  input.window_first = 0;
  input.known = 8;
  input.now_ns = kOrigin;
  return input;
}

TEST(CommitHop, ANoteWithAnOnsetOffsetPlaysOffItsFramesTime) {
  Performance performance(kOrigin, pedal_and_offsets());
  Timeline timeline;
  const std::vector<GridNote> notes = {{10, 14, 60, 80, 0.25f}, {12, 14, 62, 80, -0.5f}};
  const auto hop = commit_hop(performance, timeline, {}, input_for(notes, nullptr));
  ASSERT_EQ(hop.notes.size(), 2u);
  EXPECT_EQ(hop.notes[0].on_ns, kOrigin + 10 * kFrameNs + kFrameNs / 4);
  EXPECT_EQ(hop.notes[0].off_ns, kOrigin + 14 * kFrameNs);
  EXPECT_EQ(hop.notes[1].on_ns, kOrigin + 12 * kFrameNs - kFrameNs / 2);
  EXPECT_TRUE(hop.pedal.empty());
}

TEST(CommitHop, ThePedalIsSentAtEachChangeWithinTheHop) {
  Performance performance(kOrigin, pedal_and_offsets());
  Timeline timeline;
  const std::vector<GridNote> notes;
  const std::vector<GridPedal> pedal = {{0, 12}, {20, 30}, {36, 50}};
  HopRules rules;
  rules.hop_frames = 32;  // frames 8..39
  const auto hop = commit_hop(performance, timeline, rules, input_for(notes, &pedal));
  EXPECT_EQ(hop.pedal, (std::vector<PlannedPedal>{{kOrigin + 8 * kFrameNs, 127},
                                                  {kOrigin + 12 * kFrameNs, 0},
                                                  {kOrigin + 20 * kFrameNs, 127},
                                                  {kOrigin + 30 * kFrameNs, 0},
                                                  {kOrigin + 36 * kFrameNs, 127}}));
  // The next hop goes on from where this one left the pedal: down, so no second down.
  auto next = input_for(notes, &pedal);
  next.window_first = 32;  // window-relative 8 = frame 40; the window's pedal is up there
  const std::vector<GridPedal> still_down = {{0, 12}};
  next.pedal = &still_down;
  const auto hop2 = commit_hop(performance, timeline, rules, next);
  EXPECT_EQ(hop2.pedal, (std::vector<PlannedPedal>{{kOrigin + 44 * kFrameNs, 0}}));
}

TEST(CommitHop, ALatePedalChangeIsSentNowNotDropped) {
  Performance performance(kOrigin, pedal_and_offsets());
  Timeline timeline;
  const std::vector<GridNote> notes;
  const std::vector<GridPedal> pedal = {{8, 9}};
  auto input = input_for(notes, &pedal);
  input.now_ns = kOrigin + 100 * kFrameNs;
  const auto hop = commit_hop(performance, timeline, {}, input);
  ASSERT_EQ(hop.pedal.size(), 2u);
  EXPECT_EQ(hop.pedal[0], (PlannedPedal{input.now_ns, 127}));
  EXPECT_EQ(hop.pedal[1], (PlannedPedal{input.now_ns, 0}));
}

TEST(CommitHop, AnAnswersPedalIsLiftedAtTheAnswersEnd) {
  Performance performance(kOrigin, pedal_and_offsets());
  Timeline timeline;
  timeline.answer_end = 16;
  const std::vector<GridNote> notes;
  const std::vector<GridPedal> pedal = {{0, 64}};
  auto input = input_for(notes, &pedal);
  input.answering = true;
  const auto hop = commit_hop(performance, timeline, {}, input);
  EXPECT_EQ(hop.pedal, (std::vector<PlannedPedal>{{kOrigin + 8 * kFrameNs, 127}, {kOrigin + 16 * kFrameNs, 0}}));
}

}  // namespace
}  // namespace scorejam
