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

TEST(EpochPlan, ASetSmallerThanAStepStillMakesSteps) {
  EpochPlan plan({70}, 64, 4, 2, 1, 0);  // one window in all
  EXPECT_EQ(plan.steps(), 1);
  const auto windows = plan.next(1);
  ASSERT_EQ(windows.size(), 4u);
  for (const auto& w : windows) EXPECT_EQ(w.first, 0u);
}

}  // namespace
}  // namespace scorejam
