// Which training windows each step takes: an epoch plan, alike on every rank of a data-parallel
// run. No LibTorch.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace scorejam {

// The training windows of an epoch: every performance cut into windows (from an offset drawn per
// epoch, so that over the epochs every start comes up), in an order shuffled per epoch. Each step
// the next world_size x batch windows are the global batch, and rank r takes the r-th `batch` of
// them. Within an epoch no two ranks and no two steps share a window (unless the set holds fewer
// windows than one step takes), and together the ranks take what one process of world_size x
// batch would. It depends on the seed and the epoch only, so every rank plans alike.
class EpochPlan {
 public:
  using Window = std::pair<std::size_t, int>;  // performance, first frame

  // `frames`: each performance's length; `window`: frames per window; the epoch to start with.
  EpochPlan(std::vector<int> frames, int window, int batch, int world_size, std::uint64_t seed, std::int64_t epoch);

  // This rank's windows of the next step; a new epoch starts when this one has no full step left.
  std::vector<Window> next(int rank);
  std::int64_t epoch() const { return epoch_; }
  // Windows of this epoch taken so far; skip() goes on from there, as a resumed run does (a set
  // that has changed meanwhile gets at most its whole epoch skipped).
  std::size_t taken() const { return cursor_; }
  void skip(std::size_t windows) { cursor_ = std::min(windows, order_.size()); }
  // Steps in the epoch now planned.
  std::int64_t steps() const;

 private:
  void plan();

  std::vector<int> frames_;
  int window_, batch_, world_size_;
  std::uint64_t seed_;
  std::int64_t epoch_;
  std::vector<Window> order_;
  std::size_t cursor_ = 0;
};

}  // namespace scorejam
