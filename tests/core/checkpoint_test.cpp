#include "core/checkpoint.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <csignal>
#include <fstream>

#include "tests/core/test_support.h"

namespace scorejam {
namespace {
namespace fs = std::filesystem;

ModelSpec tiny_spec() {
  ModelSpec spec;
  spec.net = ScoreNetConfig{2, {8, 16}, 16};
  spec.net.conditional = true;
  spec.window_frames = 16;
  return spec;
}

struct Saved {
  ScoreNet model{nullptr}, ema{nullptr};
};

Saved save_tiny(const fs::path& path, std::int64_t step, torch::optim::Optimizer* optimizer = nullptr) {
  torch::manual_seed(static_cast<uint64_t>(step));
  Saved s{ScoreNet(tiny_spec().net, Sde{}), ScoreNet(tiny_spec().net, Sde{})};
  TrainingState state{step, 3, 123.5, "[train]\nseed = 1\n"};
  save_checkpoint(path, tiny_spec(), s.model, s.ema, optimizer, state);
  return s;
}

bool same_weights(ScoreNet& a, ScoreNet& b) {
  auto pa = a->parameters(), pb = b->parameters();
  for (std::size_t i = 0; i < pa.size(); ++i)
    if (!torch::equal(pa[i], pb[i])) return false;
  return torch::equal(a->buffers()[0], b->buffers()[0]);
}

TEST(Checkpoint, RoundTripKeepsWeightsSpecAndState) {
  auto dir = testing::scratch_dir("Checkpoint.RoundTripKeepsWeightsSpecAndState");
  auto saved = save_tiny(dir / "c.pt", 42);
  auto loaded = load_checkpoint(dir / "c.pt");
  EXPECT_EQ(loaded.spec, tiny_spec());
  EXPECT_EQ(loaded.state.step, 42);
  EXPECT_EQ(loaded.state.epoch, 3);
  EXPECT_EQ(loaded.state.last_val_loss, 123.5);
  EXPECT_EQ(loaded.state.run_config, "[train]\nseed = 1\n");
  EXPECT_TRUE(same_weights(loaded.model, saved.model));
  EXPECT_TRUE(same_weights(loaded.ema, saved.ema));
  EXPECT_FALSE(fs::exists(dir / "c.pt.tmp"));
}

TEST(Checkpoint, OptimizerStateComesBackForResume) {
  auto dir = testing::scratch_dir("Checkpoint.OptimizerStateComesBackForResume");
  torch::manual_seed(0);
  ScoreNet model(tiny_spec().net, Sde{});
  torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(1e-3));
  auto loss = dsm_loss(model, torch::randn({2, 2, 88, 16}), torch::zeros({2, 2, 88, 16}), torch::zeros({2, 1, 88, 16}));
  loss.backward();
  adam.step();
  save_checkpoint(dir / "c.pt", tiny_spec(), model, model, &adam, {});
  torch::optim::Adam restored(model->parameters(), torch::optim::AdamOptions(1e-3));
  load_optimizer_state(dir / "c.pt", restored);
  const auto& a = static_cast<torch::optim::AdamParamState&>(*adam.state().begin()->second);
  const auto& b = static_cast<torch::optim::AdamParamState&>(*restored.state().at(adam.state().begin()->first));
  EXPECT_EQ(a.step(), b.step());
  EXPECT_TRUE(torch::equal(a.exp_avg(), b.exp_avg()));
  save_tiny(dir / "no_optimizer.pt", 1);
  EXPECT_THROW(load_optimizer_state(dir / "no_optimizer.pt", restored), CheckpointError);
}

void expect_error_naming(const fs::path& path, const std::string& part) {
  try {
    load_checkpoint(path);
    FAIL() << "loaded " << path;
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, TruncatedFileIsAClearError) {
  auto dir = testing::scratch_dir("Checkpoint.TruncatedFileIsAClearError");
  save_tiny(dir / "c.pt", 1);
  fs::resize_file(dir / "c.pt", fs::file_size(dir / "c.pt") / 2);
  expect_error_naming(dir / "c.pt", "not a scorejam checkpoint");
}

TEST(Checkpoint, CorruptBytesAreAClearError) {
  auto dir = testing::scratch_dir("Checkpoint.CorruptBytesAreAClearError");
  save_tiny(dir / "c.pt", 1);
  auto bytes = testing::read_file(dir / "c.pt");
  for (std::size_t i = bytes.size() / 3; i < bytes.size() / 3 + 64; ++i) bytes[i] ^= 0x5a;
  testing::write_file(dir / "c.pt", bytes);
  EXPECT_THROW(load_checkpoint(dir / "c.pt"), CheckpointError);
}

TEST(Checkpoint, OtherFilesAreNotCheckpoints) {
  auto dir = testing::scratch_dir("Checkpoint.OtherFilesAreNotCheckpoints");
  testing::write_text(dir / "notes.pt", "just some text\n");
  expect_error_naming(dir / "notes.pt", "not a scorejam checkpoint");
  expect_error_naming(dir / "missing.pt", "no such checkpoint");
  // A torch archive that is not ours.
  torch::serialize::OutputArchive archive;
  archive.write("weights", torch::ones({3}));
  archive.save_to((dir / "foreign.pt").string());
  expect_error_naming(dir / "foreign.pt", "not a scorejam checkpoint");
}

TEST(Checkpoint, OtherVersionIsRefusedNamingIt) {
  auto dir = testing::scratch_dir("Checkpoint.OtherVersionIsRefusedNamingIt");
  torch::serialize::OutputArchive archive;
  const std::string magic = "scorejam-checkpoint";
  auto m = torch::empty({static_cast<int64_t>(magic.size())}, torch::kUInt8);
  std::memcpy(m.data_ptr<uint8_t>(), magic.data(), magic.size());
  archive.write("magic", m);
  archive.write("version", torch::tensor({kCheckpointVersion + 1}));
  archive.save_to((dir / "future.pt").string());
  expect_error_naming(dir / "future.pt", "version " + std::to_string(kCheckpointVersion + 1));
}

TEST(Checkpoint, WeightsThatDoNotFitTheSpecAreRefused) {
  auto dir = testing::scratch_dir("Checkpoint.WeightsThatDoNotFitTheSpecAreRefused");
  ModelSpec bigger = tiny_spec();
  bigger.net.widths = {8, 32};
  ScoreNet model(bigger.net, Sde{});
  // Claim the tiny spec while storing the bigger network's weights.
  save_checkpoint(dir / "c.pt", tiny_spec(), model, model, nullptr, {});
  expect_error_naming(dir / "c.pt", "do not fit");
}

// A write that fails half-way (here: the file-size limit, as a full disk would) leaves the previous
// checkpoint intact and loadable, and no temporary file behind.
TEST(Checkpoint, FailedWriteKeepsThePreviousCheckpoint) {
  auto dir = testing::scratch_dir("Checkpoint.FailedWriteKeepsThePreviousCheckpoint");
  auto saved = save_tiny(dir / "c.pt", 7);
  const auto size = fs::file_size(dir / "c.pt");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{static_cast<rlim_t>(size / 2), static_cast<rlim_t>(size / 2)};
    setrlimit(RLIMIT_FSIZE, &limit);
    try {
      save_tiny(dir / "c.pt", 8);
    } catch (const CheckpointError& e) {
      const bool names_it = std::string(e.what()).find("previous one kept") != std::string::npos;
      _exit(names_it ? 3 : 4);
    } catch (...) {
      _exit(5);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3) << "the failed save must throw a CheckpointError saying the old one is kept";
  auto loaded = load_checkpoint(dir / "c.pt");
  EXPECT_EQ(loaded.state.step, 7);
  EXPECT_TRUE(same_weights(loaded.model, saved.model));
  EXPECT_FALSE(fs::exists(dir / "c.pt.tmp"));
}

TEST(ModelSpec, TomlRoundTrip) {
  auto spec = tiny_spec();
  spec.sde.kind = SdeKind::kSubVP;
  spec.net.attention = true;
  spec.net.preconditioning = "edm";
  spec.net.sigma_data = 0.3;
  spec.net.conditional = true;
  spec.net.context_summary = true;
  EXPECT_EQ(spec_from_toml(spec_to_toml(spec), "x"), spec);
  EXPECT_THROW(spec_from_toml("[net]\nchannels = 1\n", "x"), CheckpointError);
}

TEST(ModelSpec, SpecsWrittenBeforeTheEdmOptionAreSongsNetwork) {
  auto spec = tiny_spec();
  spec.net.preconditioning = "edm";
  auto text = spec_to_toml(spec);
  const auto line = text.find("preconditioning");
  ASSERT_NE(line, std::string::npos);
  text.erase(line, text.find('\n', line) - line);
  EXPECT_EQ(spec_from_toml(text, "old").net.preconditioning, "song");
  auto wrong = spec_to_toml(spec);
  const auto edm = wrong.find("edm");
  ASSERT_NE(edm, std::string::npos);
  wrong.replace(edm, 3, "ddpm");
  try {
    spec_from_toml(wrong, "odd.pt");
    FAIL() << "an unknown preconditioning must be refused";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("ddpm"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace scorejam
