#include "realtime/live.h"

#include <gtest/gtest.h>

namespace scorejam {
namespace {

TEST(LiveMode, NamesRoundTrip) {
  for (auto mode : {LiveMode::kContinue, LiveMode::kDuet, LiveMode::kSolo})
    EXPECT_EQ(live_mode_from_string(to_string(mode)), mode);
}

TEST(LiveMode, UnknownNameIsAnErrorThatNamesIt) {
  try {
    live_mode_from_string("jam");
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'jam'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace scorejam
