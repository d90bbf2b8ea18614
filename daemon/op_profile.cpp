#include "daemon/op_profile.h"

#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

namespace scorejam {
namespace {

namespace prof = torch::autograd::profiler;

// LibTorch 1.13's profiler counts no FLOPs for transposed convolutions: from the input and weight
// shapes, 2 N Hin Win Cin Cout kh kw whatever the stride.
double transposed_conv_flops(const std::vector<std::vector<int64_t>>& shapes) {
  if (shapes.size() < 2 || shapes[0].size() != 4 || shapes[1].size() != 4) return 0;
  const auto& in = shapes[0];
  const auto& w = shapes[1];  // [Cin, Cout / groups, kh, kw]
  return 2.0 * static_cast<double>(in[0] * in[2] * in[3]) * static_cast<double>(w[0] * w[1] * w[2] * w[3]);
}

}  // namespace

OpProfile profile_ops(const std::function<void()>& work, int runs) {
  work();
  const torch::profiler::impl::ProfilerConfig config(torch::profiler::impl::ProfilerState::CPU,
                                                     /*report_input_shapes=*/true, /*profile_memory=*/false,
                                                     /*with_stack=*/false, /*with_flops=*/true);
  prof::enableProfilerLegacy(config);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < runs; ++i) work();
  const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  const auto lists = prof::disableProfilerLegacy();

  struct Open {
    const prof::LegacyEvent* push;
    double children_us = 0;
  };
  std::map<std::string, OpRow> rows;
  for (const auto& list : lists) {
    std::vector<Open> stack;
    for (const auto& event : list) {
      if (event.kind() == prof::EventKind::PushRange) {
        stack.push_back({&event});
      } else if (event.kind() == prof::EventKind::PopRange && !stack.empty()) {
        const Open open = stack.back();
        stack.pop_back();
        const double inclusive_us = open.push->cpuElapsedUs(event);
        auto& row = rows[open.push->name()];
        row.name = open.push->name();
        row.calls += 1;
        row.self_ms += (inclusive_us - open.children_us) / 1000.0;
        row.total_ms += inclusive_us / 1000.0;
        auto* push = const_cast<prof::LegacyEvent*>(open.push);
        row.flops += row.name == "aten::conv_transpose2d" ? transposed_conv_flops(push->shapes())
                                                          : static_cast<double>(push->flops());
        if (!stack.empty()) stack.back().children_us += inclusive_us;
      }
    }
  }
  OpProfile profile;
  profile.total_ms = wall_ms / runs;
  for (auto& [name, row] : rows) {
    row.calls /= runs;
    row.self_ms /= runs;
    row.total_ms /= runs;
    row.flops /= runs;
    // A conv2d's FLOPs are counted on aten::conv2d; its children (convolution, mkldnn_convolution)
    // count none, so the sum over rows counts each once.
    profile.flops += row.flops;
    profile.rows.push_back(row);
  }
  std::sort(profile.rows.begin(), profile.rows.end(), [](const OpRow& a, const OpRow& b) { return a.self_ms > b.self_ms; });
  return profile;
}

std::string format_profile(const OpProfile& profile, std::size_t top) {
  // GFLOP/s: the op's FLOPs over its time with its children (aten::conv2d's kernel is a child).
  std::string text = "| op | calls | self ms | share | GFLOP/s |\n|---|---|---|---|---|\n";
  char line[256];
  double rest_ms = 0;
  std::int64_t rest_calls = 0;
  for (std::size_t i = 0; i < profile.rows.size(); ++i) {
    const auto& row = profile.rows[i];
    if (i >= top) {
      rest_ms += row.self_ms;
      rest_calls += row.calls;
      continue;
    }
    const double share = profile.total_ms > 0 ? 100.0 * row.self_ms / profile.total_ms : 0;
    if (row.flops > 0 && row.total_ms > 0)  // FLOPs over the time with the op's children
      std::snprintf(line, sizeof line, "| %s | %lld | %.2f | %.1f%% | %.1f |\n", row.name.c_str(),
                    static_cast<long long>(row.calls), row.self_ms, share, row.flops / row.total_ms / 1e6);
    else
      std::snprintf(line, sizeof line, "| %s | %lld | %.2f | %.1f%% | |\n", row.name.c_str(),
                    static_cast<long long>(row.calls), row.self_ms, share);
    text += line;
  }
  if (rest_calls) {
    std::snprintf(line, sizeof line, "| %zu other ops | %lld | %.2f | %.1f%% | |\n", profile.rows.size() - top,
                  static_cast<long long>(rest_calls), rest_ms, profile.total_ms > 0 ? 100.0 * rest_ms / profile.total_ms : 0);
    text += line;
  }
  std::snprintf(line, sizeof line, "| **total (wall)** | | %.2f | | %.1f |\n", profile.total_ms,
                profile.total_ms > 0 ? profile.flops / profile.total_ms / 1e6 : 0);
  text += line;
  return text;
}

}  // namespace scorejam
