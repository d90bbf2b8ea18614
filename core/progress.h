// Progress of a long command (train, sample, eval): on a terminal one line redrawn in place (done /
// total, rate, time left); elsewhere (a log file, journald, CI) a plain line every `every`, so a log
// is not flooded with redraws. Torch-free, no threads: the caller reports from its own loop.
//   Progress progress("sample", windows, "windows");
//   for (...) { ...; progress.update(++done); }
//   progress.finish();  // also on destruction
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace scorejam {

// "1:02:03", or "?" when unknown (negative, infinite, NaN, or beyond 10^9 s).
std::string format_eta(double seconds);

class Progress {
 public:
  using Clock = std::chrono::steady_clock;
  // `out` is a terminal when `tty` (default: isatty on it).
  Progress(std::string what, std::int64_t total, std::string unit, std::FILE* out = stderr, int tty = -1,
           std::chrono::milliseconds every = std::chrono::seconds(30));
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress();

  // `done` of the total so far; `detail` is shown after the figures (a loss, a file). `left_s`, when
  // given (>= 0), is the caller's own estimate of the time left (a time limit that ends sooner).
  // The rate counts from the first update, so a resumed count or a slow start does not skew it.
  void update(std::int64_t done, const std::string& detail = {}, double left_s = -1);
  // The last line (a newline after it on a terminal); once.
  void finish(const std::string& detail = {});

  // The line update() would show now, without the terminal's carriage return.
  std::string line(std::int64_t done, const std::string& detail = {}, double left_s = -1) const;
  bool tty() const { return tty_; }
  double rate() const;  // units a second since the first update, 0 until a second one

 private:
  std::string what_, unit_;
  std::int64_t total_, done_ = 0, first_ = -1, shown_done_ = -1;
  std::FILE* out_;
  bool tty_;
  std::chrono::milliseconds every_;
  Clock::time_point first_at_, last_shown_;  // set at the first update
  std::string last_detail_;
  double last_left_s_ = -1;
  bool shown_ = false, finished_ = false;
};

}  // namespace scorejam
