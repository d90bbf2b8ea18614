#include "core/evaluation.h"

#include <cairo.h>
#include <gtest/gtest.h>

#include "core/eval_plot.h"
#include "core/midi_file.h"
#include "tests/core/test_support.h"

namespace scorejam {
namespace {
namespace fs = std::filesystem;

// A test split of two 20 s pieces: one on C major's notes, one on F sharp's pentatonic (black keys).
fs::path two_piece_set(const std::string& name) {
  const auto root = testing::scratch_dir(name) / "maestro-v3.0.0";
  fs::create_directories(root / "2020");
  std::string csv = "canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration\n";
  const std::vector<std::vector<int>> scales{{60, 62, 64, 65, 67, 69, 71}, {61, 63, 66, 68, 70}};
  for (std::size_t piece = 0; piece < scales.size(); ++piece) {
    std::vector<Note> notes;
    for (int i = 0; i < 80; ++i) {
      const double t = i * 0.25;
      notes.push_back({t, t + 0.2, scales[piece][static_cast<std::size_t>(i) % scales[piece].size()], 70, 0});
    }
    const auto file = "2020/p" + std::to_string(piece) + ".midi";
    write_midi_file(root / file, notes, {});
    csv += "Anon,Piece " + std::to_string(piece) + ",test,2020," + file + ",x.wav,20.0\n";
  }
  csv += "Anon,Unread,train,2020,2020/none.midi,x.wav,20.0\n";
  testing::write_text(root / "maestro-v3.0.0.csv", csv);
  return root;
}

TEST(EvalPrompts, CutsPromptsAndRealContinuationsAtEvenlySpacedPlaces) {
  MaestroSource source(two_piece_set("eval_prompts"));
  EvalOptions options;
  options.prompts_per_piece = 2;
  const auto prompts = eval_prompts(source, options);
  ASSERT_EQ(prompts.size(), 4u);
  // 20 s piece (last note ends at 19.95 s): spare = 19.95 - 12; ends at 4 + spare * 0.25 and 0.75.
  EXPECT_NEAR(prompts[0].end_s, 4 + (19.95 - 12) * 0.25, 1e-6);
  EXPECT_NEAR(prompts[1].end_s, 4 + (19.95 - 12) * 0.75, 1e-6);
  for (const auto& p : prompts) {
    EXPECT_EQ(p.prompt.size(), 16u) << p.piece;  // a note every 0.25 s for 4 s
    EXPECT_EQ(p.real.size(), 32u) << p.piece;
    for (const auto& n : p.real) {
      EXPECT_GE(n.start_s, 0.0);
      EXPECT_LE(n.end_s, options.seconds);
    }
  }
  options.pieces = 1;
  EXPECT_EQ(eval_prompts(source, options).size(), 2u);
  options.split = "validation";
  EXPECT_THROW(eval_prompts(source, options), std::invalid_argument);
}

TEST(EvalBaselines, TheRealContinuationListensAndAnotherPiecesDoesNot) {
  MaestroSource source(two_piece_set("eval_baselines"));
  EvalOptions options;
  const auto prompts = eval_prompts(source, options);
  auto mean = [](const std::vector<ContinuationScore>& scores, double ContinuationScore::*field) {
    double sum = 0;
    for (const auto& s : scores) sum += s.*field;
    return sum / static_cast<double>(scores.size());
  };
  const auto real = score_continuations(prompts, baseline_continuations("real", prompts, options), options);
  const auto other = score_continuations(prompts, baseline_continuations("other", prompts, options), options);
  const auto repeat = score_continuations(prompts, baseline_continuations("repeat", prompts, options), options);
  const auto silence = score_continuations(prompts, baseline_continuations("silence", prompts, options), options);
  EXPECT_DOUBLE_EQ(mean(real, &ContinuationScore::pcd_real), 0.0);
  EXPECT_GT(mean(real, &ContinuationScore::listening), 0.4);  // disjoint scales: distance 1 to the other piece
  EXPECT_LT(mean(other, &ContinuationScore::listening), -0.4);
  EXPECT_DOUBLE_EQ(mean(real, &ContinuationScore::notes_per_s), 4.0);
  EXPECT_DOUBLE_EQ(mean(repeat, &ContinuationScore::notes_per_s), 4.0);  // 16 notes per 4 s, twice
  EXPECT_DOUBLE_EQ(mean(silence, &ContinuationScore::notes_per_s), 0.0);
  EXPECT_THROW(baseline_continuations("markov", prompts, options), std::invalid_argument);

  EXPECT_DOUBLE_EQ(mean(repeat, &ContinuationScore::prompt_copy), 1.0);
  EXPECT_DOUBLE_EQ(mean(silence, &ContinuationScore::prompt_copy), 0.0);
  EXPECT_DOUBLE_EQ(mean(real, &ContinuationScore::mean_ioi_s), 0.25);
  EXPECT_THROW(baseline_continuations("random", prompts, options), std::invalid_argument);  // needs a corpus

  const auto judged_real = judge_system("real", prompts, baseline_continuations("real", prompts, options), options);
  EXPECT_DOUBLE_EQ(judged_real.pitch_oa.consistency, 1.0);
  EXPECT_DOUBLE_EQ(judged_real.duration_oa.variance, 1.0);
  for (double overlap : judged_real.distribution_overlap) EXPECT_DOUBLE_EQ(overlap, 1.0);
  const auto judged_silence = judge_system("silence", prompts, baseline_continuations("silence", prompts, options), options);
  for (double overlap : judged_silence.distribution_overlap) EXPECT_DOUBLE_EQ(overlap, 0.0);
  const auto table = eval_table_markdown(
      {judged_real, judge_system("silence", prompts, baseline_continuations("silence", prompts, options), options)});
  EXPECT_NE(table.find("| real | 4 ± 0 |"), std::string::npos) << table;
  EXPECT_NE(table.find("| silence | 0 ± 0 |"), std::string::npos) << table;
  EXPECT_NE(eval_csv({judged_real}, prompts).find("real,\""), std::string::npos);
}

TEST(EvalBaselines, TheCorpusBaselinesPlayAtTheCorpusRateFromItsNotes) {
  MaestroSource source(two_piece_set("eval_corpus"));
  EvalOptions options;
  // Learn from the test split itself (the fake set's only readable one).
  const auto corpus = eval_corpus(source, "test", true);
  EXPECT_EQ(corpus.performances, 2u);
  EXPECT_NEAR(corpus.statistics.notes_per_s, 160 / 39.9, 1e-6);
  const auto prompts = eval_prompts(source, options);
  const auto random = baseline_continuations("random", prompts, options, &corpus);
  const auto learned = baseline_continuations("markov-prompt", prompts, options, &corpus);
  double notes = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    notes += static_cast<double>(random[i].size());
    // Learned from a scale played up and round: the prompt's own notes, 4 a second, in its key.
    EXPECT_EQ(learned[i].size(), 32u) << i;
    for (const auto& n : learned[i]) EXPECT_EQ(pitch_class_histogram(prompts[i].prompt)[static_cast<std::size_t>(n.pitch % 12)] > 0, true);
  }
  EXPECT_NEAR(notes / static_cast<double>(prompts.size()) / options.seconds, corpus.statistics.notes_per_s, 1.5);
  EXPECT_EQ(baseline_continuations("random", prompts, options, &corpus), random) << "seeded";
}

TEST(EvalPlot, DrawsARowPerSystemAndNamesAPathItCannotWrite) {
  const auto dir = testing::scratch_dir("eval_plot");
  const std::vector<MetricRow> rows{{"real", {1, 2, 3}}, {"silence", {0, 0, 0}}, {"none", {}}};
  write_metric_png("notes/s", "notes begun per second", rows, dir / "m.png");
  const auto png = testing::read_file(dir / "m.png");
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(std::string(png.begin() + 1, png.begin() + 4), "PNG");
  const auto height = (png[20] << 24) | (png[21] << 16) | (png[22] << 8) | png[23];  // IHDR
  EXPECT_EQ(height, 64 + 46 + 34 * 3);
  try {
    write_metric_png("x", "", rows, dir / "missing" / "m.png");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
}

TEST(EvalPlot, DrawsTheTradeoffAgainstNfeAndNamesAPathItCannotWrite) {
  const auto dir = testing::scratch_dir("eval_tradeoff");
  const std::vector<TradeoffSeries> series{{"model pc", {{200, {9, 10, 11}, "100"}, {60, {14, 15}, "30"}}},
                                           {"model heun", {{30, {20, 22}, "8"}}}};
  write_tradeoff_png("notes/s", series, 10.4, dir / "t.png");
  const auto png = testing::read_file(dir / "t.png");
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(std::string(png.begin() + 1, png.begin() + 4), "PNG");
  write_tradeoff_png("nothing", {}, std::nullopt, dir / "empty.png");  // no points: axes only
  EXPECT_THROW(write_tradeoff_png("x", series, 1.0, dir / "missing" / "t.png"), std::runtime_error);
}

TEST(EvalPlot, DrawsDensityOverTimeAsStepsInTheSeriesColour) {
  const auto dir = testing::scratch_dir("eval_timeline");
  write_timeline_png("density", "notes/s", {{"flat", {1, 1, 1, 1}}}, 0.5, {1.0}, dir / "d.png");
  cairo_surface_t* image = cairo_image_surface_create_from_png((dir / "d.png").c_str());
  ASSERT_EQ(cairo_surface_status(image), CAIRO_STATUS_SUCCESS);
  // The line at 1 of a 1.08 axis, plot rows 50..424, middle of the x axis (70..700).
  const int x = 385, y = 50 + static_cast<int>(374 * (0.08 / 1.08) + 0.5);
  const auto* data = cairo_image_surface_get_data(image);
  bool blue = false;
  for (int dy = -1; dy <= 1; ++dy) {
    const auto* pixel = data + (y + dy) * cairo_image_surface_get_stride(image) + 4 * x;  // BGRx
    blue = blue || (pixel[0] > 150 && pixel[2] < 100);
  }
  EXPECT_TRUE(blue) << "no line of the first series' colour at the value 1";
  cairo_surface_destroy(image);
  EXPECT_THROW(write_timeline_png("x", "", {}, 0.5, {}, dir / "missing" / "d.png"), std::runtime_error);
}

TEST(EvalSubset, RealPianistsStayInTheirPromptsKey) {
  const auto zip = testing::maestro_subset();
  if (!zip) GTEST_SKIP() << "../shared/data/maestro-asap-subset.zip is absent: the real-data eval is not run";
  MaestroSource source(*zip);
  EvalOptions options;
  options.pieces = 12;
  const auto prompts = eval_prompts(source, options);
  ASSERT_EQ(prompts.size(), 24u);
  const auto real = score_continuations(prompts, baseline_continuations("real", prompts, options), options);
  const auto other = score_continuations(prompts, baseline_continuations("other", prompts, options), options);
  std::vector<double> real_listening, other_listening;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    real_listening.push_back(real[i].listening);
    other_listening.push_back(other[i].listening);
  }
  const auto r = mean_interval(real_listening), o = mean_interval(other_listening);
  EXPECT_GT(r.mean - r.half_width, o.mean + o.half_width)
      << "real " << r.mean << " ± " << r.half_width << ", other " << o.mean << " ± " << o.half_width;
}

// Beats every 0.5 s from `offset_s` to 21 s, as a beats CSV field.
std::string beat_field(double offset_s) {
  std::string text;
  for (double t = offset_s; t < 21; t += 0.5) text += (text.empty() ? "" : " ") + std::to_string(t);
  return text;
}

TEST(EvalPulse, MeasuresContinuationsAgainstTheAnnotatedBeats) {
  MaestroSource source(two_piece_set("eval_pulse_annotated"));
  // p0 annotated on its notes; p1 annotated a 32nd late, so its notes fall between the sixteenths.
  const auto table = parse_beats_csv("name,beats_s,downbeats_s,time_signatures\n2020/p0.midi," + beat_field(0) +
                                         ",0,\n2020/p1.midi," + beat_field(0.0625) + ",0.0625,\n",
                                     "beats.csv");
  ASSERT_TRUE(table.problems.empty());
  EvalOptions options;
  options.beats = &table;
  const auto prompts = eval_prompts(source, options);
  ASSERT_EQ(prompts.size(), 4u);
  for (const auto& p : prompts) {
    EXPECT_TRUE(p.beats_annotated) << p.piece;
    ASSERT_GE(p.beats_s.size(), 2u);
    EXPECT_LE(p.beats_s.front(), 0.0);
    EXPECT_GE(p.beats_s.back(), options.seconds);
    EXPECT_NEAR(p.beats_s[1] - p.beats_s[0], 0.5, 1e-6);
  }
  // What a beat-plane model is given with --model-beats annotated: the annotation over prompt and
  // continuation, on the request's clock (the prompt's start at 0), downbeats apart.
  for (const auto& p : prompts) {
    const double start = p.end_s - options.prompt_seconds;
    ASSERT_FALSE(p.model_beats_s.empty()) << p.piece;
    EXPECT_GE(p.model_beats_s.front(), 0.0);
    EXPECT_LT(p.model_beats_s.front(), 0.5);
    EXPECT_GE(p.model_beats_s.back(), options.prompt_seconds + options.seconds) << p.piece;  // the window beyond too
    const double offset = p.piece.find("p1") != std::string::npos ? 0.0625 : 0.0;
    for (double b : p.model_beats_s) {  // each an annotated beat, moved by the prompt's start
      const double k = (b + start - offset) / 0.5;
      EXPECT_NEAR(k, std::round(k), 1e-6) << p.piece << " beat at " << b;
    }
    EXPECT_TRUE(p.model_downbeats_s.empty()) << "the only downbeat is at the start, before every prompt";
  }
  const auto real = score_continuations(prompts, baseline_continuations("real", prompts, options), options);
  EXPECT_NEAR(real[0].pulse, 1.0, 1e-6);
  EXPECT_NEAR(real[2].pulse, -1.0, 1e-6);
  const auto silence = score_continuations(prompts, baseline_continuations("silence", prompts, options), options);
  EXPECT_EQ(silence[0].pulse, 0.0);
}

TEST(EvalPulse, UsesTheTrackersBeatsWhereNoneIsAnnotated) {
  MaestroSource source(two_piece_set("eval_pulse_tracked"));
  const auto table = parse_beats_csv("name,beats_s,downbeats_s,time_signatures\n", "beats.csv");
  EvalOptions options;
  options.beats = &table;  // neither piece is in it
  const auto prompts = eval_prompts(source, options);
  ASSERT_EQ(prompts.size(), 4u);
  for (const auto& p : prompts) {
    EXPECT_FALSE(p.beats_annotated) << p.piece;
    EXPECT_TRUE(p.model_beats_s.empty()) << "a model hears the tracker where nothing is annotated";
    ASSERT_GE(p.beats_s.size(), 2u) << p.piece;
    EXPECT_LE(p.beats_s.front(), 0.0);
    EXPECT_GE(p.beats_s.back(), options.seconds);
  }
  // A note every 0.25 s: whichever whole number of notes the tracker takes for the beat, on them,
  // the real continuation keeps to its grid.
  const auto real = score_continuations(prompts, baseline_continuations("real", prompts, options), options);
  for (const auto& s : real) EXPECT_GT(s.pulse, 0.9);
}

}  // namespace
}  // namespace scorejam
