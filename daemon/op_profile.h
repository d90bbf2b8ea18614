// Where the time goes, op by op: a callable run under LibTorch's profiler, its events folded into
// one row per operator with the time spent in the operator itself (its children's time taken
// out) and the floating-point operations it did. For `scorejam bench --profile`. Torch-free header.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace scorejam {

struct OpRow {
  std::string name;     // e.g. aten::mkldnn_convolution
  std::int64_t calls = 0;
  double self_ms = 0;   // per run of the callable
  double total_ms = 0;  // per run, with the operators it called (a conv2d's kernel runs in a child op)
  double flops = 0;     // per run; convolutions (plain and transposed), matrix products, adds, multiplies
};

struct OpProfile {
  std::vector<OpRow> rows;  // most self time first
  double total_ms = 0;      // wall time per run
  double flops = 0;         // per run, the rows' sum
};

// Runs `work` once to warm up, then `runs` times under the profiler.
OpProfile profile_ops(const std::function<void()>& work, int runs);

// The table in Markdown: the `top` rows with the most self time, then one row for the rest.
std::string format_profile(const OpProfile& profile, std::size_t top = 14);

}  // namespace scorejam
