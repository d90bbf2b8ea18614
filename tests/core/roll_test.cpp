#include "core/roll.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>

#include "core/midi_file.h"

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

RollFormat pedal_and_offsets(double fs_hz = 16) {
  RollFormat format;
  format.fs_hz = fs_hz;
  format.sustain_pedal = false;
  format.pedal_channel = true;
  format.onset_offsets = true;
  return format;
}

TEST(OnsetOffsets, DecodedNotesStartAtTheirExactTimes) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> jitter(-0.5, 0.5);
  auto notes = random_grid_notes(rng, 16, 400);
  // Off the grid by up to half a frame, never onto a neighbour's frame.
  for (auto& n : notes) n.start_s = std::abs(n.start_s + jitter(rng) * 0.999 / 16);  // none before 0
  sort_notes(notes);
  const auto back = roll_to_notes(notes_to_roll(notes, {}, pedal_and_offsets()));
  ASSERT_EQ(back.size(), notes.size());
  for (std::size_t i = 0; i < notes.size(); ++i) {
    EXPECT_EQ(back[i].pitch, notes[i].pitch);
    EXPECT_EQ(back[i].velocity, notes[i].velocity);
    EXPECT_NEAR(back[i].start_s, notes[i].start_s, 1e-6) << "note " << i;
  }
}

TEST(OnsetOffsets, WithoutThemOnsetsAreOnTheGrid) {
  RollFormat format = pedal_and_offsets();
  format.onset_offsets = false;
  const auto grid = quantize({{0.53, 1.0, 60, 80, 0}}, {}, format);
  ASSERT_EQ(grid.size(), 1u);
  EXPECT_EQ(grid[0].onset_frame, 8);
  EXPECT_EQ(grid[0].onset_offset, 0.0f);
  EXPECT_DOUBLE_EQ(to_note(grid[0], 16).start_s, 0.5);
}

TEST(OnsetOffsets, ChannelIsNeutralAwayFromOnsets) {
  const auto roll = notes_to_roll({{0.53, 1.0, 60, 80, 0}}, {}, pedal_and_offsets());
  const int key = 60 - kLowestPitch;
  EXPECT_NEAR(roll.at(RollChannel::kOnsetOffset, key, 8), kNoOnsetOffset + (0.53 * 16 - 8), 1e-6);
  EXPECT_EQ(roll.at(RollChannel::kOnsetOffset, key, 9), kNoOnsetOffset);
  EXPECT_EQ(roll.at(RollChannel::kOnsetOffset, key + 1, 8), kNoOnsetOffset);
}

// The bundled example, a real performance: with onset offsets the decoded onsets are where the
// pianist played them; without, up to half a frame (31 ms at 16 fps) away.
TEST(OnsetOffsets, RealPerformanceOnsetsComeBackWithinAMillisecond) {
  const auto midi = read_midi_file(SCOREJAM_SOURCE_DIR "/examples/bach_prelude_c.mid");
  for (bool offsets : {false, true}) {
    RollFormat format = pedal_and_offsets();
    format.onset_offsets = offsets;
    const auto grid = quantize(midi.notes, midi.controls, format);
    const auto decoded = decode_roll(render_roll(grid, quantize_pedal(midi.controls, midi.duration_s, 16), 16, 0,
                                                 static_cast<int>(std::ceil(midi.duration_s * 16)) + 1));
    // Match each played note to the decoded note of its pitch and frame; two strikes of one key in
    // one frame are one onset in any roll, so those are left out.
    std::map<std::pair<int, int>, int> strikes;
    for (const auto& n : midi.notes) ++strikes[{n.pitch, static_cast<int>(std::lround(n.start_s * 16))}];
    std::vector<Note> played;
    for (const auto& n : midi.notes)
      if (n.pitch >= kLowestPitch && n.pitch <= kHighestPitch &&
          strikes[{n.pitch, static_cast<int>(std::lround(n.start_s * 16))}] == 1)
        played.push_back(n);
    double max_error = 0, sum = 0;
    std::size_t matched = 0;
    for (const auto& n : played) {
      const int frame = static_cast<int>(std::lround(n.start_s * 16));
      for (const auto& g : decoded)
        if (g.pitch == n.pitch && g.onset_frame == frame) {
          const double error = std::abs(to_note(g, 16).start_s - n.start_s);
          max_error = std::max(max_error, error);
          sum += error;
          ++matched;
          break;
        }
    }
    ASSERT_GT(matched, played.size() * 9 / 10);
    std::printf("onset offsets %s: %zu onsets, error max %.4f ms, mean %.4f ms\n", offsets ? "on " : "off", matched,
                max_error * 1e3, sum / static_cast<double>(matched) * 1e3);
    if (offsets) EXPECT_LT(max_error, 1e-3);
    else EXPECT_GT(max_error, 0.02);
  }
}

TEST(PedalChannel, EveryKeyHoldsThePedalAndDecodingGivesItBack) {
  const std::vector<ControlChange> controls = {{0.25, 0, 64, 127}, {1.0, 0, 64, 0}, {1.5, 0, 64, 100}};
  const auto roll = notes_to_roll({{0.0, 2.0, 60, 80, 0}}, controls, pedal_and_offsets());
  for (int key : {0, 39, 87}) {
    EXPECT_EQ(roll.at(RollChannel::kPedal, key, 3), 0.0f);
    EXPECT_EQ(roll.at(RollChannel::kPedal, key, 4), 1.0f);
    EXPECT_EQ(roll.at(RollChannel::kPedal, key, 15), 1.0f);
    EXPECT_EQ(roll.at(RollChannel::kPedal, key, 16), 0.0f);
    EXPECT_EQ(roll.at(RollChannel::kPedal, key, 24), 1.0f);
  }
  const auto pedal = decode_pedal(roll);
  // The pedal still down at the end lasts to the last note's end (2.0 s).
  EXPECT_EQ(pedal, (std::vector<GridPedal>{{4, 16}, {24, 32}}));
  EXPECT_EQ(pedal_to_controls(pedal, 16), (std::vector<ControlChange>{
                                              {0.25, 0, 64, 127}, {1.0, 0, 64, 0}, {1.5, 0, 64, 127}, {2.0, 0, 64, 0}}));
}

TEST(PedalChannel, NotesKeepTheirKeyDownLengths) {
  const auto grid = quantize({{0.0, 0.5, 60, 80, 0}}, {{0.25, 0, 64, 127}, {1.0, 0, 64, 0}}, pedal_and_offsets());
  ASSERT_EQ(grid.size(), 1u);
  EXPECT_EQ(grid[0].end_frame, 8);
}

TEST(PedalChannel, SpansShorterThanHalfAFrameVanishAndTouchingSpansJoin) {
  const auto pedal = quantize_pedal({{0.10, 0, 64, 127},
                                     {0.12, 0, 64, 0},    // 20 ms: rounds to nothing
                                     {0.50, 0, 64, 127},
                                     {1.00, 0, 64, 0},
                                     {1.02, 0, 64, 127},  // lifted for 20 ms: one span on the grid
                                     {1.50, 0, 64, 0}},
                                    2.0, 16);
  EXPECT_EQ(pedal, (std::vector<GridPedal>{{8, 24}}));
}

TEST(PedalChannel, DecodeHysteresisIgnoresFlicker) {
  PianoRoll roll(10, 16);
  const float level[10] = {0, 0.6f, 0.45f, 0.4f, 0.6f, 0.3f, 0.45f, 0.55f, 0.2f, 0};
  for (int f = 0; f < 10; ++f)
    for (int key = 0; key < kKeys; ++key) roll.at(RollChannel::kPedal, key, f) = level[f];
  // Down at 0.6 (>= 0.5), held through 0.45 and 0.4 (>= 0.35), up at 0.3; 0.45 does not put it down
  // again, 0.55 does.
  EXPECT_EQ(decode_pedal(roll), (std::vector<GridPedal>{{1, 5}, {7, 8}}));
}

TEST(PedalChannel, PedalStormWithoutNotesMakesNoNote) {
  std::vector<ControlChange> storm;
  for (int i = 0; i < 400; ++i) storm.push_back({i * 0.013, 0, 64, (i % 3) ? 127 : 0});
  const auto roll = notes_to_roll({}, storm, pedal_and_offsets());
  EXPECT_GT(roll.frames(), 0);
  EXPECT_TRUE(decode_roll(roll).empty());
  for (const auto& cc : pedal_to_controls(decode_pedal(roll), 16)) EXPECT_EQ(cc.controller, kSustainController);
  // Every down has its up.
  const auto controls = pedal_to_controls(decode_pedal(roll), 16);
  ASSERT_FALSE(controls.empty());
  EXPECT_EQ(controls.back().value, 0);
}

TEST(RollFormatChannels, ExtraChannelsFollowOnsetFrameVelocityInAFixedOrder) {
  RollFormat format = pedal_and_offsets();
  EXPECT_EQ(roll_channels(format), 5);
  EXPECT_EQ(model_channels(format, 5),
            (std::vector<RollChannel>{RollChannel::kOnset, RollChannel::kFrame, RollChannel::kVelocity,
                                      RollChannel::kPedal, RollChannel::kOnsetOffset}));
  format.pedal_channel = false;
  EXPECT_EQ(model_channels(format, 4).back(), RollChannel::kOnsetOffset);
  EXPECT_THROW(model_channels(format, 3), std::invalid_argument);
  EXPECT_EQ(model_channels(RollFormat{}, 1), (std::vector<RollChannel>{RollChannel::kFrame}));
}

TEST(RollFormatChannels, PedalChannelWithFoldedPedalIsAProblemNamingTheKeys) {
  RollFormat format = pedal_and_offsets();
  EXPECT_EQ(format_problem(format), "");
  format.sustain_pedal = true;
  EXPECT_NE(format_problem(format).find("roll.sustain_pedal = false"), std::string::npos);
}

}  // namespace
}  // namespace scorejam
