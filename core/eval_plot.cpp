#include "core/eval_plot.h"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "core/music_metrics.h"

namespace scorejam {

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
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  cairo_set_font_size(cr, 16);
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
  cairo_destroy(cr);
  const auto status = cairo_surface_write_to_png(surface, png_path.c_str());
  cairo_surface_destroy(surface);
  if (status != CAIRO_STATUS_SUCCESS)
    throw std::runtime_error("cannot write " + png_path.string() + ": " + cairo_status_to_string(status));
}

}  // namespace scorejam
