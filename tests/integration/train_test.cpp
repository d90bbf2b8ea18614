// `scorejam train` and `scorejam sample` end to end, on a small MAESTRO-layout set made here.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <random>
#include <thread>

#include "core/checkpoint.h"
#include "core/midi_file.h"
#include "train/loss_plot.h"
#include "tests/core/test_support.h"
#include "tests/integration/cli_support.h"

extern char** environ;

namespace scorejam {
namespace {
namespace fs = std::filesystem;
using testing::contains;
using testing::scorejam;

// Three train performances, one validation, one unreadable train file; and a tiny model config.
fs::path make_set_and_config(const fs::path& dir) {
  const auto root = dir / "set";
  fs::create_directories(root / "2020");
  std::string csv = "canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration\n";
  std::mt19937 rng(5);
  for (int i = 0; i < 4; ++i) {
    std::vector<Note> notes;
    for (int k = 0; k < 120; ++k)
      notes.push_back({k * 0.125, k * 0.125 + 0.25, 48 + static_cast<int>(rng() % 24), 40 + static_cast<int>(rng() % 60), 0});
    const std::string name = "2020/p" + std::to_string(i) + ".midi";
    write_midi_file(root / name, notes, {});
    csv += "Test,Piece " + std::to_string(i) + "," + (i == 3 ? "validation" : "train") + ",2020," + name + ",x.wav,15\n";
  }
  testing::write_text(root / "2020/broken.midi", "not midi at all");
  csv += "Test,Broken,train,2020,2020/broken.midi,x.wav,1\n";
  testing::write_text(root / "set.csv", csv);
  const auto config = dir / "tiny.toml";
  testing::write_text(config, "[model]\nchannels = 2\nwidths = [8, 16]\nembed_dim = 16\nconditional = true\n"
                              "window_frames = 16\n[train]\ndata = \"" + root.string() + "\"\nout_dir = \"" +
                              (dir / "run").string() + "\"\nbatch_size = 4\nlog_every = 5\ncheckpoint_every = 10\n"
                              "validation_windows = 4\n[data]\ncache_dir = \"" + (dir / "cache").string() + "\"\n");
  return config;
}

// The model's and the EMA's weights are equal, bit for bit.
void expect_same_weights(const LoadedCheckpoint& a, const LoadedCheckpoint& b) {
  for (auto [x, y] : {std::pair{a.model, b.model}, std::pair{a.ema, b.ema}}) {
    const auto px = x->named_parameters(), py = y->named_parameters();
    ASSERT_EQ(px.size(), py.size());
    for (const auto& p : px) EXPECT_TRUE(torch::equal(p.value(), py[p.key()])) << p.key() << " differs";
  }
}

TEST(Train, TrainsWritesItsFilesAndResumes) {
  auto dir = testing::scratch_dir("Train.TrainsWritesItsFilesAndResumes");
  const auto config = make_set_and_config(dir);
  auto first = scorejam("--config " + config.string() + " train --steps 20", dir);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(contains(first.out, "trained to step 20")) << first.out;
  EXPECT_TRUE(contains(first.out, "1 files skipped")) << first.out;
  EXPECT_TRUE(contains(first.err, "broken.midi")) << first.err;
  for (const char* file : {"checkpoint.pt", "loss.csv", "loss.png", "config.toml"})
    EXPECT_TRUE(fs::exists(dir / "run" / file)) << file;
  EXPECT_TRUE(contains(testing::slurp(dir / "run" / "config.toml"), "widths = [ 8, 16 ]"));
  EXPECT_EQ(load_checkpoint(dir / "run" / "checkpoint.pt").state.step, 20);

  auto resumed = scorejam("--config " + config.string() + " train --steps 30 --resume " +
                              (dir / "run" / "checkpoint.pt").string(), dir);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(contains(resumed.err, "resumed from")) << resumed.err;
  EXPECT_TRUE(contains(resumed.out, "trained to step 30")) << resumed.out;
  const auto csv = testing::slurp(dir / "run" / "loss.csv");
  EXPECT_TRUE(contains(csv, "\n20,")) << csv;
  EXPECT_TRUE(contains(csv, "\n30,")) << csv;

  // The trained model samples: a continuation of the bundled example, written as .mid and .png.
  auto sampled = scorejam("sample --checkpoint " + (dir / "run" / "checkpoint.pt").string() + " --prompt " +
                              SCOREJAM_SOURCE_DIR "/examples/bach_prelude_c.mid --prompt-seconds 1 --seconds 2 -n 2 "
                              "--sampler heun --steps 3 -o " + (dir / "samples").string(), dir);
  ASSERT_EQ(sampled.exit_code, 0) << sampled.err;
  EXPECT_TRUE(contains(sampled.out, "real-time factor")) << sampled.out;
  for (const char* file : {"sample_00.mid", "sample_00.png", "sample_01.mid", "sample_01.png"})
    EXPECT_TRUE(fs::exists(dir / "samples" / file)) << file;
  EXPECT_GT(read_midi_file(dir / "samples" / "sample_00.mid").notes.size(), 0u);
}

// With a time limit, the progress line's ETA is when the limit ends the run, not when max_steps
// would (a run of --minutes 65 said "ETA 23:14:04"). The line is drawn on a terminal, so the run
// gets one (util-linux's `script`, in Debian's essential bsdutils). Its epoch is the one under way,
// counted from 1 like "epoch N done" (it used to say "epoch 2" in the third).
TEST(Train, TheProgressLineShowsTheTimeLimitsEtaAndTheEpochUnderWay) {
  auto dir = testing::scratch_dir("Train.TheProgressLineShowsTheTimeLimitsEtaAndTheEpochUnderWay");
  const auto config = make_set_and_config(dir);
  auto text = testing::slurp(config);
  text.replace(text.find("log_every = 5"), 13, "log_every = 1");  // a line every step, however slow
  testing::write_text(config, text);
  const auto command = std::string(SCOREJAM_EXE) + " --config " + config.string() +
                       " train --steps 10000000 --minutes 0.1";
  const auto out = dir / "terminal.txt";
  const int status = std::system(("script -qec '" + command + "' /dev/null > " + out.string() + " 2>&1").c_str());
  const auto terminal = testing::slurp(out);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << terminal;
  EXPECT_TRUE(contains(terminal, "time limit of 0.1 minutes reached")) << terminal;
  int progress_lines = 0;
  for (std::size_t at = terminal.find("steps/s ETA "); at != std::string::npos;
       at = terminal.find("steps/s ETA ", at + 1)) {
    ++progress_lines;
    int h = -1, m = -1, s = -1;
    const auto shown = terminal.substr(at, 24);
    ASSERT_EQ(std::sscanf(terminal.c_str() + at + 12, "%d:%d:%d", &h, &m, &s), 3) << shown;
    EXPECT_LE(h * 3600 + m * 60 + s, 6) << shown;
  }
  EXPECT_GT(progress_lines, 0) << terminal;
  // Each progress line's epoch is one more than the last "epoch N done" before it (0 before the
  // first epoch's end; on a slow machine the run may not reach it).
  int done = 0;
  for (std::size_t at = 0; (at = terminal.find("epoch ", at)) != std::string::npos; at += 6) {
    int n = -1;
    if (std::sscanf(terminal.c_str() + at, "epoch %d", &n) != 1) continue;
    if (terminal.compare(at, 6 + std::to_string(n).size() + 5, "epoch " + std::to_string(n) + " done") == 0) {
      done = n;
    } else if (terminal.compare(at + 6 + std::to_string(n).size(), 6, " loss ") == 0) {
      EXPECT_EQ(n, done + 1) << terminal.substr(at > 40 ? at - 40 : 0, 80);
    }
  }
}

// A run stopped mid-epoch and resumed is the run that was never stopped: it goes on with its
// epoch's windows where it stopped, and every random draw of a step comes from the seed, the step
// and the rank, so the weights come out bit for bit the same (the 14 steps cross an epoch's end).
TEST(Train, AResumedRunEndsWithTheWeightsOfTheRunThatWasNotStopped) {
  auto dir = testing::scratch_dir("Train.AResumedRunEndsWithTheWeightsOfTheRunThatWasNotStopped");
  const auto config = make_set_and_config(dir);
  const std::string train = "--threads 2 --config " + config.string() + " train ";
  auto whole = scorejam(train + "--steps 14 --out " + (dir / "whole").string(), dir);
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  auto first = scorejam(train + "--steps 6 --out " + (dir / "parts").string(), dir);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto second = scorejam(train + "--steps 14 --out " + (dir / "parts").string() + " --resume " +
                             (dir / "parts" / "checkpoint.pt").string(), dir);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_TRUE(contains(second.err, "going on with epoch 1 after 24 of its windows")) << second.err;

  auto a = load_checkpoint(dir / "whole" / "checkpoint.pt"), b = load_checkpoint(dir / "parts" / "checkpoint.pt");
  EXPECT_EQ(a.state.step, 14);
  EXPECT_EQ(b.state.step, 14);
  EXPECT_GE(a.state.epoch, 1) << "the run did not reach an epoch's end";
  EXPECT_EQ(b.state.epoch, a.state.epoch);
  EXPECT_EQ(b.state.epoch_windows, a.state.epoch_windows);
  expect_same_weights(a, b);
}

// Data-parallel on one machine: `--nproc 2` launches two ranks of the run over loopback Gloo. They
// train one model; rank 0 alone reports, writes the checkpoint and writes the loss history.
TEST(Train, TwoLocalRanksTrainOneModelAndOnlyRankZeroWrites) {
  auto dir = testing::scratch_dir("Train.TwoLocalRanksTrainOneModelAndOnlyRankZeroWrites");
  const auto config = make_set_and_config(dir);
  auto run = scorejam("--config " + config.string() + " train --steps 10 --nproc 2", dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(contains(run.err, "launching 2 ranks")) << run.err;
  EXPECT_TRUE(contains(run.err, "data-parallel: rank 0 of 2")) << run.err;
  EXPECT_TRUE(contains(run.out, "trained to step 10")) << run.out;
  EXPECT_EQ(run.out.find("trained to step"), run.out.rfind("trained to step")) << "one report, rank 0's: " << run.out;
  EXPECT_EQ(load_checkpoint(dir / "run" / "checkpoint.pt").state.step, 10);
  // One writer of the loss history: each step's train row once (two writers write it twice).
  const auto csv = testing::slurp(dir / "run" / "loss.csv");
  std::istringstream lines(csv);
  std::map<std::string, int> train_rows;  // step -> rows with a train loss
  for (std::string line; std::getline(lines, line);) {
    const auto first = line.find(','), second = line.find(',', first + 1);
    if (first != std::string::npos && second != std::string::npos && line[second + 1] != ',')
      ++train_rows[line.substr(0, first)];
  }
  EXPECT_EQ(train_rows, (std::map<std::string, int>{{"5", 1}, {"10", 1}, {"step", 1}})) << csv;

  // --resume in a data-parallel run: every rank loads the checkpoint, rank 0's weights go out.
  auto resumed = scorejam("--config " + config.string() + " train --steps 15 --nproc 2 --resume " +
                              (dir / "run" / "checkpoint.pt").string(), dir);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(contains(resumed.err, "resumed from")) << resumed.err;
  EXPECT_TRUE(contains(resumed.out, "trained to step 15")) << resumed.out;
  const auto parts = load_checkpoint(dir / "run" / "checkpoint.pt");
  EXPECT_EQ(parts.state.step, 15);
  // ... and ends as the data-parallel run that was never stopped.
  auto whole = scorejam("--config " + config.string() + " train --steps 15 --nproc 2 --out " +
                            (dir / "whole").string(), dir);
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  expect_same_weights(load_checkpoint(dir / "whole" / "checkpoint.pt"), parts);
}

TEST(Train, DataParallelSettingsAreCheckedNamingWhatIsWrong) {
  auto dir = testing::scratch_dir("Train.DataParallelSettingsAreChecked");
  const auto config = make_set_and_config(dir);
  auto rank = scorejam("--config " + config.string() + " train --world-size 2 --rank 2", dir);
  EXPECT_EQ(rank.exit_code, 1);
  EXPECT_TRUE(contains(rank.err, "the rank must be 0 to 1 (it is 2)")) << rank.err;
  auto master = scorejam("--config " + config.string() + " train --world-size 2 --rank 1 --master nohost", dir);
  EXPECT_EQ(master.exit_code, 1);
  EXPECT_TRUE(contains(master.err, "--master 'nohost': expected HOST:PORT")) << master.err;
  auto env = scorejam("--config " + config.string() + " train", dir, "RANK=first WORLD_SIZE=2");
  EXPECT_EQ(env.exit_code, 1);
  EXPECT_TRUE(contains(env.err, "RANK='first' is not a whole number")) << env.err;
}

// SIGTERM to a training run after its fifth step: it saves a checkpoint and exits 130. `extra`:
// more arguments (--nproc 2: the launcher passes the signal on to its ranks).
void expect_sigterm_saves(const std::string& name, const std::vector<std::string>& extra) {
  auto dir = testing::scratch_dir(name);
  const auto config = make_set_and_config(dir);
  const std::string exe = SCOREJAM_EXE, log = (dir / "log.txt").string();
  std::vector<std::string> args{exe, "--config", config.string(), "train", "--steps", "1000000"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  // Wait until it is training (a first loss row), at most 60 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         !contains(testing::slurp(dir / "run" / "loss.csv"), "\n5,"))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << testing::slurp(log);
  EXPECT_EQ(WEXITSTATUS(status), 130) << testing::slurp(log);
  EXPECT_TRUE(contains(testing::slurp(log), "saving a checkpoint")) << testing::slurp(log);
  EXPECT_GE(load_checkpoint(dir / "run" / "checkpoint.pt").state.step, 5);
}

TEST(Train, SigtermSavesACheckpointAndStops) { expect_sigterm_saves("Train.SigtermSavesACheckpointAndStops", {}); }

TEST(Train, SigtermToTheLauncherStopsEveryRankAndRankZeroSaves) {
  expect_sigterm_saves("Train.SigtermToTheLauncherStopsEveryRankAndRankZeroSaves", {"--nproc", "2"});
}

// The bundled model, for real: it continues the bundled example with a note density in the range
// of piano playing (MAESTRO averages 10.4 notes a second); an untrained network gives hundreds.
TEST(BundledModel, ContinuesAPromptWithPianoLikeDensity) {
  const fs::path model = fs::path(SCOREJAM_SOURCE_DIR) / "models" / "scorejam-default.pt";
  ASSERT_TRUE(fs::exists(model)) << model << " is missing: the bundled model must be committed";
  auto dir = testing::scratch_dir("BundledModel.ContinuesAPromptWithPianoLikeDensity");
  auto run = scorejam("sample --prompt " SCOREJAM_SOURCE_DIR "/examples/bach_prelude_c.mid --prompt-seconds 4 "
                      "--seconds 4 -n 2 --sampler pc --steps 100 --seed 1 -o " + dir.string(), dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::size_t generated = 0;
  for (const char* file : {"sample_00.mid", "sample_01.mid"}) {
    const auto notes = read_midi_file(dir / file).notes;
    for (const auto& n : notes) generated += n.start_s >= 4.0 - 1e-9;  // after the 4 s of prompt
  }
  const double per_second = static_cast<double>(generated) / 8.0;
  EXPECT_GE(per_second, 1.0) << run.out;
  EXPECT_LE(per_second, 40.0) << run.out;
}

// A prompt with nothing to hear is said, naming the file and what was found, and the files written
// are named as written.
TEST(BundledModel, AnOddPromptIsAWarningNamingTheFileAndWhatItHolds) {
  auto dir = testing::scratch_dir("BundledModel.AnOddPromptIsAWarningNamingTheFileAndWhatItHolds");
  // A header that promises 65,535 tracks, and no track.
  const unsigned char hollow[] = {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 1, 0xff, 0xff, 0x01, 0xe0};
  std::ofstream(dir / "hollow.mid", std::ios::binary).write(reinterpret_cast<const char*>(hollow), sizeof hollow);
  // One second of notes where four are asked.
  write_midi_file(dir / "short.mid", std::vector<Note>{{0.0, 0.5, 60, 90}, {0.5, 1.0, 64, 90}}, {});
  const std::string quick = " --seconds 1 -n 1 --sampler heun --steps 2 --seed 1 --prompt-seconds 4 -o ";
  auto hollow_run = scorejam("sample --prompt " + (dir / "hollow.mid").string() + quick + (dir / "a").string(), dir);
  ASSERT_EQ(hollow_run.exit_code, 0) << hollow_run.err;
  EXPECT_TRUE(contains(hollow_run.err, "hollow.mid: the header declares 65535 tracks, the file holds 0")) << hollow_run.err;
  EXPECT_TRUE(contains(hollow_run.err, "hollow.mid: no notes in the file")) << hollow_run.err;
  EXPECT_TRUE(contains(hollow_run.out, "sample_00.mid, sample_00.png: ")) << hollow_run.out;
  EXPECT_TRUE(fs::exists(dir / "a" / "sample_00.mid") && fs::exists(dir / "a" / "sample_00.png"));

  auto short_run = scorejam("sample --prompt " + (dir / "short.mid").string() + quick + (dir / "b").string(), dir);
  ASSERT_EQ(short_run.exit_code, 0) << short_run.err;
  EXPECT_TRUE(contains(short_run.err, "short.mid: 1.0 s of prompt, fewer than the 4.0 s asked")) << short_run.err;
  EXPECT_FALSE(contains(short_run.err, "no notes")) << short_run.err;
}

TEST(LossHistory, ReadsTrainAndValidationRowsAndSkipsBadOnes) {
  auto dir = testing::scratch_dir("LossHistory.ReadsTrainAndValidationRowsAndSkipsBadOnes");
  testing::write_text(dir / "loss.csv", "step,epoch,train_loss,val_loss,steps_per_s,elapsed_s\n"
                                        "0,0,,37695.1,,\n50,0,5000.5,,6.2,8.1\ngarbage\n100,0,x,,1,2\n1471,1,,3328.2,,\n");
  std::vector<LossPoint> train, validation;
  read_loss_csv(dir / "loss.csv", train, validation);
  ASSERT_EQ(train.size(), 1u);
  EXPECT_EQ(train[0].step, 50);
  EXPECT_EQ(train[0].loss, 5000.5);
  ASSERT_EQ(validation.size(), 2u);
  EXPECT_EQ(validation[1].step, 1471);
  EXPECT_EQ(validation[1].loss, 3328.2);
}

TEST(Train, MissingDataIsAClearError) {
  auto dir = testing::scratch_dir("Train.MissingDataIsAClearError");
  auto run = scorejam("train --data " + (dir / "nothing.zip").string(), dir);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(contains(run.err, "nothing.zip")) << run.err;
}

}  // namespace
}  // namespace scorejam
