// Draws piano rolls as PNG with cairo: the layout (canvas size, time and key mapping), the key
// background, notes coloured by velocity on viridis, the axes, a velocity colour bar and an
// optional marked span. No threads.
#include "core/picture.h"

#include <cairo.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <memory>

#include "core/roll.h"

namespace scorejam {

namespace {

constexpr int kMarginLeftPx = 48;
constexpr int kMarginRightPx = 84;
constexpr int kMarginTopPx = 52;
constexpr int kMarginBottomPx = 50;
constexpr int kMinPlotWidthPx = 100;
// Bounds on the canvas, whatever the options: 16384 x 2920 px is under 200 MB.
constexpr int kMaxWidthPx = 16384;
constexpr int kMaxKeyHeightPx = 32;
constexpr double kFitPixelsPerSecond = 100;
constexpr double kMaxTimeS = 1e6;  // about eleven days: far past any performance

constexpr double kLabelFontPx = 11;
constexpr double kTitleFontPx = 16;
constexpr const char* kFont = "DejaVu Sans";

struct Rgb {
  double r, g, b;
};

using Surface = std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)>;
using Context = std::unique_ptr<cairo_t, decltype(&cairo_destroy)>;

std::string number_text(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

void require_time(const char* name, double value) {
  if (!std::isfinite(value) || value < 0 || value > kMaxTimeS)
    throw PictureError(std::string("picture option ") + name + " must be a time in 0.." +
                       number_text(kMaxTimeS) + " s, got " + number_text(value));
}

void require_range(const char* name, int value, int low, int high) {
  if (value < low || value > high)
    throw PictureError(std::string("picture option ") + name + " must be in " + std::to_string(low) + ".." +
                       std::to_string(high) + ", got " + std::to_string(value));
}

bool drawable(const Note& note) {
  return note.pitch >= kLowestPitch && note.pitch <= kHighestPitch && std::isfinite(note.start_s) &&
         std::isfinite(note.end_s) && note.end_s > note.start_s;
}

double default_end_s(const std::vector<Note>& notes, double start_s) {
  double end_s = start_s + 1;
  for (const auto& note : notes)
    if (drawable(note)) end_s = std::max(end_s, note.end_s);
  return std::min(end_s, kMaxTimeS);
}

bool is_black_key(int pitch) {
  switch (pitch % 12) {
    case 1: case 3: case 6: case 8: case 10: return true;
    default: return false;
  }
}

// matplotlib's viridis at nine evenly spaced points: perceptually even, dark for soft, bright
// for loud, and readable by colour-blind eyes.
Rgb viridis(double t) {
  static constexpr std::array<Rgb, 9> kStops{{{0.267, 0.005, 0.329},
                                              {0.283, 0.141, 0.458},
                                              {0.230, 0.322, 0.546},
                                              {0.173, 0.449, 0.558},
                                              {0.128, 0.567, 0.551},
                                              {0.158, 0.684, 0.502},
                                              {0.369, 0.789, 0.383},
                                              {0.678, 0.864, 0.190},
                                              {0.993, 0.906, 0.144}}};
  t = std::clamp(t, 0.0, 1.0) * (kStops.size() - 1);
  auto i = std::min(static_cast<std::size_t>(t), kStops.size() - 2);
  double f = t - static_cast<double>(i);
  const Rgb& a = kStops[i];
  const Rgb& b = kStops[i + 1];
  return {a.r + (b.r - a.r) * f, a.g + (b.g - a.g) * f, a.b + (b.b - a.b) * f};
}

Rgb velocity_colour(int velocity) { return viridis((std::clamp(velocity, 1, 127) - 1) / 126.0); }

void set_colour(cairo_t* cr, Rgb c, double alpha = 1) { cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha); }

void set_font(cairo_t* cr, double size_px, bool bold = false) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size_px);
}

double text_width(cairo_t* cr, const std::string& text) {
  cairo_text_extents_t extents;
  cairo_text_extents(cr, text.c_str(), &extents);
  return extents.x_advance;
}

// Draws text with its anchor at (x, y): align_x 0 = left, 0.5 = centre, 1 = right edge; y is the
// vertical centre of the digits and capitals, so labels line up with the rows and ticks they name.
void draw_text(cairo_t* cr, double x, double y, const std::string& text, double align_x) {
  cairo_font_extents_t font;
  cairo_font_extents(cr, &font);
  double cap_height = font.ascent * 0.72;
  cairo_move_to(cr, x - text_width(cr, text) * align_x, y + cap_height / 2);
  cairo_show_text(cr, text.c_str());
}

double plot_right(const RollLayout& layout) { return layout.plot_left_px + layout.plot_width_px; }
double plot_bottom(const RollLayout& layout) {
  return key_row_top_y(layout, kLowestPitch) + layout.key_height_px;
}

void draw_key_rows(cairo_t* cr, const RollLayout& layout) {
  for (int pitch = kLowestPitch; pitch <= kHighestPitch; ++pitch) {
    double shade = is_black_key(pitch) ? 0.90 : 0.975;
    cairo_set_source_rgb(cr, shade, shade, shade);
    cairo_rectangle(cr, layout.plot_left_px, key_row_top_y(layout, pitch), layout.plot_width_px,
                    layout.key_height_px);
    cairo_fill(cr);
  }
  cairo_set_source_rgb(cr, 0.72, 0.72, 0.72);
  cairo_set_line_width(cr, 1);
  for (int pitch = 24; pitch <= kHighestPitch; pitch += 12) {
    double y = key_row_top_y(layout, pitch) + layout.key_height_px - 0.5;  // the B|C boundary
    cairo_move_to(cr, layout.plot_left_px, y);
    cairo_line_to(cr, plot_right(layout), y);
  }
  cairo_stroke(cr);
}

struct TimeTicks {
  double step_s = 1;
  bool minutes = false;  // m:ss labels
};

std::string tick_label(double time_s, const TimeTicks& ticks) {
  if (!ticks.minutes) return number_text(time_s) + " s";
  auto total = static_cast<long long>(std::llround(time_s));
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%lld:%02lld", total / 60, total % 60);
  return buffer;
}

// Counted in whole steps so 0.1 s steps do not drift.
std::vector<double> tick_times(const RollLayout& layout, const TimeTicks& ticks) {
  std::vector<double> times;
  // + 0.0 turns ceil's -0 into 0, so the first label reads "0 s".
  double first = std::ceil(layout.start_s / ticks.step_s - 1e-9) + 0.0;
  for (double i = first; i * ticks.step_s <= layout.end_s + 1e-9; ++i) times.push_back(i * ticks.step_s);
  return times;
}

// The smallest musical step (1, 2, 5, 10, 15, 30, 60 s ...) whose labels keep a gap between them.
TimeTicks choose_ticks(cairo_t* cr, const RollLayout& layout) {
  static constexpr std::array<double, 16> kSteps{0.1, 0.2, 0.5, 1,   2,   5,    10,   15,
                                                 30,  60,  120, 300, 600, 900, 1800, 3600};
  TimeTicks ticks;
  ticks.minutes = layout.end_s >= 120;
  double px_per_s = layout.plot_width_px / (layout.end_s - layout.start_s);
  auto fits = [&](double step) {
    ticks.step_s = step;
    double widest = text_width(cr, tick_label(std::floor(layout.end_s / step) * step, ticks));
    return step * px_per_s >= widest + 24;
  };
  set_font(cr, kLabelFontPx);
  for (double step : kSteps)
    if ((!ticks.minutes || step >= 1) && fits(step)) return ticks;
  // Beyond an hour per tick, whole hours doubling; ends because times are capped at kMaxTimeS.
  for (double step = 2 * kSteps.back();; step *= 2)
    if (fits(step)) return ticks;
}

void draw_time_grid(cairo_t* cr, const RollLayout& layout, const TimeTicks& ticks) {
  cairo_set_source_rgba(cr, 0, 0, 0, 0.08);
  cairo_set_line_width(cr, 1);
  for (double t : tick_times(layout, ticks)) {
    double x = std::round(time_to_x(layout, t)) + 0.5;
    cairo_move_to(cr, x, layout.plot_top_px);
    cairo_line_to(cr, x, plot_bottom(layout));
  }
  cairo_stroke(cr);
}

struct Span {
  double start_s, end_s;
};

std::optional<Span> visible_marked_span(const RollLayout& layout, const PictureOptions& options) {
  if (!options.marked_start_s && !options.marked_end_s) return std::nullopt;
  Span span{std::max(options.marked_start_s.value_or(layout.start_s), layout.start_s),
            std::min(options.marked_end_s.value_or(layout.end_s), layout.end_s)};
  if (span.end_s <= span.start_s) return std::nullopt;
  return span;
}

const Rgb kMarkColour{0.85, 0.40, 0.05};

void draw_marked_band(cairo_t* cr, const RollLayout& layout, const Span& span) {
  double x0 = time_to_x(layout, span.start_s);
  double x1 = time_to_x(layout, span.end_s);
  set_colour(cr, kMarkColour, 0.13);
  cairo_rectangle(cr, x0, layout.plot_top_px, x1 - x0, plot_bottom(layout) - layout.plot_top_px);
  cairo_fill(cr);
}

void draw_marked_edges_and_label(cairo_t* cr, const RollLayout& layout, const Span& span,
                                 const std::string& label) {
  double x0 = time_to_x(layout, span.start_s);
  double x1 = time_to_x(layout, span.end_s);
  // A bracket above the plot ties the label to the band without covering any note.
  double y = layout.plot_top_px - 4.5;
  set_colour(cr, kMarkColour);
  cairo_set_line_width(cr, 1.5);
  cairo_move_to(cr, x0 + 0.75, layout.plot_top_px);
  cairo_line_to(cr, x0 + 0.75, y);
  cairo_line_to(cr, x1 - 0.75, y);
  cairo_line_to(cr, x1 - 0.75, layout.plot_top_px);
  cairo_stroke(cr);
  if (label.empty()) return;
  set_font(cr, kLabelFontPx, true);
  double width = text_width(cr, label);
  double x = std::clamp((x0 + x1) / 2 - width / 2, 2.0, layout.width_px - width - 2);
  // Paper behind the label so the bracket line does not run through it.
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_rectangle(cr, x - 4, y - 8, width + 8, 10);
  cairo_fill(cr);
  set_colour(cr, kMarkColour);
  draw_text(cr, x, y - 3, label, 0);
}

void draw_notes(cairo_t* cr, const RollLayout& layout, const std::vector<Note>& notes) {
  cairo_save(cr);
  cairo_rectangle(cr, layout.plot_left_px, layout.plot_top_px, layout.plot_width_px,
                  plot_bottom(layout) - layout.plot_top_px);
  cairo_clip(cr);
  cairo_set_line_width(cr, 1);
  for (const auto& note : notes) {
    if (!drawable(note) || note.end_s <= layout.start_s || note.start_s >= layout.end_s) continue;
    double x0 = time_to_x(layout, std::max(note.start_s, layout.start_s));
    double x1 = time_to_x(layout, std::min(note.end_s, layout.end_s));
    double width = std::max(x1 - x0, 2.0);  // even a grace note stays visible
    double y = key_row_top_y(layout, note.pitch);
    Rgb fill = velocity_colour(note.velocity);
    // The darker outline keeps bright (loud) notes visible on the pale rows and separates
    // repeated notes on one key.
    cairo_rectangle(cr, x0 + 0.5, y + 0.5, width - 1, layout.key_height_px - 1);
    set_colour(cr, fill);
    cairo_fill_preserve(cr);
    set_colour(cr, {fill.r * 0.55, fill.g * 0.55, fill.b * 0.55});
    cairo_stroke(cr);
  }
  cairo_restore(cr);
}

void draw_plot_frame(cairo_t* cr, const RollLayout& layout) {
  cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, layout.plot_left_px - 0.5, layout.plot_top_px - 0.5, layout.plot_width_px + 1,
                  plot_bottom(layout) - layout.plot_top_px + 1);
  cairo_stroke(cr);
}

void draw_time_axis(cairo_t* cr, const RollLayout& layout, const TimeTicks& ticks) {
  double y = plot_bottom(layout);
  set_font(cr, kLabelFontPx);
  for (double t : tick_times(layout, ticks)) {
    double x = std::round(time_to_x(layout, t)) + 0.5;
    cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
    cairo_move_to(cr, x, y);
    cairo_line_to(cr, x, y + 4);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    draw_text(cr, x, y + 13, tick_label(t, ticks), 0.5);
  }
  draw_text(cr, layout.plot_left_px + layout.plot_width_px / 2.0, y + 35,
            ticks.minutes ? "time (m:ss)" : "time (s)", 0.5);
}

void draw_pitch_axis(cairo_t* cr, const RollLayout& layout) {
  set_font(cr, kLabelFontPx);
  cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
  double x = layout.plot_left_px - 6;
  for (int pitch = 24; pitch <= kHighestPitch; pitch += 12)
    draw_text(cr, x, key_row_top_y(layout, pitch) + layout.key_height_px / 2.0, note_name(pitch), 1);
  // A0 sits three rows under C1: only label it where the two cannot touch.
  if (3 * layout.key_height_px >= kLabelFontPx + 1)
    draw_text(cr, x, key_row_top_y(layout, kLowestPitch) + layout.key_height_px / 2.0,
              note_name(kLowestPitch), 1);
}

void draw_title(cairo_t* cr, const RollLayout& layout, const std::string& title) {
  if (title.empty()) return;
  set_font(cr, kTitleFontPx, true);
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  draw_text(cr, layout.plot_left_px, 20, title, 0);
}

void draw_velocity_bar(cairo_t* cr, const RollLayout& layout) {
  double x = plot_right(layout) + 22;
  double top = layout.plot_top_px + 22;
  double height = std::min(160.0, plot_bottom(layout) - top);
  constexpr double kBarWidth = 14;
  auto gradient = std::unique_ptr<cairo_pattern_t, decltype(&cairo_pattern_destroy)>(
      cairo_pattern_create_linear(0, top + height, 0, top), cairo_pattern_destroy);
  for (int i = 0; i <= 16; ++i) {
    Rgb c = viridis(i / 16.0);
    cairo_pattern_add_color_stop_rgb(gradient.get(), i / 16.0, c.r, c.g, c.b);
  }
  cairo_set_source(cr, gradient.get());
  cairo_rectangle(cr, x, top, kBarWidth, height);
  cairo_fill(cr);
  cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, x - 0.5, top - 0.5, kBarWidth + 1, height + 1);
  cairo_stroke(cr);

  set_font(cr, kLabelFontPx);
  cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
  draw_text(cr, x + kBarWidth / 2, top - 12, "velocity", 0.5);
  for (int velocity : {1, 64, 127}) {
    double y = top + height * (1 - (velocity - 1) / 126.0);
    cairo_move_to(cr, x + kBarWidth, std::round(y) + 0.5);
    cairo_line_to(cr, x + kBarWidth + 3, std::round(y) + 0.5);
    cairo_stroke(cr);
    draw_text(cr, x + kBarWidth + 6, y, std::to_string(velocity), 0);
  }
}

void check_surface(cairo_surface_t* surface, const std::filesystem::path& png_path) {
  if (auto status = cairo_surface_status(surface); status != CAIRO_STATUS_SUCCESS)
    throw PictureError("cannot draw piano-roll picture " + png_path.string() + ": " +
                       cairo_status_to_string(status));
}

}  // namespace

RollLayout roll_layout(const std::vector<Note>& notes, const PictureOptions& options) {
  require_time("start_s", options.start_s);
  if (options.end_s) require_time("end_s", *options.end_s);
  if (options.marked_start_s) require_time("marked_start_s", *options.marked_start_s);
  if (options.marked_end_s) require_time("marked_end_s", *options.marked_end_s);
  if (options.marked_start_s && options.marked_end_s && *options.marked_end_s < *options.marked_start_s)
    throw PictureError("picture option marked_end_s (" + number_text(*options.marked_end_s) +
                       ") is before marked_start_s (" + number_text(*options.marked_start_s) + ")");
  constexpr int kMinCanvasWidthPx = kMarginLeftPx + kMarginRightPx + kMinPlotWidthPx;
  require_range("max_width_px", options.max_width_px, kMinCanvasWidthPx, kMaxWidthPx);
  require_range("min_width_px", options.min_width_px, 1, options.max_width_px);
  require_range("key_height_px", options.key_height_px, 1, kMaxKeyHeightPx);
  require_range("pixels_per_second", options.pixels_per_second, 0, kMaxWidthPx);

  RollLayout layout;
  layout.start_s = options.start_s;
  layout.end_s = options.end_s.value_or(default_end_s(notes, options.start_s));
  if (layout.end_s <= layout.start_s)
    throw PictureError("picture option end_s (" + number_text(layout.end_s) + ") must be after start_s (" +
                       number_text(layout.start_s) + ")");
  double px_per_s = options.pixels_per_second > 0 ? options.pixels_per_second : kFitPixelsPerSecond;
  // In double, so a huge duration clamps instead of overflowing.
  double wanted = kMarginLeftPx + kMarginRightPx + px_per_s * (layout.end_s - layout.start_s);
  double low = std::max(options.min_width_px, kMinCanvasWidthPx);
  layout.width_px = static_cast<int>(std::lround(std::clamp(wanted, low, double(options.max_width_px))));
  layout.key_height_px = options.key_height_px;
  layout.height_px = kMarginTopPx + kKeys * options.key_height_px + kMarginBottomPx;
  layout.plot_left_px = kMarginLeftPx;
  layout.plot_top_px = kMarginTopPx;
  layout.plot_width_px = layout.width_px - kMarginLeftPx - kMarginRightPx;
  return layout;
}

double time_to_x(const RollLayout& layout, double time_s) {
  double fraction = (time_s - layout.start_s) / (layout.end_s - layout.start_s);
  return layout.plot_left_px + fraction * layout.plot_width_px;
}

double key_row_top_y(const RollLayout& layout, int pitch) {
  return layout.plot_top_px + (kHighestPitch - pitch) * layout.key_height_px;
}

void write_roll_png(const std::vector<Note>& notes, const std::filesystem::path& png_path,
                    const PictureOptions& options) {
  RollLayout layout = roll_layout(notes, options);
  Surface surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, layout.width_px, layout.height_px),
                  cairo_surface_destroy);
  check_surface(surface.get(), png_path);
  Context context(cairo_create(surface.get()), cairo_destroy);
  cairo_t* cr = context.get();

  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  TimeTicks ticks = choose_ticks(cr, layout);
  auto marked = visible_marked_span(layout, options);
  draw_key_rows(cr, layout);
  draw_time_grid(cr, layout, ticks);
  // The band goes under the notes so the given part stays as readable as the rest.
  if (marked) draw_marked_band(cr, layout, *marked);
  draw_notes(cr, layout, notes);
  draw_plot_frame(cr, layout);
  draw_time_axis(cr, layout, ticks);
  draw_pitch_axis(cr, layout);
  draw_title(cr, layout, options.title);
  draw_velocity_bar(cr, layout);
  if (marked) draw_marked_edges_and_label(cr, layout, *marked, options.marked_label);

  if (auto status = cairo_status(cr); status != CAIRO_STATUS_SUCCESS)
    throw PictureError("cannot draw piano-roll picture " + png_path.string() + ": " +
                       cairo_status_to_string(status));
  if (auto status = cairo_surface_write_to_png(surface.get(), png_path.c_str());
      status != CAIRO_STATUS_SUCCESS)
    throw PictureError("cannot write piano-roll picture " + png_path.string() + ": " +
                       cairo_status_to_string(status));
}

}  // namespace scorejam
