#include "train/epoch_plan.h"

#include <algorithm>
#include <random>

namespace scorejam {

EpochPlan::EpochPlan(std::vector<int> frames, int window, int batch, int world_size, std::uint64_t seed,
                     std::int64_t epoch)
    : frames_(std::move(frames)), window_(window), batch_(batch), world_size_(world_size), seed_(seed), epoch_(epoch) {
  plan();
}

std::vector<EpochPlan::Window> EpochPlan::next(int rank) {
  const std::size_t step = static_cast<std::size_t>(batch_) * static_cast<std::size_t>(world_size_);
  if (cursor_ + step > order_.size()) {
    ++epoch_;
    plan();
  }
  const auto first = order_.begin() + static_cast<std::ptrdiff_t>(cursor_ + static_cast<std::size_t>(rank * batch_));
  std::vector<Window> out(first, first + batch_);
  cursor_ += step;
  return out;
}

std::int64_t EpochPlan::steps() const {
  return static_cast<std::int64_t>(order_.size()) / (static_cast<std::int64_t>(batch_) * world_size_);
}

void EpochPlan::plan() {
  std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(epoch_));
  const int offset = std::uniform_int_distribution<int>(0, window_ - 1)(rng);
  order_.clear();
  for (std::size_t p = 0; p < frames_.size(); ++p) {
    const int first = frames_[p] > offset + window_ ? offset : 0;
    for (int start = first; start + window_ <= std::max(frames_[p], window_); start += window_)
      order_.push_back({p, start});
  }
  // A set smaller than one step still makes steps: its windows again, in another order.
  const std::size_t step = static_cast<std::size_t>(batch_) * static_cast<std::size_t>(world_size_);
  for (std::size_t i = 0; order_.size() < step && !order_.empty(); ++i) order_.push_back(order_[i]);
  std::shuffle(order_.begin(), order_.end(), rng);
  cursor_ = 0;
}

}  // namespace scorejam
