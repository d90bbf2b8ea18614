#include "train/epoch_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace scorejam {
namespace {

const std::vector<int> kFrames{1000, 640, 300, 40};  // frames of four performances

TEST(EpochPlan, RanksTakeDisjointSharesWhoseUnionIsOneProcessesBatch) {
  EpochPlan rank0(kFrames, 64, 4, 2, 7, 0), rank1(kFrames, 64, 4, 2, 7, 0), single(kFrames, 64, 8, 1, 7, 0);
  std::set<EpochPlan::Window> seen;
  for (std::int64_t step = 0; step < single.steps(); ++step) {
    auto a = rank0.next(0), b = rank1.next(1), both = single.next(0);
    ASSERT_EQ(a.size(), 4u);
    std::vector<EpochPlan::Window> joined = a;
    joined.insert(joined.end(), b.begin(), b.end());
    EXPECT_EQ(joined, both) << "step " << step;
    for (const auto& w : joined) EXPECT_TRUE(seen.insert(w).second) << "window used twice in an epoch";
  }
  EXPECT_EQ(rank0.epoch(), 0);
  for (const auto& [performance, start] : seen) {
    ASSERT_LT(performance, kFrames.size());
    EXPECT_LE(start + 64, std::max(kFrames[performance], 64));
  }
  EXPECT_GE(seen.size(), 8u * 3);  // (1000 + 640 + 300) / 64 windows, less one per performance for the offset
  rank0.next(0);  // no full step left: the next epoch, planned afresh
  EXPECT_EQ(rank0.epoch(), 1);
}

TEST(EpochPlan, DependsOnTheSeedAndTheEpochOnly) {
  EpochPlan a(kFrames, 64, 4, 1, 7, 3), b(kFrames, 64, 4, 1, 7, 3), other_seed(kFrames, 64, 4, 1, 8, 3),
      other_epoch(kFrames, 64, 4, 1, 7, 4);
  const auto first = a.next(0);
  EXPECT_EQ(first, b.next(0));
  EXPECT_NE(first, other_seed.next(0));
  EXPECT_NE(first, other_epoch.next(0));
}

// A resumed run: a plan that skips what an earlier one took goes on as that one does, into the
// next epoch too, even with another world size (the order depends on the seed and epoch only).
TEST(EpochPlan, SkippingWhatWasTakenGoesOnWhereTheRunStopped) {
  EpochPlan run(kFrames, 64, 4, 2, 7, 0);
  for (int step = 0; step < 3; ++step) run.next(0);
  EXPECT_EQ(run.taken(), 3u * 8);
  EpochPlan resumed(kFrames, 64, 4, 2, 7, 0), resumed_alone(kFrames, 64, 8, 1, 7, 0);
  resumed.skip(run.taken());
  resumed_alone.skip(run.taken());
  for (std::int64_t step = 3; step < run.steps() + 2; ++step) {
    const auto expected = run.next(0);
    EXPECT_EQ(resumed.next(0), expected) << "step " << step;
    auto alone = resumed_alone.next(0);
    alone.resize(4);  // rank 0's share of the same global batch
    EXPECT_EQ(alone, expected) << "step " << step;
  }
  EXPECT_EQ(resumed.epoch(), 1);
  EpochPlan beyond(kFrames, 64, 4, 2, 7, 0);
  beyond.skip(1'000'000);  // a set that shrank since: the epoch is over
  beyond.next(0);
  EXPECT_EQ(beyond.epoch(), 1);
}

TEST(EpochPlan, ASetSmallerThanAStepStillMakesSteps) {
  EpochPlan plan({70}, 64, 4, 2, 1, 0);  // one window in all
  EXPECT_EQ(plan.steps(), 1);
  const auto windows = plan.next(1);
  ASSERT_EQ(windows.size(), 4u);
  for (const auto& w : windows) EXPECT_EQ(w.first, 0u);
}

}  // namespace
}  // namespace scorejam
