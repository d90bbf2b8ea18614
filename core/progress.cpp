#include "core/progress.h"

#include <unistd.h>

#include <cmath>

namespace scorejam {

std::string format_eta(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e9) return "?";  // > 30 years: unknown too
  const auto s = static_cast<long>(seconds);
  char text[32];
  std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  return text;
}

Progress::Progress(std::string what, std::int64_t total, std::string unit, std::FILE* out, int tty,
                   std::chrono::milliseconds every)
    : what_(std::move(what)),
      unit_(std::move(unit)),
      total_(total),
      out_(out),
      tty_(tty < 0 ? isatty(fileno(out)) != 0 : tty != 0),
      every_(every) {}

Progress::~Progress() { finish(); }

double Progress::rate() const {
  // From the first update on, so that a slow first unit (loading, warm-up) does not skew it.
  if (first_ < 0 || done_ <= first_) return 0;
  const double s = std::chrono::duration<double>(Clock::now() - first_at_).count();
  return s > 0 ? static_cast<double>(done_ - first_) / s : 0;
}

std::string Progress::line(std::int64_t done, const std::string& detail, double left_s) const {
  char figures[160];
  const double r = rate();
  if (left_s < 0 && r > 0 && total_ > 0) left_s = static_cast<double>(total_ - done) / r;
  if (total_ > 0)
    std::snprintf(figures, sizeof figures, "%s: %lld/%lld %s (%.0f%%)", what_.c_str(), static_cast<long long>(done),
                  static_cast<long long>(total_), unit_.c_str(),
                  100.0 * static_cast<double>(done) / static_cast<double>(total_));
  else
    std::snprintf(figures, sizeof figures, "%s: %lld %s", what_.c_str(), static_cast<long long>(done), unit_.c_str());
  std::string text = figures;
  if (r > 0) {
    char rate_text[64];
    std::snprintf(rate_text, sizeof rate_text, r >= 10 ? " %.0f %s/s" : " %.2f %s/s", r, unit_.c_str());
    text += rate_text;
  }
  text += " ETA " + format_eta(left_s);
  if (!detail.empty()) text += " " + detail;
  return text;
}

void Progress::update(std::int64_t done, const std::string& detail, double left_s) {
  if (finished_) return;
  const auto now = Clock::now();
  if (first_ < 0) {  // the rate counts from the first report on
    first_ = done;
    first_at_ = now;
  }
  done_ = done;
  last_detail_ = detail;
  last_left_s_ = left_s;
  // A terminal is redrawn at most 10 times a second; a log gets a line every `every`.
  const auto gap = tty_ ? std::chrono::milliseconds(100) : every_;
  if (shown_ && now - last_shown_ < gap && done_ != total_) return;
  last_shown_ = now;
  shown_ = true;
  shown_done_ = done_;
  const auto text = line(done_, detail, left_s);
  if (tty_)
    std::fprintf(out_, "\r%s\033[K", text.c_str());  // \033[K clears what a longer line left
  else
    std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

void Progress::finish(const std::string& detail) {
  if (finished_) return;
  finished_ = true;
  if (!shown_ && done_ == 0) return;  // nothing was done: nothing to say
  const auto text = line(done_, detail.empty() ? last_detail_ : detail, done_ >= total_ ? 0 : last_left_s_);
  if (tty_)
    std::fprintf(out_, "\r%s\033[K\n", text.c_str());
  else if (shown_done_ != done_)  // a log gets the last figures once
    std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

}  // namespace scorejam
