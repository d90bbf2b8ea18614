#include "train/loss_plot.h"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace scorejam {

void read_loss_csv(const std::filesystem::path& csv_path, std::vector<LossPoint>& train,
                   std::vector<LossPoint>& validation) {
  std::ifstream in(csv_path);
  std::string line;
  std::getline(in, line);  // header
  auto number = [](const std::string& text, double& out) {
    char* end = nullptr;
    out = std::strtod(text.c_str(), &end);
    return !text.empty() && *end == '\0' && std::isfinite(out);
  };
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string step_text, epoch_text, train_text, val_text;
    std::getline(fields, step_text, ',');
    std::getline(fields, epoch_text, ',');
    std::getline(fields, train_text, ',');
    std::getline(fields, val_text, ',');
    double step = 0, loss = 0;
    if (!number(step_text, step)) continue;
    if (number(train_text, loss)) train.push_back({step, loss});
    if (number(val_text, loss)) validation.push_back({step, loss});
  }
}

void write_loss_png(const std::vector<LossPoint>& train, const std::vector<LossPoint>& validation,
                    const std::filesystem::path& png_path, const std::string& title) {
  const int width = 900, height = 540, left = 80, right = 30, top = 50, bottom = 60;
  double max_step = 1, lo = 1e300, hi = 0;
  for (const auto* series : {&train, &validation})
    for (const auto& p : *series) {
      if (!(p.loss > 0) || !std::isfinite(p.loss)) continue;
      max_step = std::max(max_step, p.step);
      lo = std::min(lo, p.loss);
      hi = std::max(hi, p.loss);
    }
  if (hi <= 0) lo = 1, hi = 10;
  const double log_lo = std::floor(std::log10(lo) * 4) / 4, log_hi = std::ceil(std::log10(hi) * 4) / 4 + 1e-9;
  auto x_of = [&](double step) { return left + (width - left - right) * step / max_step; };
  auto y_of = [&](double loss) {
    return top + (height - top - bottom) * (log_hi - std::log10(loss)) / (log_hi - log_lo);
  };

  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 12);
  // Grid and labels: one line per power of ten and its halves in log space.
  char label[32];
  for (double e = std::ceil(log_lo * 2) / 2; e <= log_hi; e += 0.5) {
    const double y = y_of(std::pow(10, e));
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, left, y);
    cairo_line_to(cr, width - right, y);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    std::snprintf(label, sizeof label, "%.3g", std::pow(10, e));
    cairo_move_to(cr, 10, y + 4);
    cairo_show_text(cr, label);
  }
  for (int i = 0; i <= 5; ++i) {
    const double step = max_step * i / 5;
    std::snprintf(label, sizeof label, "%.0f", step);
    cairo_move_to(cr, x_of(step) - 10, height - bottom + 20);
    cairo_show_text(cr, label);
  }
  cairo_move_to(cr, width / 2.0 - 20, height - 15);
  cairo_show_text(cr, "step");
  cairo_set_font_size(cr, 16);
  cairo_move_to(cr, left, 30);
  cairo_show_text(cr, title.c_str());

  auto draw = [&](const std::vector<LossPoint>& series, double r, double g, double b, const char* name, int row) {
    cairo_set_source_rgb(cr, r, g, b);
    cairo_set_line_width(cr, 2);
    bool first = true;
    for (const auto& p : series) {
      if (!(p.loss > 0) || !std::isfinite(p.loss)) continue;
      if (first) cairo_move_to(cr, x_of(p.step), y_of(p.loss));
      else cairo_line_to(cr, x_of(p.step), y_of(p.loss));
      first = false;
    }
    cairo_stroke(cr);
    if (series.size() == 1) {
      cairo_arc(cr, x_of(series[0].step), y_of(series[0].loss), 3, 0, 2 * M_PI);
      cairo_fill(cr);
    }
    cairo_set_font_size(cr, 13);
    cairo_move_to(cr, width - right - 170, top + 20 + 18 * row);
    cairo_show_text(cr, name);
  };
  draw(train, 0.15, 0.35, 0.75, "train loss (mean per log)", 0);
  draw(validation, 0.85, 0.35, 0.1, "validation loss (EMA)", 1);

  cairo_destroy(cr);
  const auto status = cairo_surface_write_to_png(surface, png_path.c_str());
  cairo_surface_destroy(surface);
  if (status != CAIRO_STATUS_SUCCESS)
    throw std::runtime_error("cannot write " + png_path.string() + ": " + cairo_status_to_string(status));
}

}  // namespace scorejam
