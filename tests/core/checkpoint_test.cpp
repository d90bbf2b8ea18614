#include "core/checkpoint.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <boost/crc.hpp>
#include <csignal>
#include <cstring>
#include <sstream>
#include <tuple>
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
  TrainingState state{step, 3, 123.5, "[train]\nseed = 1\n", 17};
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
  EXPECT_EQ(loaded.state.epoch_windows, 17);
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

// The file format as documented in checkpoint.cpp, written independently of it: "SCOREJAM", the
// format, the archive's CRC-32 and its length (little-endian u32, u32, u64), then the archive.
std::string with_header(const std::string& archive, std::uint32_t format = 2) {
  boost::crc_32_type crc;
  crc.process_bytes(archive.data(), archive.size());
  std::string file = "SCOREJAM";
  auto put = [&](std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) file.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
  };
  put(format, 4);
  put(crc.checksum(), 4);
  put(archive.size(), 8);
  return file + archive;
}

std::string archive_bytes(torch::serialize::OutputArchive& archive) {
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

torch::Tensor text_tensor(const std::string& text) {
  auto t = torch::empty({static_cast<int64_t>(text.size())}, torch::kUInt8);
  if (!text.empty()) std::memcpy(t.data_ptr<uint8_t>(), text.data(), text.size());  // an empty tensor's data is null
  return t;
}

std::string read_bytes(const fs::path& path) {
  const auto bytes = testing::read_file(path);
  return {bytes.begin(), bytes.end()};
}
void write_bytes(const fs::path& path, const std::string& bytes) { testing::write_text(path, bytes); }

void expect_error_naming(const fs::path& path, const std::string& part) {
  try {
    load_checkpoint(path);
    FAIL() << "loaded " << path;
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, SavedFileIsTheHeaderAndTheArchive) {
  auto dir = testing::scratch_dir("Checkpoint.SavedFileIsTheHeaderAndTheArchive");
  save_tiny(dir / "c.pt", 1);
  const std::string file = read_bytes(dir / "c.pt");
  ASSERT_GT(file.size(), 24u);
  EXPECT_EQ(file, with_header(file.substr(24)));
  EXPECT_EQ(file.substr(24, 4), "PK\x03\x04");  // the archive: a torch zip
}

TEST(Checkpoint, TruncatedFileIsAClearError) {
  auto dir = testing::scratch_dir("Checkpoint.TruncatedFileIsAClearError");
  save_tiny(dir / "c.pt", 1);
  const auto size = fs::file_size(dir / "c.pt");
  for (const auto cut : {size / 2, std::uintmax_t{24}, std::uintmax_t{12}}) {
    fs::copy_file(dir / "c.pt", dir / "cut.pt", fs::copy_options::overwrite_existing);
    fs::resize_file(dir / "cut.pt", cut);
    expect_error_naming(dir / "cut.pt", "truncated checkpoint");
  }
}

TEST(Checkpoint, CorruptBytesAreAClearError) {
  auto dir = testing::scratch_dir("Checkpoint.CorruptBytesAreAClearError");
  save_tiny(dir / "c.pt", 1);
  auto bytes = read_bytes(dir / "c.pt");
  for (std::size_t i = bytes.size() / 3; i < bytes.size() / 3 + 64; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  write_bytes(dir / "c.pt", bytes);
  expect_error_naming(dir / "c.pt", "CRC-32 does not match");
  write_bytes(dir / "c.pt", read_bytes(dir / "c.pt") + "more");
  expect_error_naming(dir / "c.pt", "bytes after its end");
}

// checkpoint_fuzz's first crash: one bit flipped in the TorchScript text inside the archive
// ("__parameters__" became "__parameterS__") made LibTorch 1.13's reader dereference a null pointer.
// One flipped bit is what a failing disk or a bad copy does; the header's CRC-32 now refuses it
// before LibTorch reads the archive.
TEST(Checkpoint, TheBitFlipThatCrashedLibTorchIsRefusedByTheChecksum) {
  auto dir = testing::scratch_dir("Checkpoint.TheBitFlipThatCrashedLibTorchIsRefusedByTheChecksum");
  save_tiny(dir / "c.pt", 1);
  auto bytes = read_bytes(dir / "c.pt");
  const auto at = bytes.find("__parameters__ = []");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 11] = static_cast<char>(bytes[at + 11] ^ 0x20);  // 's' -> 'S'
  ASSERT_EQ(bytes.substr(at, 14), "__parameterS__");
  write_bytes(dir / "c.pt", bytes);
  expect_error_naming(dir / "c.pt", "CRC-32 does not match");
}

TEST(Checkpoint, HeaderClaimingAHugeArchiveIsRefusedBeforeAllocating) {
  auto dir = testing::scratch_dir("Checkpoint.HeaderClaimingAHugeArchiveIsRefusedBeforeAllocating");
  std::string file = with_header("tiny");
  for (int i = 16; i < 24; ++i) file[static_cast<std::size_t>(i)] = '\x7f';  // 9e18 bytes
  write_bytes(dir / "huge.pt", file);
  expect_error_naming(dir / "huge.pt", "its header claims");
  // checkpoint_fuzz: a claim under the 4 GiB limit in a small file is judged by the file's size,
  // not allocated first.
  file = with_header("tiny");
  const std::string claim("\x58\xb3\xff\xff\x00\x00\x00\x00", 8);  // 4294947672 bytes, little-endian
  file.replace(16, 8, claim);
  write_bytes(dir / "claims.pt", file);
  expect_error_naming(dir / "claims.pt", "header claims 4294947672 bytes of archive, the file holds 4");
}

TEST(Checkpoint, OtherFilesAreNotCheckpoints) {
  auto dir = testing::scratch_dir("Checkpoint.OtherFilesAreNotCheckpoints");
  testing::write_text(dir / "notes.pt", "just some text\n");
  expect_error_naming(dir / "notes.pt", "not a scorejam checkpoint");
  expect_error_naming(dir / "missing.pt", "no such checkpoint");
  // A torch archive that is not ours, bare and with a header.
  torch::serialize::OutputArchive archive;
  archive.write("weights", torch::ones({3}));
  const auto foreign = archive_bytes(archive);
  write_bytes(dir / "foreign.pt", foreign);
  expect_error_naming(dir / "foreign.pt", "format 1");
  write_bytes(dir / "foreign.pt", with_header(foreign));
  expect_error_naming(dir / "foreign.pt", "not a scorejam checkpoint (no 'magic')");
}

TEST(Checkpoint, FormatOneIsRefusedNamingIt) {
  auto dir = testing::scratch_dir("Checkpoint.FormatOneIsRefusedNamingIt");
  save_tiny(dir / "c.pt", 1);
  write_bytes(dir / "old.pt", read_bytes(dir / "c.pt").substr(24));
  expect_error_naming(dir / "old.pt", "a checkpoint of format 1");
}

TEST(Checkpoint, OtherVersionIsRefusedNamingIt) {
  auto dir = testing::scratch_dir("Checkpoint.OtherVersionIsRefusedNamingIt");
  torch::serialize::OutputArchive archive;
  archive.write("magic", text_tensor("scorejam-checkpoint"));
  archive.write("version", torch::tensor({kCheckpointVersion + 1}));
  write_bytes(dir / "future.pt", with_header(archive_bytes(archive)));
  expect_error_naming(dir / "future.pt", "version " + std::to_string(kCheckpointVersion + 1));
  save_tiny(dir / "c.pt", 1);
  write_bytes(dir / "format3.pt", with_header(read_bytes(dir / "c.pt").substr(24), 3));
  expect_error_naming(dir / "format3.pt", "checkpoint format 3, this scorejam reads format 2");
}

// An archive with a valid header can still hold anything under our keys: a training state of one
// number, a version that is a list, must be errors, not LibTorch exceptions from item().
TEST(Checkpoint, ValuesOfTheWrongShapeAreRefusedNamingTheKey) {
  auto dir = testing::scratch_dir("Checkpoint.ValuesOfTheWrongShapeAreRefusedNamingTheKey");
  auto write = [&](const torch::Tensor& version, const torch::Tensor& state) {
    torch::serialize::OutputArchive archive;
    archive.write("magic", text_tensor("scorejam-checkpoint"));
    archive.write("version", version);
    archive.write("spec", text_tensor(spec_to_toml(tiny_spec())));
    archive.write("run_config", text_tensor(""));
    archive.write("state", state);
    write_bytes(dir / "odd.pt", with_header(archive_bytes(archive)));
  };
  write(torch::tensor({kCheckpointVersion, kCheckpointVersion}), torch::tensor({std::int64_t{1}, std::int64_t{2}}));
  expect_error_naming(dir / "odd.pt", "'version' has the wrong shape or type");
  write(torch::tensor({kCheckpointVersion}), torch::tensor({std::int64_t{1}}));
  expect_error_naming(dir / "odd.pt", "'state' has the wrong shape or type");
  write(torch::tensor({kCheckpointVersion}), torch::tensor({1.5, 2.5}));
  expect_error_naming(dir / "odd.pt", "'state' has the wrong shape or type");
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
  spec.net.context_map = true;
  EXPECT_EQ(spec_from_toml(spec_to_toml(spec), "x"), spec);
  // A spec written before the map existed has none.
  std::string older = spec_to_toml(spec);
  const auto line = older.find("context_map = true\n");
  ASSERT_NE(line, std::string::npos) << older;
  older.erase(line, std::string("context_map = true\n").size());
  EXPECT_FALSE(spec_from_toml(older, "x").net.context_map);
  EXPECT_THROW(spec_from_toml("[net]\nchannels = 1\n", "x"), CheckpointError);
}

// A checkpoint's spec is bounded like a config's: a stored spec cannot make the loader build a
// network of 40 levels, of width 2^31, or of zero channels.
TEST(ModelSpec, SpecBeyondWhatAConfigAllowsIsRefused) {
  const std::string good = spec_to_toml(tiny_spec());
  ASSERT_NO_THROW(spec_from_toml(good, "good"));
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from << " not in\n" << text;
    return text.replace(at, from.size(), to);
  };
  for (const auto& [from, to, problem] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"widths = [ 8, 16 ]", "widths = [ 8, 16, 16, 16, 16, 16, 16, 16, 16 ]", "1 to 8 levels"},
           {"widths = [ 8, 16 ]", "widths = [ 8, 2147483648 ]", "multiple of 4 in [4, 4096]"},
           {"channels = 2", "channels = 0", "model.channels"},
           {"channels = 2", "channels = 4294967298", "lacks 'channels'"},
           {"frames = 16", "frames = 15", "model.window_frames"}}) {
    try {
      spec_from_toml(replaced(from, to), "c.pt");
      ADD_FAILURE() << "accepted " << to;
    } catch (const CheckpointError& e) {
      EXPECT_NE(std::string(e.what()).find(problem), std::string::npos) << e.what();
    }
  }
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

TEST(ModelSpec, SpecsWrittenBeforeThePedalChannelReadAsTheThreeChannelFormat) {
  const auto text = spec_to_toml(tiny_spec());
  EXPECT_EQ(text.find("pedal_channel"), std::string::npos) << text;
  EXPECT_EQ(text.find("onset_offsets"), std::string::npos) << text;
  const auto spec = spec_from_toml(text, "old");
  EXPECT_FALSE(spec.roll.pedal_channel);
  EXPECT_FALSE(spec.roll.onset_offsets);
  EXPECT_TRUE(spec.roll.sustain_pedal);
}

TEST(ModelSpec, PedalChannelAndOnsetOffsetsRoundTrip) {
  auto spec = tiny_spec();
  spec.net.channels = 5;
  spec.roll.sustain_pedal = false;
  spec.roll.pedal_channel = true;
  spec.roll.onset_offsets = true;
  EXPECT_EQ(spec_from_toml(spec_to_toml(spec), "x"), spec);
}

TEST(ModelSpec, ChannelsMustBeTheFormatsNamingThem) {
  auto spec = tiny_spec();
  spec.net.channels = 3;
  spec.roll.sustain_pedal = false;
  spec.roll.pedal_channel = true;
  EXPECT_NE(spec_problem(spec).find("model.channels must be 4"), std::string::npos) << spec_problem(spec);
  spec.net.channels = 4;
  EXPECT_EQ(spec_problem(spec), "");
  spec.roll.sustain_pedal = true;
  EXPECT_NE(spec_problem(spec).find("roll.sustain_pedal"), std::string::npos) << spec_problem(spec);
  auto text = spec_to_toml(spec);
  try {
    spec_from_toml(text, "folded.pt");
    FAIL() << "a pedal channel with the pedal folded in must be refused";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("folded.pt"), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, TheBundledModelIsStillTheThreeChannelFoldedFormat) {
  const auto loaded = load_checkpoint(fs::path(SCOREJAM_SOURCE_DIR) / "models" / "scorejam-default.pt");
  EXPECT_EQ(loaded.spec.net.channels, 3);
  EXPECT_TRUE(loaded.spec.roll.sustain_pedal);
  EXPECT_FALSE(loaded.spec.roll.pedal_channel);
  EXPECT_FALSE(loaded.spec.roll.onset_offsets);
}

TEST(Checkpoint, FiveChannelModelSavesAndLoads) {
  auto dir = testing::scratch_dir("Checkpoint.FiveChannelModelSavesAndLoads");
  auto spec = tiny_spec();
  spec.net.channels = 5;
  spec.roll.sustain_pedal = false;
  spec.roll.pedal_channel = true;
  spec.roll.onset_offsets = true;
  ScoreNet model(spec.net, Sde{}), ema(spec.net, Sde{});
  save_checkpoint(dir / "p.pt", spec, model, ema, nullptr, {});
  auto loaded = load_checkpoint(dir / "p.pt");
  EXPECT_EQ(loaded.spec, spec);
  EXPECT_TRUE(same_weights(loaded.model, model));
}

}  // namespace
}  // namespace scorejam
