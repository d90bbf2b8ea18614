#include "core/beat_evaluation.h"

#include <gtest/gtest.h>

#include "core/midi_file.h"
#include "tests/core/test_support.h"

namespace scorejam {
namespace {
namespace fs = std::filesystem;

// A steady pulse at `bpm` for 30 s: a bass note on each beat and an eighth above.
std::vector<Note> steady(double bpm) {
  std::vector<Note> notes;
  const double period = 60 / bpm;
  for (double t = 1.0; t < 31.0; t += period) {
    notes.push_back({t, t + period, 40, 90, 0});
    notes.push_back({t + period / 2, t + period, 72, 50, 0});
  }
  return notes;
}

std::string grid_text(double bpm) {
  std::string text;
  for (double t = 1.0; t < 31.0; t += 60 / bpm) text += (text.empty() ? "" : " ") + std::to_string(t);
  return text;
}

// A MAESTRO-layout folder: two annotated validation performances, one not annotated, one train.
fs::path make_set(const fs::path& dir) {
  const auto root = dir / "set";
  fs::create_directories(root / "2004");
  write_midi_file(root / "2004/a.midi", steady(100), {});
  write_midi_file(root / "2004/b.midi", steady(120), {});
  write_midi_file(root / "2004/c.midi", steady(90), {});
  write_midi_file(root / "2004/t.midi", steady(90), {});
  testing::write_text(root / "set.csv",
                      "canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration\n"
                      "A,A,validation,2004,2004/a.midi,a.wav,31\n"
                      "B,B,validation,2004,2004/b.midi,b.wav,31\n"
                      "C,C,validation,2004,2004/c.midi,c.wav,31\n"
                      "T,T,train,2004,2004/t.midi,t.wav,31\n");
  return root;
}

TEST(BeatEvaluation, JudgesTheTrackerAndThePulseOnTheAnnotatedFilesOfTheSplit) {
  const auto dir = testing::scratch_dir("BeatEvaluationSplit");
  MaestroSource source(make_set(dir));
  // b is annotated twice as fast as it is played.
  const auto table = parse_beats_csv("name,beats_s,downbeats_s,time_signatures\n"
                                     "2004/a.midi," + grid_text(100) + ",1,\n"
                                     "2004/b.midi," + grid_text(240) + ",1,\n"
                                     "2004/t.midi," + grid_text(90) + ",1,\n",
                                     "t.csv");
  const auto e = evaluate_beat_tracking(source, table, "validation", {}, 2.0, 16);
  ASSERT_EQ(e.files.size(), 2u);
  EXPECT_EQ(e.files[0].name, "2004/a.midi");
  EXPECT_GT(e.files[0].found.f_measure, 0.95);
  EXPECT_GT(e.files[0].predicted.f_measure, 0.9);
  EXPECT_NEAR(e.files[0].pianist.pulse, 1.0, 0.01);  // beats and eighths, all on the sixteenth grid
  // At 100 bpm a sixteenth is 0.15 s: rounded to 1/16 s frames the onsets leave the grid.
  EXPECT_LT(e.files[0].pianist_on_frames.pulse, 0.9);
  EXPECT_NEAR(e.files[0].annotated_bpm, 100, 0.5);
  EXPECT_NEAR(e.files[0].tracked_bpm, 100, 2);
  // Against a grid twice as fast, every other annotated beat is missed.
  EXPECT_NEAR(e.files[1].found.recall, 0.5, 0.05);
  EXPECT_EQ(e.not_annotated, std::vector<std::string>{"2004/c.midi"});
  EXPECT_NEAR(e.mean_found_f, (e.files[0].found.f_measure + e.files[1].found.f_measure) / 2, 1e-12);
}
}  // namespace
}  // namespace scorejam
