// Pictures of eval's measures: one PNG per measure, a row per system with every continuation's
// value as a dot and the mean with its 95% confidence interval as a bar (cairo). No threads.
#pragma once

#include <filesystem>
#include <optional>
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

// The quality/speed trade-off: a measure's mean (with its 95% CI) against network evaluations per
// continuation, log scale, one line per series (a model with one sampler kind), each point labelled
// with its steps; the real continuation's mean as a dashed line.
struct TradeoffPoint {
  double nfe = 0;
  std::vector<double> values;
  std::string label;
};
struct TradeoffSeries {
  std::string name;
  std::vector<TradeoffPoint> points;
};
void write_tradeoff_png(const std::string& metric, const std::vector<TradeoffSeries>& series,
                        std::optional<double> real_mean, const std::filesystem::path& png_path);

// Lines over the continuation's time: one per series, values per `bin_s` bin from 0, with dashed
// vertical marks (e.g. a model's window seams).
struct TimelineSeries {
  std::string name;
  std::vector<double> values;
};
void write_timeline_png(const std::string& title, const std::string& y_label, const std::vector<TimelineSeries>& series,
                        double bin_s, const std::vector<double>& marks_s, const std::filesystem::path& png_path);

}  // namespace scorejam
