// Piano-roll pictures as PNG (cairo): time in seconds across, keys up the side labelled with the
// C of each octave (C1..C8), velocity as colour, a title. No threads.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/notes.h"

namespace scorejam {

struct PictureOptions {
  std::string title;
  double start_s = 0;                  // first second shown
  std::optional<double> end_s;         // last second shown; default: end of the last note
  int pixels_per_second = 0;           // 0: fit the width limits below
  int min_width_px = 800;
  int max_width_px = 2400;
  int key_height_px = 6;               // per key: 88 keys -> 528 px of roll
  // A shaded span, e.g. the prompt of a continuation: [marked_start_s, marked_end_s).
  std::optional<double> marked_start_s;
  std::optional<double> marked_end_s;
  std::string marked_label = "prompt";
};

class PictureError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where the picture puts things: the canvas size and the plot rectangle that maps
// [start_s, end_s) across and the 88 keys (C8 at the top) down. Drawing and tests share it.
struct RollLayout {
  int width_px = 0;
  int height_px = 0;
  double start_s = 0;
  double end_s = 1;
  int plot_left_px = 0;   // x of start_s
  int plot_top_px = 0;    // top edge of the C8 row
  int plot_width_px = 0;  // x of end_s is plot_left_px + plot_width_px
  int key_height_px = 6;
};

// Validates the options (finite, non-negative times; bounded sizes) and throws PictureError
// naming the offending option.
RollLayout roll_layout(const std::vector<Note>& notes, const PictureOptions& options);
double time_to_x(const RollLayout& layout, double time_s);
double key_row_top_y(const RollLayout& layout, int pitch);

// Writes the notes (already pedal-lengthened if wanted) as a PNG; throws PictureError naming the
// path on failure.
void write_roll_png(const std::vector<Note>& notes, const std::filesystem::path& png_path,
                    const PictureOptions& options);

}  // namespace scorejam
