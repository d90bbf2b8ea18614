// Runs the real scorejam binary as a user would, and checks what it prints and writes.
#include <cairo.h>
#include <cmath>
#include <gtest/gtest.h>

#include "core/beats.h"
#include "core/midi_file.h"
#include "tests/core/test_support.h"
#include "tests/integration/cli_support.h"

namespace scorejam {
namespace {
namespace fs = std::filesystem;

using testing::contains;
using testing::scorejam;
using testing::slurp;

std::pair<int, int> png_size(const fs::path& path) {
  cairo_surface_t* s = cairo_image_surface_create_from_png(path.c_str());
  std::pair<int, int> size{-1, -1};
  if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS)
    size = {cairo_image_surface_get_width(s), cairo_image_surface_get_height(s)};
  cairo_surface_destroy(s);
  return size;
}


TEST(Cli, RollDrawsAMidiFileAsPng) {
  auto dir = testing::scratch_dir("Cli.RollDrawsAMidiFileAsPng");
  std::vector<Note> notes;
  for (int i = 0; i < 16; ++i) notes.push_back({i * 0.25, i * 0.25 + 0.2, 48 + i, 40 + 5 * i, 0});
  write_midi_file(dir / "scale.mid", notes, {});
  auto run = scorejam("roll " + (dir / "scale.mid").string() + " -o " + (dir / "scale.png").string(), dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(contains(run.out, "16 notes")) << run.out;
  auto [width, height] = png_size(dir / "scale.png");
  EXPECT_GE(width, 800);
  EXPECT_GT(height, 88 * 6);
}

TEST(Cli, RollOfATextFileNamesTheFileAndTheByte) {
  auto dir = testing::scratch_dir("Cli.RollOfATextFileNamesTheFileAndTheByte");
  testing::write_text(dir / "notes.mid", "these are my notes, not MIDI\n");
  auto run = scorejam("roll " + (dir / "notes.mid").string() + " -o " + (dir / "x.png").string(), dir);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(contains(run.err, "notes.mid")) << run.err;
  EXPECT_TRUE(contains(run.err, "byte 0")) << run.err;
  EXPECT_FALSE(fs::exists(dir / "x.png"));
}

TEST(Cli, MissingFileIsAClearError) {
  auto dir = testing::scratch_dir("Cli.MissingFileIsAClearError");
  auto run = scorejam("roll " + (dir / "nothing.mid").string(), dir);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(contains(run.err, "nothing.mid")) << run.err;
}

TEST(Cli, PrintConfigEqualsTheDefaultFile) {
  auto dir = testing::scratch_dir("Cli.PrintConfigEqualsTheDefaultFile");
  auto builtin = scorejam("--print-config", dir);
  auto from_file = scorejam("--config " SCOREJAM_SOURCE_DIR "/configs/default.toml --print-config", dir);
  ASSERT_EQ(builtin.exit_code, 0) << builtin.err;
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_EQ(builtin.out, from_file.out);
  EXPECT_TRUE(contains(builtin.out, "fs_hz = 16")) << builtin.out;
}

// The summary and the map are made of the known past, so a model without one cannot have them: the
// config says so, naming the keys, before any data is read.
TEST(Cli, AnUnconditionalModelWithTheKnownPastsInputsIsAClearError) {
  auto dir = testing::scratch_dir("Cli.AnUnconditionalModelWithTheKnownPastsInputsIsAClearError");
  testing::write_text(dir / "c.toml", "[model]\nconditional = false\n");
  auto run = scorejam("--config " + (dir / "c.toml").string() + " --print-config", dir);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(contains(run.err, "c.toml") && contains(run.err, "model.context_map") &&
              contains(run.err, "model.conditional = true")) << run.err;
  testing::write_text(dir / "c.toml", "[model]\nconditional = false\ncontext_summary = false\ncontext_map = false\n");
  run = scorejam("--config " + (dir / "c.toml").string() + " --print-config", dir);
  EXPECT_EQ(run.exit_code, 0) << run.err;
}

TEST(Cli, FlagsOverrideTheConfigFile) {
  auto dir = testing::scratch_dir("Cli.FlagsOverrideTheConfigFile");
  testing::write_text(dir / "c.toml", "[runtime]\nthreads = 3\n");
  auto run = scorejam("--config " + (dir / "c.toml").string() + " --threads 1 --print-config", dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(contains(run.out, "threads = 1")) << run.out;
}

TEST(Cli, UnknownConfigKeyNamesFileLineAndKey) {
  auto dir = testing::scratch_dir("Cli.UnknownConfigKeyNamesFileLineAndKey");
  testing::write_text(dir / "bad.toml", "[roll]\nfs_hz = 16\nfs_hzz = 32\n");
  auto run = scorejam("--config " + (dir / "bad.toml").string() + " --print-config", dir);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(contains(run.err, "bad.toml:3: roll.fs_hzz: unknown key")) << run.err;
}

TEST(Cli, OutOfRangeConfigValueIsRejected) {
  auto dir = testing::scratch_dir("Cli.OutOfRangeConfigValueIsRejected");
  testing::write_text(dir / "bad.toml", "[roll]\nonset_threshold = 1.5\n");
  auto run = scorejam("--config " + (dir / "bad.toml").string() + " --print-config", dir);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(contains(run.err, "roll.onset_threshold")) << run.err;
  EXPECT_TRUE(contains(run.err, "outside")) << run.err;
}

// config_fuzz: a string holding a newline and ''' was printed by --print-config as a multi-line
// literal string that does not parse. What --print-config prints must load as it is.
TEST(Cli, PrintedConfigLoadsBackEvenWithQuotesAndNewlinesInAString) {
  auto dir = testing::scratch_dir("Cli.PrintedConfigLoadsBackEvenWithQuotesAndNewlinesInAString");
  // Prints the config `text`, loads what was printed and prints it again: both prints alike.
  auto round_trip = [&](const std::string& name, const std::string& text) {
    testing::write_text(dir / (name + ".toml"), text);
    auto first = scorejam("--config " + (dir / (name + ".toml")).string() + " --print-config", dir);
    EXPECT_EQ(first.exit_code, 0) << first.err;
    testing::write_text(dir / (name + "-printed.toml"), first.out);
    auto again = scorejam("--config " + (dir / (name + "-printed.toml")).string() + " --print-config", dir);
    EXPECT_EQ(again.exit_code, 0) << again.err << "\n" << first.out;
    EXPECT_EQ(again.out, first.out);
    return first.out;
  };
  const auto odd = round_trip("odd", "[train]\ndata = \"\"\"first line\n'''\nlast line\"\"\"\n");
  EXPECT_TRUE(contains(odd, "first line\\n'''\\nlast line")) << odd;
  // A control character (here a carriage return) in a string was printed raw in a literal string.
  round_trip("cr", "[train]\ndata = \"maestro\\rcopy\"\n");
}

// Forty levels once passed every per-entry check and then shifted an int by 39 (undefined
// behaviour) to check the window; a network has at most 8 levels.
TEST(Cli, ModelWithMoreThanEightLevelsIsRejected) {
  auto dir = testing::scratch_dir("Cli.ModelWithMoreThanEightLevelsIsRejected");
  std::string widths = "[model]\nwidths = [4";
  for (int i = 1; i < 40; ++i) widths += ", 4";
  testing::write_text(dir / "bad.toml", widths + "]\n");
  auto run = scorejam("--config " + (dir / "bad.toml").string() + " --print-config", dir);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(contains(run.err, "bad.toml: model.widths must list 1 to 8 levels")) << run.err;
}

TEST(Cli, OscAllowListTakesIpAddressesOnlyNamingTheLine) {
  auto dir = testing::scratch_dir("Cli.OscAllowListTakesIpAddressesOnlyNamingTheLine");
  testing::write_text(dir / "good.toml", "[osc]\nallow = [\"127.0.0.1\", \"::1\", \"192.168.1.20\"]\n");
  auto good = scorejam("--config " + (dir / "good.toml").string() + " --print-config", dir);
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_TRUE(contains(good.out, "allow = [ \"127.0.0.1\", \"::1\", \"192.168.1.20\" ]")) << good.out;
  testing::write_text(dir / "bad.toml", "[osc]\n\nallow = [\"127.0.0.1\", \"mixer.local\"]\n");
  auto bad = scorejam("--config " + (dir / "bad.toml").string() + " --print-config", dir);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.err, "bad.toml:3")) << bad.err;
  EXPECT_TRUE(contains(bad.err, "osc.allow")) << bad.err;
}

TEST(Cli, WarnsWhenTorchRunsOnTheReferenceBlas) {
  const fs::path reference = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3";
  if (!fs::exists(reference)) GTEST_SKIP() << "Debian's reference BLAS is not installed (" << reference << ")";
  auto dir = testing::scratch_dir("Cli.WarnsWhenTorchRunsOnTheReferenceBlas");
  write_midi_file(dir / "a.mid", {{0, 1, 60, 64, 0}}, {});
  const std::string args = "roll " + (dir / "a.mid").string() + " -o " + (dir / "a.png").string();
  auto slow = scorejam(args, dir, "LD_LIBRARY_PATH=" + reference.parent_path().string());
  ASSERT_EQ(slow.exit_code, 0) << slow.err;
  EXPECT_TRUE(contains(slow.err, "reference BLAS")) << slow.err;
  EXPECT_TRUE(contains(slow.err, "libopenblas0-openmp")) << slow.err;
  auto fast = scorejam(args, dir);
  ASSERT_EQ(fast.exit_code, 0) << fast.err;
  EXPECT_FALSE(contains(fast.err, "reference BLAS")) << fast.err;
}

TEST(Cli, SetsTorchThreadsFromTheConfig) {
  auto dir = testing::scratch_dir("Cli.SetsTorchThreadsFromTheConfig");
  write_midi_file(dir / "a.mid", {{0, 1, 60, 64, 0}}, {});
  testing::write_text(dir / "c.toml", "[runtime]\nthreads = 1\nlog_level = \"debug\"\n");
  auto run = scorejam("--config " + (dir / "c.toml").string() + " roll " + (dir / "a.mid").string() + " -o " +
                          (dir / "a.png").string(),
                      dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(contains(run.err, "torch: 1 threads")) << run.err;
}

TEST(Cli, LogsTheNetworksComputePathAndTakesItFromTheCommandLine) {
  auto dir = testing::scratch_dir("Cli.LogsTheNetworksComputePathAndTakesItFromTheCommandLine");
  write_midi_file(dir / "a.mid", {{0, 1, 60, 64, 0}}, {});
  const std::string roll = " roll " + (dir / "a.mid").string() + " -o " + (dir / "a.png").string();
  auto chosen = scorejam("--precision fp32 --memory-format contiguous" + roll, dir);
  ASSERT_EQ(chosen.exit_code, 0) << chosen.err;
  EXPECT_TRUE(contains(chosen.err, "network: fp32, contiguous")) << chosen.err;
  EXPECT_TRUE(contains(chosen.err, "as configured")) << chosen.err;
  testing::write_text(dir / "c.toml", "[runtime]\nmemory_format = \"channels_last\"\n");
  auto from_file = scorejam("--config " + (dir / "c.toml").string() + roll, dir);
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_TRUE(contains(from_file.err, "channels_last as configured")) << from_file.err;
  auto automatic = scorejam(roll, dir);
  ASSERT_EQ(automatic.exit_code, 0) << automatic.err;
  // One of auto's three reasons (core/compute_path.cpp): AMX, AVX512-BF16 alone, no native bf16.
  EXPECT_TRUE(contains(automatic.err, "(bf16: the CPU has AMX-BF16") ||
              contains(automatic.err, "(fp32: AVX512-BF16 without AMX measured slower") ||
              contains(automatic.err, "(fp32: the CPU has no native bf16"))
      << "auto says why it chose: " << automatic.err;
  testing::write_text(dir / "bad.toml", "[runtime]\nprecision = \"fp16\"\n");
  auto bad = scorejam("--config " + (dir / "bad.toml").string() + roll, dir);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(contains(bad.err, "runtime.precision")) << bad.err;
}

// Every compute path the CPU offers, timed and profiled op by op, on a tiny network.
TEST(Cli, BenchTimesAndProfilesEveryComputePath) {
  auto dir = testing::scratch_dir("Cli.BenchTimesAndProfilesEveryComputePath");
  testing::write_text(dir / "tiny.toml",
                      "[model]\nchannels = 3\nwidths = [8, 16]\nembed_dim = 16\nwindow_frames = 16\nconditional = true\n");
  auto run = scorejam("--config " + (dir / "tiny.toml").string() + " --threads 1 bench --config paths --profile --repetitions 1",
                      dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (const char* name : {"paths/fp32_nchw/nfe_batch1", "paths/fp32_nchw/nfe_batch2", "paths/fp32_nchw/train_batch16",
                           "paths/fp32_nhwc/nfe_batch1", "paths/fp32_nhwc/train_batch16"})
    EXPECT_TRUE(contains(run.out, name)) << name << " in " << run.out;
  EXPECT_TRUE(contains(run.out, "peak_pct")) << run.out;
  EXPECT_TRUE(contains(run.out, "bench --profile: fp32, channels_last, one network evaluation at batch 2")) << run.out;
  EXPECT_TRUE(contains(run.out, "one training step at batch 16")) << run.out;
  EXPECT_TRUE(contains(run.out, "| aten::")) << "one row an operator: " << run.out;
}

// Speed is never asserted here (the bench reports it); this checks the command runs and reports.
TEST(Cli, BenchRunsASelectedBenchmarkAndWritesJson) {
  auto dir = testing::scratch_dir("Cli.BenchRunsASelectedBenchmarkAndWritesJson");
  auto run = scorejam("--threads 1 bench --filter 'net_eval' --repetitions 1 --json " + (dir / "b.json").string(), dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(contains(run.out, "net_eval/window")) << run.out;
  EXPECT_TRUE(contains(run.out, "net_eval/frames64")) << "half the window, and twice it: " << run.out;
  EXPECT_TRUE(contains(run.out, "net_eval/frames256")) << run.out;
  EXPECT_TRUE(contains(run.out, "peak memory")) << run.out;
  EXPECT_TRUE(contains(slurp(dir / "b.json"), "\"net_eval/window")) << slurp(dir / "b.json");
  auto none = scorejam("--threads 1 bench --filter 'no_such_benchmark' --repetitions 1", dir);
  EXPECT_EQ(none.exit_code, 1);
}

// The data-parallel figures: one process, and two (the bench starts its peer rank and ends it).
TEST(Cli, BenchMeasuresTrainingInOneProcessAndInTwo) {
  auto dir = testing::scratch_dir("Cli.BenchMeasuresTrainingInOneProcessAndInTwo");
  testing::write_text(dir / "tiny.toml", "[model]\nchannels = 2\nwidths = [8, 16]\nembed_dim = 16\nwindow_frames = 16\n");
  auto run = scorejam("--config " + (dir / "tiny.toml").string() +
                          " --threads 2 bench --config data-parallel --repetitions 1 --json " + (dir / "b.json").string(),
                      dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(contains(run.out, "data_parallel/ranks:1")) << run.out;
  EXPECT_TRUE(contains(run.out, "data_parallel/ranks:2")) << run.out;
  EXPECT_TRUE(contains(slurp(dir / "b.json"), "\"samples_per_s\"")) << slurp(dir / "b.json");
}

// `scorejam run` records a session.trace beside session.mid, and `scorejam reproduce` runs the
// session again from it: every hop alike, and the take it writes holds the notes that were played.
TEST(Cli, ARecordedSessionIsReproducedFromItsTrace) {
  auto dir = testing::scratch_dir("Cli.ARecordedSessionIsReproducedFromItsTrace");
  testing::write_text(dir / "c.toml", "[session]\ndir = \"" + (dir / "sessions").string() +
                                          "\"\n[osc]\nenabled = false\n[live]\nanswer_seconds = 4.0\n");
  auto run = scorejam("--config " + (dir / "c.toml").string() + " --threads 1 run --replay " SCOREJAM_SOURCE_DIR
                      "/examples/bach_prelude_c.mid --replay-seconds 4",
                      dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_TRUE(fs::is_directory(dir / "sessions"));
  const auto session = fs::directory_iterator(dir / "sessions")->path();
  ASSERT_TRUE(fs::exists(session / "session.trace"));
  auto again = scorejam("reproduce " + session.string() + " --out " + (dir / "again.mid").string(), dir);
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_TRUE(contains(again.out, "1 torch threads")) << again.out;
  const auto played = read_midi_file(session / "session.mid");
  const auto reproduced = read_midi_file(dir / "again.mid");
  ASSERT_GT(played.notes.size(), 20u) << "the replay and its answer";
  ASSERT_EQ(reproduced.notes.size(), played.notes.size()) << again.out;
  // The take holds the times the notes were sent, the reproduction the times they were due: a
  // note may be late by up to the lateness the run reports, and notes of one chord may sort
  // differently. So each played note is matched to an unused reproduced note of its pitch and
  // velocity that starts within that lateness (and 10 ms for the file's ticks and the clock).
  const auto late_at = run.out.find("max ", run.out.find("lateness p50"));
  ASSERT_NE(late_at, std::string::npos) << run.out;
  const double tolerance_s = 0.01 + std::stod(run.out.substr(late_at + 4)) * 1e-6;
  std::vector<bool> used(reproduced.notes.size(), false);
  for (std::size_t i = 0; i < played.notes.size(); ++i) {
    const auto& p = played.notes[i];
    bool found = false;
    for (std::size_t j = 0; j < reproduced.notes.size() && !found; ++j) {
      const auto& r = reproduced.notes[j];
      if (used[j] || r.pitch != p.pitch || r.velocity != p.velocity) continue;
      if (std::abs(r.start_s - p.start_s) > tolerance_s) continue;
      used[j] = found = true;
    }
    if (found) continue;
    std::string nearest = "none";
    double best = 1e9;
    for (const auto& r : reproduced.notes)
      if (r.pitch == p.pitch && std::abs(r.start_s - p.start_s) < best) {
        best = std::abs(r.start_s - p.start_s);
        nearest = "velocity " + std::to_string(r.velocity) + " at " + std::to_string(r.start_s) + " s";
      }
    ADD_FAILURE() << "played note " << i << " (pitch " << p.pitch << ", velocity " << p.velocity << ", at "
                  << p.start_s << " s) is not in the reproduction within " << tolerance_s
                  << " s; its nearest of that pitch: " << nearest;
  }
  // A damaged trace is refused naming the file and the line.
  auto text = slurp(session / "session.trace");
  text.insert(text.find("\nw ") + 1, "w zero\n");
  testing::write_text(dir / "bad.trace", text);
  auto bad = scorejam("reproduce " + (dir / "bad.trace").string(), dir);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.err, "bad.trace: session trace line")) << bad.err;
  EXPECT_TRUE(contains(bad.err, "window number: 'zero'")) << bad.err;
}

// A session folder that cannot be made (here: below a file) is reported, and scorejam plays on.
TEST(Cli, AnUnwritableSessionFolderIsReportedAndTheRunGoesOn) {
  auto dir = testing::scratch_dir("Cli.AnUnwritableSessionFolderIsReportedAndTheRunGoesOn");
  testing::write_text(dir / "a-file", "not a folder");
  testing::write_text(dir / "c.toml", "[session]\ndir = \"" + (dir / "a-file" / "sessions").string() +
                                          "\"\n[osc]\nenabled = false\n[live]\nanswer_seconds = 1.0\n");
  auto run = scorejam("--config " + (dir / "c.toml").string() + " run --replay " SCOREJAM_SOURCE_DIR
                      "/examples/bach_prelude_c.mid --replay-seconds 2 --record " + (dir / "take.mid").string(),
                      dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(contains(run.err, "a-file/sessions")) << run.err;
  EXPECT_TRUE(contains(run.err, "playing on without recording the session")) << run.err;
  EXPECT_TRUE(contains(run.out, "1 answers")) << run.out;
  // --record still writes its take, from spools beside it that are gone once it is written.
  ASSERT_TRUE(fs::exists(dir / "take.mid"));
  EXPECT_GT(read_midi_file(dir / "take.mid").notes.size(), 3u);
  for (const auto& entry : fs::directory_iterator(dir)) EXPECT_NE(entry.path().extension(), ".spool") << entry.path();
}

TEST(Cli, DatasetSummarisesTheSharedSubsetAndCachesIt) {
  auto zip = testing::maestro_subset();
  if (!zip) GTEST_SKIP() << "shared data absent: ../shared/data/maestro-asap-subset.zip not found (set SCOREJAM_MAESTRO)";
  auto dir = testing::scratch_dir("Cli.DatasetSummarisesTheSharedSubsetAndCachesIt");
  testing::write_text(dir / "c.toml", "[data]\ncache_dir = \"" + (dir / "cache").string() + "\"\n");
  const std::string args = "--config " + (dir / "c.toml").string() + " dataset " + zip->string();
  auto first = scorejam(args, dir);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(contains(first.out, "519 entries")) << first.out;
  EXPECT_TRUE(contains(first.out, "519 files read, 0 skipped")) << first.out;
  EXPECT_TRUE(contains(first.out, "train")) << first.out;
  EXPECT_TRUE(contains(first.out, "Chopin")) << first.out;
  EXPECT_FALSE(contains(first.out, "from the cache")) << first.out;
  auto second = scorejam(args, dir);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_TRUE(contains(second.out, "from the cache")) << second.out;
  // Same table either way: only the timing line differs.
  EXPECT_EQ(first.out.substr(first.out.find("\n  split")), second.out.substr(second.out.find("\n  split")));
}

TEST(Cli, RollOfAMaestroEntryIsTitledWithComposerAndTitle) {
  auto zip = testing::maestro_subset();
  if (!zip) GTEST_SKIP() << "shared data absent: ../shared/data/maestro-asap-subset.zip not found (set SCOREJAM_MAESTRO)";
  auto dir = testing::scratch_dir("Cli.RollOfAMaestroEntryIsTitledWithComposerAndTitle");
  auto run = scorejam("roll " + zip->string() + " --index 0 --seconds 20 -o " + (dir / "bach.png").string(), dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(contains(run.out, "Bach — Fugue bwv 846")) << run.out;
  EXPECT_GT(png_size(dir / "bach.png").first, 0);
}

// Training runs all write checkpoint.pt; eval must tell them apart in its table.
TEST(Cli, EvalNamesModelsThatShareAFileNameByTheirFolder) {
  auto zip = testing::maestro_subset();
  if (!zip) GTEST_SKIP() << "shared data absent: ../shared/data/maestro-asap-subset.zip not found (set SCOREJAM_MAESTRO)";
  auto dir = testing::scratch_dir("Cli.EvalNamesModelsThatShareAFileNameByTheirFolder");
  const fs::path model = fs::path(SCOREJAM_SOURCE_DIR) / "models" / "scorejam-default.pt";
  for (const char* run : {"small", "large"}) {
    fs::create_directories(dir / run);
    fs::copy_file(model, dir / run / "checkpoint.pt");
  }
  auto run = scorejam("eval --data " + zip->string() + " --pieces 1 --prompts-per-piece 1 --seconds 2 --steps 3 " +
                          "--guidance 1 --baselines real --pictures 0 --checkpoint " +
                          (dir / "small" / "checkpoint.pt").string() + " --checkpoint " +
                          (dir / "large" / "checkpoint.pt").string() + " -o " + (dir / "out").string(),
                      dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto table = slurp(dir / "out" / "table.md");
  EXPECT_TRUE(contains(table, "| small/checkpoint (pc 3) |")) << table;
  EXPECT_TRUE(contains(table, "| large/checkpoint (pc 3) |")) << table;
}

// eval --likelihood: the model's bits of the real windows and of every system's continuation given
// its prompt, in the table, with the tolerance it was measured at; a tolerance out of range is refused.
TEST(Cli, EvalLikelihoodGivesTheBitsOfTheRealWindowsAndOfEverySystemsContinuation) {
  auto zip = testing::maestro_subset();
  if (!zip) GTEST_SKIP() << "shared data absent: ../shared/data/maestro-asap-subset.zip not found (set SCOREJAM_MAESTRO)";
  auto dir = testing::scratch_dir("Cli.EvalLikelihoodGivesTheBitsOfTheRealWindowsAndOfEverySystemsContinuation");
  auto run = scorejam("eval --data " + zip->string() + " --pieces 2 --prompts-per-piece 1 --seconds 4 --steps 3 --guidance 1 " +
                          "--baselines real random --pictures 0 --likelihood --likelihood-prompts 2 " +
                          "--likelihood-tolerance 0.1 -o " + (dir / "out").string(),
                      dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto table = slurp(dir / "out" / "table.md");
  EXPECT_TRUE(contains(table, "rtol = atol = 0.1")) << table;
  EXPECT_TRUE(contains(table, "| the pianist's real window (prompt + continuation), nothing known | -")) << table;
  // Every system has a row in the conditional table (scorejam at 3 steps plays noise: its bits are positive).
  const auto conditional = table.find("| system | bits/dim | + offset | bits/note | NFE | s |");
  ASSERT_NE(conditional, std::string::npos) << table;
  for (const char* row : {"| real | -", "| random | -", "| scorejam-default (pc 3) | "})
    EXPECT_NE(table.find(row, conditional), std::string::npos) << row << " is not a row of bits\n" << table;
  auto bad = scorejam("eval --data " + zip->string() + " --likelihood --likelihood-tolerance 0", dir);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(contains(bad.err, "--likelihood-tolerance")) << bad.err;
}

TEST(Cli, RollOfADataSetWithoutIndexAsksForOne) {
  auto dir = testing::scratch_dir("Cli.RollOfADataSetWithoutIndexAsksForOne");
  auto run = scorejam("roll " + dir.string(), dir);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(contains(run.err, "--index")) << run.err;
}

TEST(Cli, BeatsMeasuresTheTrackerAgainstTheSharedAnnotations) {
  auto zip = testing::maestro_subset();
  if (!zip) GTEST_SKIP() << "shared data absent: ../shared/data/maestro-asap-subset.zip not found (set SCOREJAM_MAESTRO)";
  if (!fs::exists(beats_path_beside(*zip)))
    GTEST_SKIP() << "shared data absent: " << beats_path_beside(*zip) << " not found";
  auto dir = testing::scratch_dir("Cli.BeatsMeasuresTheTrackerAgainstTheSharedAnnotations");
  auto run = scorejam("beats --data " + zip->string() + " --split test --summary", dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(contains(run.out, "27 performances: mean F-measure")) << run.out;
  EXPECT_TRUE(contains(run.out, "pianist's pulse")) << run.out;
}

TEST(Cli, BeatsWithoutAnnotationsAsksForThem) {
  auto dir = testing::scratch_dir("Cli.BeatsWithoutAnnotationsAsksForThem");
  fs::create_directories(dir / "set");
  testing::write_text(dir / "set" / "set.csv",
                      "canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration\n");
  auto run = scorejam("beats --data " + (dir / "set").string(), dir);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(contains(run.err, "--beats")) << run.err;
  EXPECT_TRUE(contains(run.err, "set.beats.csv")) << run.err;
}

}  // namespace
}  // namespace scorejam
