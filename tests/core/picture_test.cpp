// Piano-roll pictures: checked by reading the PNG back with cairo and looking at the pixels where
// roll_layout says the notes, rows and spans are.
#include "core/picture.h"

#include <cairo.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "core/roll.h"
#include "tests/core/test_support.h"

// Fontconfig keeps its configuration for the life of the process and never frees it; that is a
// one-off, not a leak per picture.
extern "C" const char* __lsan_default_suppressions() { return "leak:libfontconfig.so"; }

namespace scorejam {
namespace {

struct Image {
  int width = 0;
  int height = 0;
  std::vector<std::uint32_t> pixels;  // 0xRRGGBB, row by row

  std::uint32_t rgb(double x, double y) const {
    auto row = static_cast<std::size_t>(std::lround(y));
    return pixels[row * width + static_cast<std::size_t>(std::lround(x))];
  }
};

Image read_png(const std::filesystem::path& path) {
  cairo_surface_t* surface = cairo_image_surface_create_from_png(path.c_str());
  EXPECT_EQ(cairo_surface_status(surface), CAIRO_STATUS_SUCCESS) << path;
  Image image;
  image.width = cairo_image_surface_get_width(surface);
  image.height = cairo_image_surface_get_height(surface);
  int stride = cairo_image_surface_get_stride(surface);
  const unsigned char* data = cairo_image_surface_get_data(surface);
  image.pixels.resize(static_cast<std::size_t>(image.width) * image.height);
  for (int y = 0; data && y < image.height; ++y)
    for (int x = 0; x < image.width; ++x) {
      std::uint32_t pixel;
      std::memcpy(&pixel, data + y * stride + x * 4, sizeof pixel);
      image.pixels[static_cast<std::size_t>(y) * image.width + x] = pixel & 0xffffff;
    }
  cairo_surface_destroy(surface);
  return image;
}

Image draw(const std::vector<Note>& notes, const PictureOptions& options, const std::string& name) {
  auto path = testing::scratch_dir("picture_" + name) / "roll.png";
  write_roll_png(notes, path, options);
  return read_png(path);
}

double row_centre_y(const RollLayout& layout, int pitch) {
  return key_row_top_y(layout, pitch) + layout.key_height_px / 2.0;
}

PictureOptions ten_seconds() {
  PictureOptions options;
  options.title = "test";
  options.end_s = 10;
  return options;
}

TEST(RollPicture, HeightHoldsEveryKeyRowAndWidthStaysInLimits) {
  PictureOptions options = ten_seconds();
  options.key_height_px = 5;
  Image image = draw({{1, 2, 60, 64, 0}}, options, "size");
  EXPECT_GT(image.height, kKeys * options.key_height_px);
  EXPECT_GE(image.width, options.min_width_px);
  EXPECT_LE(image.width, options.max_width_px);
}

TEST(RollPicture, HugePixelsPerSecondIsClampedToMaxWidth) {
  PictureOptions options;
  options.end_s = 100000;
  options.pixels_per_second = 10000;
  options.max_width_px = 1200;
  EXPECT_EQ(roll_layout({}, options).width_px, 1200);
}

TEST(RollPicture, LoudAndSoftNotesHaveDifferentColours) {
  PictureOptions options = ten_seconds();
  std::vector<Note> notes{{2, 4, 60, 10, 0}, {2, 4, 64, 120, 0}};
  Image image = draw(notes, options, "velocity");
  RollLayout layout = roll_layout(notes, options);
  double x = time_to_x(layout, 3.3);
  std::uint32_t soft = image.rgb(x, row_centre_y(layout, 60));
  std::uint32_t loud = image.rgb(x, row_centre_y(layout, 64));
  std::uint32_t empty = image.rgb(time_to_x(layout, 7.3), row_centre_y(layout, 60));
  EXPECT_NE(soft, loud);
  EXPECT_NE(soft, empty);
  EXPECT_NE(loud, empty);
}

TEST(RollPicture, MarkedSpanTintsTheBackgroundInsideIt) {
  PictureOptions options = ten_seconds();
  options.marked_start_s = 2;
  options.marked_end_s = 5;
  Image image = draw({}, options, "marked");
  RollLayout layout = roll_layout({}, options);
  double y = row_centre_y(layout, 62);
  EXPECT_NE(image.rgb(time_to_x(layout, 3.5), y), image.rgb(time_to_x(layout, 7.5), y));
  EXPECT_EQ(image.rgb(time_to_x(layout, 6.5), y), image.rgb(time_to_x(layout, 7.5), y));
}

TEST(RollPicture, CropLeavesOutNotesOutsideTheRange) {
  PictureOptions options;
  options.start_s = 2;
  options.end_s = 6;
  Note inside{3, 4, 62, 90, 0};
  Note before{0.5, 1.5, 60, 90, 0};
  Note after{7, 8, 64, 90, 0};
  EXPECT_EQ(draw({inside, before, after}, options, "crop_all").pixels,
            draw({inside}, options, "crop_one").pixels);
}

TEST(RollPicture, NoteCutByStartIsDrawnFromTheLeftEdge) {
  PictureOptions options;
  options.start_s = 2;
  options.end_s = 6;
  Note cut{1, 3, 62, 120, 0};
  Image with = draw({cut}, options, "cut_with");
  Image without = draw({}, options, "cut_without");
  RollLayout layout = roll_layout({cut}, options);
  double x = time_to_x(layout, 2.5);
  double y = row_centre_y(layout, 62);
  EXPECT_NE(with.rgb(x, y), without.rgb(x, y));
}

TEST(RollPicture, PitchesOutsideTheKeyboardAreIgnored) {
  PictureOptions options = ten_seconds();
  std::vector<Note> off_keyboard{{1, 2, 20, 90, 0}, {1, 2, 109, 90, 0}, {3, 4, 0, 90, 0}};
  EXPECT_EQ(draw(off_keyboard, options, "off_keyboard").pixels, draw({}, options, "no_notes").pixels);
}

TEST(RollPicture, EmptyNoteListStillDrawsOneSecondOfAxes) {
  PictureOptions options;
  options.title = "nothing played";
  Image image = draw({}, options, "empty");
  RollLayout layout = roll_layout({}, options);
  EXPECT_DOUBLE_EQ(layout.end_s, 1);
  // The C4 label sits left of the plot on the C4 row.
  bool label_ink = false;
  for (int x = 0; x < layout.plot_left_px; ++x)
    label_ink = label_ink || image.rgb(x, row_centre_y(layout, 60)) < 0x808080;
  EXPECT_TRUE(label_ink);
}

TEST(RollPicture, UnwritablePathThrowsNamingThePath) {
  auto path = testing::scratch_dir("picture_unwritable") / "missing-folder" / "roll.png";
  try {
    write_roll_png({{0, 1, 60, 64, 0}}, path, ten_seconds());
    FAIL() << "no PictureError";
  } catch (const PictureError& error) {
    EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos) << error.what();
  }
}

TEST(RollPicture, RejectsNonFiniteTimes) {
  PictureOptions options;
  options.end_s = std::numeric_limits<double>::infinity();
  EXPECT_THROW(roll_layout({}, options), PictureError);
  options.end_s.reset();
  options.marked_start_s = std::nan("");
  EXPECT_THROW(roll_layout({}, options), PictureError);
}

TEST(RollPicture, RejectsNegativeStart) {
  PictureOptions options;
  options.start_s = -1;
  auto path = testing::scratch_dir("picture_negative") / "roll.png";
  EXPECT_THROW(write_roll_png({}, path, options), PictureError);
}

TEST(RollLayout, DefaultEndIsTheLastNoteEnd) {
  EXPECT_DOUBLE_EQ(roll_layout({{0, 2, 60, 64, 0}, {1, 7.5, 62, 64, 0}}, {}).end_s, 7.5);
}

TEST(RollLayout, MapsStartAndEndToThePlotEdges) {
  PictureOptions options;
  options.start_s = 4;
  options.end_s = 12;
  RollLayout layout = roll_layout({}, options);
  EXPECT_DOUBLE_EQ(time_to_x(layout, 4), layout.plot_left_px);
  EXPECT_DOUBLE_EQ(time_to_x(layout, 12), layout.plot_left_px + layout.plot_width_px);
}

TEST(RollLayout, PutsHighKeysAboveLowKeys) {
  RollLayout layout = roll_layout({}, {});
  EXPECT_DOUBLE_EQ(key_row_top_y(layout, 108), layout.plot_top_px);
  EXPECT_LT(key_row_top_y(layout, 61), key_row_top_y(layout, 60));
}

}  // namespace
}  // namespace scorejam
