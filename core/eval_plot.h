// Pictures of eval's measures: one PNG per measure, a row per system with every continuation's
// value as a dot and the mean with its 95% confidence interval as a bar (cairo). No threads.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace scorejam {

struct MetricRow {
  std::string system;
  std::vector<double> values;
};

// Throws std::runtime_error naming the path when it cannot be written.
void write_metric_png(const std::string& metric, const std::string& definition, const std::vector<MetricRow>& rows,
                      const std::filesystem::path& png_path);

}  // namespace scorejam
