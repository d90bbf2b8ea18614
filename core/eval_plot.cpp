#include "core/eval_plot.h"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "core/music_metrics.h"

namespace scorejam {
namespace {

const double kColours[][3] = {{0.15, 0.35, 0.75}, {0.85, 0.3, 0.1}, {0.5, 0.2, 0.6}, {0.1, 0.55, 0.55},
                              {0.6, 0.5, 0.1},   {0.1, 0.6, 0.2},  {0.9, 0.5, 0.7}, {0.4, 0.4, 0.4}};
constexpr std::size_t kColourCount = sizeof kColours / sizeof kColours[0];

// A white picture with the title font set (16 px, dark grey): the caller draws the title next.
cairo_t* start_png(cairo_surface_t* surface) {
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  cairo_set_font_size(cr, 16);
  return cr;
}

// Six horizontal grid lines from lo to hi between x0 and x1, each labelled at the left edge.
template <class YOf>
void draw_y_grid(cairo_t* cr, double lo, double hi, double x0, double x1, const YOf& y_of) {
  char label[48];
  for (int i = 0; i <= 5; ++i) {
    const double v = lo + (hi - lo) * i / 5;
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, x0, y_of(v));
    cairo_line_to(cr, x1, y_of(v));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    std::snprintf(label, sizeof label, "%.3g", v);
    cairo_move_to(cr, 10, y_of(v) + 4);
    cairo_show_text(cr, label);
  }
}

void finish_png(cairo_surface_t* surface, cairo_t* cr, const std::filesystem::path& png_path) {
  cairo_destroy(cr);
  const auto status = cairo_surface_write_to_png(surface, png_path.c_str());
  cairo_surface_destroy(surface);
  if (status != CAIRO_STATUS_SUCCESS)
    throw std::runtime_error("cannot write " + png_path.string() + ": " + cairo_status_to_string(status));
}

}  // namespace

void write_metric_png(const std::string& metric, const std::string& definition, const std::vector<MetricRow>& rows,
                      const std::filesystem::path& png_path) {
  const int row_px = 34, left = 230, right = 30, top = 64, bottom = 46, width = 900;
  const int height = top + bottom + row_px * static_cast<int>(std::max<std::size_t>(1, rows.size()));
  double lo = 0, hi = 0;
  bool any = false;
  for (const auto& r : rows)
    for (double v : r.values) {
      if (!std::isfinite(v)) continue;
      lo = any ? std::min(lo, v) : v;
      hi = any ? std::max(hi, v) : v;
      any = true;
    }
  if (!any || hi - lo < 1e-12) lo -= 0.5, hi += 0.5;
  const double pad = 0.05 * (hi - lo);
  lo -= pad, hi += pad;
  auto x_of = [&](double v) { return left + (width - left - right) * (v - lo) / (hi - lo); };

  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  cairo_t* cr = start_png(surface);
  cairo_move_to(cr, 12, 24);
  cairo_show_text(cr, metric.c_str());
  cairo_set_font_size(cr, 11);
  cairo_move_to(cr, 12, 44);
  cairo_show_text(cr, definition.c_str());
  char label[32];
  for (int i = 0; i <= 5; ++i) {
    const double v = lo + (hi - lo) * i / 5;
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, x_of(v), top - 6);
    cairo_line_to(cr, x_of(v), height - bottom);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    std::snprintf(label, sizeof label, "%.3g", v);
    cairo_move_to(cr, x_of(v) - 12, height - bottom + 18);
    cairo_show_text(cr, label);
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double y = top + row_px * (static_cast<double>(i) + 0.5);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_set_font_size(cr, 12);
    cairo_move_to(cr, 12, y + 4);
    cairo_show_text(cr, rows[i].system.c_str());
    // Dots, spread up and down by their index so that equal values stay visible.
    cairo_set_source_rgba(cr, 0.15, 0.35, 0.75, 0.45);
    for (std::size_t k = 0; k < rows[i].values.size(); ++k) {
      if (!std::isfinite(rows[i].values[k])) continue;
      const double jitter = (static_cast<double>(k % 7) - 3) * 2.5;
      cairo_arc(cr, x_of(rows[i].values[k]), y + jitter, 3, 0, 2 * M_PI);
      cairo_fill(cr);
    }
    const auto m = mean_interval(rows[i].values);
    if (m.n == 0) continue;
    cairo_set_source_rgb(cr, 0.85, 0.3, 0.1);
    cairo_set_line_width(cr, 3);
    cairo_move_to(cr, x_of(m.mean - m.half_width), y);
    cairo_line_to(cr, x_of(m.mean + m.half_width), y);
    cairo_stroke(cr);
    cairo_rectangle(cr, x_of(m.mean) - 2, y - 9, 4, 18);
    cairo_fill(cr);
  }
  finish_png(surface, cr, png_path);
}

void write_tradeoff_png(const std::string& metric, const std::vector<TradeoffSeries>& series,
                        std::optional<double> real_mean, const std::filesystem::path& png_path) {
  const int width = 900, height = 520, left = 80, right = 200, top = 50, bottom = 56;
  double nfe_lo = 1e300, nfe_hi = 0, lo = 1e300, hi = -1e300;
  for (const auto& s : series)
    for (const auto& p : s.points) {
      if (p.nfe <= 0) continue;
      const auto m = mean_interval(p.values);
      nfe_lo = std::min(nfe_lo, p.nfe), nfe_hi = std::max(nfe_hi, p.nfe);
      lo = std::min(lo, m.mean - m.half_width), hi = std::max(hi, m.mean + m.half_width);
    }
  if (real_mean) lo = std::min(lo, *real_mean), hi = std::max(hi, *real_mean);
  if (nfe_hi <= 0) nfe_lo = 1, nfe_hi = 10;
  if (nfe_hi / nfe_lo < 2) nfe_lo /= 1.5, nfe_hi *= 1.5;
  if (!(hi > lo)) lo -= 0.5, hi += 0.5;
  const double pad = 0.08 * (hi - lo);
  lo -= pad, hi += pad;
  const double log_lo = std::log10(nfe_lo) - 0.05, log_hi = std::log10(nfe_hi) + 0.05;
  auto x_of = [&](double nfe) { return left + (width - left - right) * (std::log10(nfe) - log_lo) / (log_hi - log_lo); };
  auto y_of = [&](double v) { return top + (height - top - bottom) * (hi - v) / (hi - lo); };

  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  cairo_t* cr = start_png(surface);
  cairo_move_to(cr, left, 30);
  cairo_show_text(cr, (metric + " against network evaluations per continuation").c_str());
  cairo_set_font_size(cr, 11);
  char label[48];
  draw_y_grid(cr, lo, hi, left, width - right, y_of);
  for (double decade = std::floor(log_lo); decade <= log_hi; decade += 1)
    for (int k : {1, 2, 5}) {
      const double nfe = k * std::pow(10, decade);
      if (std::log10(nfe) < log_lo || std::log10(nfe) > log_hi) continue;
      cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
      cairo_move_to(cr, x_of(nfe), top);
      cairo_line_to(cr, x_of(nfe), height - bottom);
      cairo_stroke(cr);
      cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
      std::snprintf(label, sizeof label, "%g", nfe);
      cairo_move_to(cr, x_of(nfe) - 8, height - bottom + 18);
      cairo_show_text(cr, label);
    }
  cairo_move_to(cr, (width - right) / 2.0, height - 12);
  cairo_show_text(cr, "NFE per continuation (log)");
  if (real_mean) {
    const double dash[] = {6, 4};
    cairo_set_dash(cr, dash, 2, 0);
    cairo_set_source_rgb(cr, 0.1, 0.6, 0.2);
    cairo_move_to(cr, left, y_of(*real_mean));
    cairo_line_to(cr, width - right, y_of(*real_mean));
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
    cairo_move_to(cr, width - right + 10, y_of(*real_mean) + 4);
    cairo_show_text(cr, "real");
  }
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto* c = kColours[i % kColourCount];
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    cairo_set_line_width(cr, 2);
    auto points = series[i].points;
    std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a.nfe < b.nfe; });
    bool first = true;
    for (const auto& p : points) {
      if (p.nfe <= 0) continue;
      const auto m = mean_interval(p.values);
      if (first) cairo_move_to(cr, x_of(p.nfe), y_of(m.mean));
      else cairo_line_to(cr, x_of(p.nfe), y_of(m.mean));
      first = false;
    }
    cairo_stroke(cr);
    for (const auto& p : points) {
      if (p.nfe <= 0) continue;
      const auto m = mean_interval(p.values);
      cairo_move_to(cr, x_of(p.nfe), y_of(m.mean - m.half_width));
      cairo_line_to(cr, x_of(p.nfe), y_of(m.mean + m.half_width));
      cairo_stroke(cr);
      cairo_arc(cr, x_of(p.nfe), y_of(m.mean), 3.5, 0, 2 * M_PI);
      cairo_fill(cr);
      cairo_move_to(cr, x_of(p.nfe) + 5, y_of(m.mean) - 6);
      cairo_show_text(cr, p.label.c_str());
    }
    cairo_move_to(cr, width - right + 10, top + 16 + 18 * static_cast<double>(i));
    cairo_show_text(cr, series[i].name.c_str());
  }
  finish_png(surface, cr, png_path);
}

void write_timeline_png(const std::string& title, const std::string& y_label, const std::vector<TimelineSeries>& series,
                        double bin_s, const std::vector<double>& marks_s, const std::filesystem::path& png_path) {
  const int width = 900, height = 480, left = 70, right = 200, top = 50, bottom = 56;
  std::size_t bins = 1;
  double hi = 0;
  for (const auto& s : series) {
    bins = std::max(bins, s.values.size());
    for (double v : s.values)
      if (std::isfinite(v)) hi = std::max(hi, v);
  }
  if (!(hi > 0)) hi = 1;
  hi *= 1.08;
  const double seconds = static_cast<double>(bins) * bin_s;
  auto x_of = [&](double t) { return left + (width - left - right) * t / seconds; };
  auto y_of = [&](double v) { return top + (height - top - bottom) * (hi - v) / hi; };

  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  cairo_t* cr = start_png(surface);
  cairo_move_to(cr, left, 30);
  cairo_show_text(cr, title.c_str());
  cairo_set_font_size(cr, 11);
  char label[48];
  draw_y_grid(cr, 0, hi, left, width - right, y_of);
  for (int second = 0; second <= static_cast<int>(seconds); ++second) {
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    std::snprintf(label, sizeof label, "%d", second);
    cairo_move_to(cr, x_of(second) - 3, height - bottom + 18);
    cairo_show_text(cr, label);
  }
  cairo_move_to(cr, (width - right) / 2.0 - 60, height - 12);
  cairo_show_text(cr, ("seconds into the continuation; " + y_label).c_str());
  const double dash[] = {6, 4};
  cairo_set_dash(cr, dash, 2, 0);
  cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
  for (double t : marks_s) {
    cairo_move_to(cr, x_of(t), top);
    cairo_line_to(cr, x_of(t), height - bottom);
    cairo_stroke(cr);
  }
  cairo_set_dash(cr, nullptr, 0, 0);
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto* c = kColours[i % kColourCount];
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    cairo_set_line_width(cr, 2);
    for (std::size_t k = 0; k < series[i].values.size(); ++k) {
      const double x0 = x_of(static_cast<double>(k) * bin_s), x1 = x_of(static_cast<double>(k + 1) * bin_s);
      const double y = y_of(series[i].values[k]);
      if (k == 0) cairo_move_to(cr, x0, y);
      else cairo_line_to(cr, x0, y);
      cairo_line_to(cr, x1, y);
    }
    cairo_stroke(cr);
    cairo_move_to(cr, width - right + 10, top + 16 + 18 * static_cast<double>(i));
    cairo_show_text(cr, series[i].name.c_str());
  }
  finish_png(surface, cr, png_path);
}

}  // namespace scorejam
