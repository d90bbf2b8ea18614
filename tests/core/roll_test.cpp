#include "core/roll.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace scorejam {
namespace {

// Random notes on the grid that never overlap on one key (adjacent is allowed: the second onset
// separates them).
std::vector<Note> random_grid_notes(std::mt19937& rng, double fs_hz, int frames) {
  std::vector<Note> notes;
  std::uniform_int_distribution<int> count(0, 12), gap(0, 6), length(1, 24), velocity(1, 127);
  for (int pitch = kLowestPitch; pitch <= kHighestPitch; ++pitch) {
    int frame = gap(rng);
    for (int i = count(rng); i > 0; --i) {
      const int end = frame + length(rng);
      if (end > frames) break;
      notes.push_back({frame / fs_hz, end / fs_hz, pitch, velocity(rng), 0});
      frame = end + gap(rng);
    }
  }
  sort_notes(notes);
  return notes;
}

TEST(PianoRoll, NotesToRollToNotesIsExactOnTheGrid) {
  for (double fs_hz : {16.0, 31.25, 100.0}) {
    for (unsigned seed = 0; seed < 40; ++seed) {
      std::mt19937 rng(seed);
      auto notes = random_grid_notes(rng, fs_hz, 400);
      auto roll = notes_to_roll(notes, {}, {fs_hz, false});
      auto back = roll_to_notes(roll);
      ASSERT_EQ(back.size(), notes.size()) << "fs " << fs_hz << " seed " << seed;
      for (std::size_t i = 0; i < notes.size(); ++i) {
        EXPECT_EQ(back[i].pitch, notes[i].pitch);
        EXPECT_EQ(back[i].velocity, notes[i].velocity);
        EXPECT_NEAR(back[i].start_s, notes[i].start_s, 1e-9);
        EXPECT_NEAR(back[i].end_s, notes[i].end_s, 1e-9);
      }
    }
  }
}

TEST(PianoRoll, RenderThenDecodeIsIdentityOnGridNotes) {
  for (unsigned seed = 100; seed < 140; ++seed) {
    std::mt19937 rng(seed);
    auto grid = quantize(random_grid_notes(rng, 16, 300), {}, {16, false});
    EXPECT_EQ(decode_roll(render_roll(grid, 16, 0, 300)), grid) << "seed " << seed;
  }
}

TEST(PianoRoll, RepeatedNoteIsTwoOnsets) {
  auto roll = notes_to_roll({{0.0, 0.5, 60, 80, 0}, {0.5, 1.0, 60, 40, 0}}, {}, {16, false});
  const int key = 60 - kLowestPitch;
  EXPECT_EQ(roll.at(RollChannel::kOnset, key, 0), 1.0f);
  EXPECT_EQ(roll.at(RollChannel::kOnset, key, 8), 1.0f);
  EXPECT_EQ(roll.at(RollChannel::kOnset, key, 4), 0.0f);
  auto notes = roll_to_notes(roll);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0].velocity, 80);
  EXPECT_EQ(notes[1].velocity, 40);
}

TEST(PianoRoll, ChannelsHoldOnsetFrameAndVelocity) {
  auto roll = notes_to_roll({{0.25, 0.75, 21, 127, 0}}, {}, {16, false});
  EXPECT_EQ(roll.frames(), 12);
  EXPECT_EQ(roll.at(RollChannel::kOnset, 0, 4), 1.0f);
  EXPECT_EQ(roll.at(RollChannel::kOnset, 0, 5), 0.0f);
  for (int f = 4; f < 12; ++f) {
    EXPECT_EQ(roll.at(RollChannel::kFrame, 0, f), 1.0f);
    EXPECT_EQ(roll.at(RollChannel::kVelocity, 0, f), 1.0f);
  }
  EXPECT_EQ(roll.at(RollChannel::kFrame, 0, 3), 0.0f);
}

TEST(PianoRoll, PitchesOutsideTheKeyboardAreDropped) {
  auto grid = quantize({{0, 1, 20, 64, 0}, {0, 1, 109, 64, 0}, {0, 1, 108, 64, 0}}, {}, {});
  ASSERT_EQ(grid.size(), 1u);
  EXPECT_EQ(grid[0].pitch, 108);
}

TEST(PianoRoll, ShortNoteLastsAtLeastOneFrame) {
  auto grid = quantize({{1.0, 1.01, 60, 64, 0}}, {}, {16, false});
  ASSERT_EQ(grid.size(), 1u);
  EXPECT_EQ(grid[0].end_frame - grid[0].onset_frame, 1);
}

TEST(PianoRoll, SustainPedalLengthensNotesByDefault) {
  std::vector<Note> notes{{0.0, 0.5, 60, 64, 0}};
  std::vector<ControlChange> pedal{{0.25, 0, 64, 127}, {2.0, 0, 64, 0}};
  EXPECT_EQ(quantize(notes, pedal, {}).at(0).end_frame, 32);
  EXPECT_EQ(quantize(notes, pedal, {16, false}).at(0).end_frame, 8);
}

TEST(PianoRoll, WindowCutsNotesAndDropsOnsetsBeforeIt) {
  std::vector<GridNote> grid{{0, 10, 60, 100}, {12, 14, 62, 50}, {20, 30, 64, 70}};
  auto roll = render_roll(grid, 16, 5, 10);  // frames 5..14
  EXPECT_EQ(roll.at(RollChannel::kFrame, 60 - kLowestPitch, 0), 1.0f);
  EXPECT_EQ(roll.at(RollChannel::kOnset, 60 - kLowestPitch, 0), 0.0f);
  EXPECT_EQ(roll.at(RollChannel::kOnset, 62 - kLowestPitch, 7), 1.0f);
  for (int f = 0; f < 10; ++f) EXPECT_EQ(roll.at(RollChannel::kFrame, 64 - kLowestPitch, f), 0.0f);
  auto decoded = decode_roll(roll);
  ASSERT_EQ(decoded.size(), 2u);
  EXPECT_EQ(decoded[0], (GridNote{0, 5, 60, 100}));  // held from before the window
  EXPECT_EQ(decoded[1], (GridNote{7, 9, 62, 50}));
}

TEST(PianoRoll, DecodeRespectsThresholds) {
  PianoRoll roll(4, 16);
  for (int f = 0; f < 4; ++f) roll.at(RollChannel::kFrame, 10, f) = 0.4f;
  roll.at(RollChannel::kVelocity, 10, 0) = 0.5f;
  EXPECT_TRUE(decode_roll(roll).empty());
  auto notes = decode_roll(roll, {0.5f, 0.3f});
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0], (GridNote{0, 4, 31, 64}));
}

TEST(NoteName, NamesPitchesAsMusiciansDo) {
  EXPECT_EQ(note_name(21), "A0");
  EXPECT_EQ(note_name(60), "C4");
  EXPECT_EQ(note_name(54), "F#3");
  EXPECT_EQ(note_name(108), "C8");
}

}  // namespace
}  // namespace scorejam
