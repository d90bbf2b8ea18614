// The progress line of long commands (core/progress.h): what a terminal and a log see.
#include "core/progress.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>

namespace scorejam {
namespace {

// Everything written to a temporary FILE*.
std::string written(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string text;
  char buffer[512];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) text.append(buffer, n);
  return text;
}

int count(const std::string& text, const std::string& part) {
  int n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST(Progress, FormatsTheTimeLeftAndSaysWhenItIsUnknown) {
  EXPECT_EQ(format_eta(3723), "1:02:03");
  EXPECT_EQ(format_eta(0), "0:00:00");
  EXPECT_EQ(format_eta(-1), "?");
  EXPECT_EQ(format_eta(std::nan("")), "?");
  EXPECT_EQ(format_eta(INFINITY), "?");
  EXPECT_EQ(format_eta(1e30), "?");  // a rate near zero: no overflow
  EXPECT_EQ(format_eta(20'000'000), "5555:33:20");
}

TEST(Progress, ALogGetsAPlainLineAtTheStartAtTheEndAndNotAtEveryUnit) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress progress("sample", 4, "windows", f, /*tty=*/0, std::chrono::hours(1));
    for (int i = 1; i <= 4; ++i) progress.update(i, "x.mid");
  }  // finish on destruction
  const auto text = written(f);
  std::fclose(f);
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
  EXPECT_EQ(count(text, "\n"), 2) << text;  // the first unit, then the last; none between
  EXPECT_NE(text.find("sample: 1/4 windows (25%)"), std::string::npos) << text;
  EXPECT_NE(text.find("sample: 4/4 windows (100%)"), std::string::npos) << text;
  EXPECT_NE(text.find("ETA 0:00:00 x.mid"), std::string::npos) << text;  // done: nothing left
  EXPECT_EQ(text.find("2/4"), std::string::npos) << text;
}

TEST(Progress, ATerminalGetsOneLineRedrawnInPlaceAndANewlineAtTheEnd) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  Progress progress("eval", 10, "prompts", f, /*tty=*/1);
  progress.update(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  progress.update(2);
  progress.update(3);  // within 100 ms of the last redraw: not drawn
  progress.finish();
  progress.finish();  // once
  const auto text = written(f);
  std::fclose(f);
  EXPECT_EQ(count(text, "\r"), 3) << text;  // 1, 2 and the final line
  EXPECT_EQ(count(text, "\n"), 1) << text;
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find("\033[K"), std::string::npos) << "a shorter line must clear the longer one before it";
  EXPECT_NE(text.find("eval: 3/10 prompts (30%)"), std::string::npos) << text;  // the final line has the last figures
}

TEST(Progress, TheRateAndTimeLeftCountFromTheFirstUpdate) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  Progress progress("train", 1000, "steps", f, 0, std::chrono::hours(1));
  progress.update(500);  // resumed at step 500: no rate yet
  EXPECT_EQ(progress.rate(), 0);
  EXPECT_NE(progress.line(500).find("ETA ?"), std::string::npos) << progress.line(500);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  progress.update(520);
  // 20 steps in at least 0.2 s: at most 100 steps/s, however slow the machine; and the time left follows it.
  EXPECT_GT(progress.rate(), 0);
  EXPECT_LE(progress.rate(), 100.0);
  EXPECT_EQ(progress.line(520).find("ETA ?"), std::string::npos) << progress.line(520);
  EXPECT_NE(progress.line(520).find("train: 520/1000 steps (52%)"), std::string::npos) << progress.line(520);
  // The caller's own estimate wins (a time limit that ends sooner).
  EXPECT_NE(progress.line(520, "", 5).find("ETA 0:00:05"), std::string::npos);
  progress.finish();
  std::fclose(f);
}

}  // namespace
}  // namespace scorejam
