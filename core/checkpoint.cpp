#include "core/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <torch/torch.h>
#include <unistd.h>

#include <boost/crc.hpp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <toml++/toml.h>

namespace scorejam {
namespace fs = std::filesystem;

namespace {

constexpr const char* kMagic = "scorejam-checkpoint";

// The file (format 2) is a 24-byte header and then the torch archive: "SCOREJAM", the format, the
// archive's CRC-32 and its length (little-endian u32, u32, u64). The header is checked before
// LibTorch reads a byte of the archive, because LibTorch 1.13's reader crashes on some damaged
// archives (checkpoint_fuzz found a SEGV in 290 runs) and leaks on others. Format 1 was the bare
// archive.
constexpr char kFileMagic[8] = {'S', 'C', 'O', 'R', 'E', 'J', 'A', 'M'};
constexpr std::size_t kHeaderBytes = 24;
constexpr std::uint64_t kMaxArchiveBytes = std::uint64_t{4} << 30;

template <class T>
void put_le(std::string& out, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

template <class T>
T get_le(const char* in) {
  T value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) value |= static_cast<T>(static_cast<unsigned char>(in[i])) << (8 * i);
  return value;
}

std::uint32_t crc32(const std::string& bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

std::string with_header(const std::string& archive) {
  std::string file(kFileMagic, sizeof kFileMagic);
  put_le<std::uint32_t>(file, static_cast<std::uint32_t>(kCheckpointFormat));
  put_le<std::uint32_t>(file, crc32(archive));
  put_le<std::uint64_t>(file, archive.size());
  return file + archive;
}

// The archive of the checkpoint file at `path`, once its header says it is whole and undamaged.
std::string read_archive_bytes(const fs::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw CheckpointError(name + ": no such checkpoint file");
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) throw CheckpointError(name + ": cannot open: " + std::strerror(errno));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(file, std::fclose);
  char header[kHeaderBytes];
  const std::size_t got = std::fread(header, 1, kHeaderBytes, file);
  if (got >= 4 && std::memcmp(header, "PK\x03\x04", 4) == 0)
    throw CheckpointError(name + ": a checkpoint of format 1 (a bare torch archive, with no checksum to check before "
                                 "LibTorch reads it); this scorejam reads format " +
                          std::to_string(kCheckpointFormat) + " only");
  if (got < sizeof kFileMagic || std::memcmp(header, kFileMagic, sizeof kFileMagic) != 0)
    throw CheckpointError(name + ": not a scorejam checkpoint (it does not begin with SCOREJAM)");
  if (got < kHeaderBytes) throw CheckpointError(name + ": truncated checkpoint (" + std::to_string(got) + " bytes)");
  const auto format = get_le<std::uint32_t>(header + 8);
  if (format != kCheckpointFormat)
    throw CheckpointError(name + ": checkpoint format " + std::to_string(format) + ", this scorejam reads format " +
                          std::to_string(kCheckpointFormat));
  const auto crc = get_le<std::uint32_t>(header + 12);
  const auto length = get_le<std::uint64_t>(header + 16);
  if (length > kMaxArchiveBytes)
    throw CheckpointError(name + ": corrupt checkpoint (its header claims " + std::to_string(length) + " bytes)");
  // The file's size bounds what is allocated, not the header's claim (checkpoint_fuzz: a 60-byte
  // file claiming 4 GB made the loader allocate 4 GB before reading).
  // The size of the file that is open, not of whatever the path names by now.
  struct stat opened {};
  if (::fstat(::fileno(file), &opened) != 0)
    throw CheckpointError(name + ": cannot read its size: " + std::strerror(errno));
  const std::uint64_t held = static_cast<std::uint64_t>(opened.st_size) - kHeaderBytes;
  if (held < length)
    throw CheckpointError(name + ": truncated checkpoint (its header claims " + std::to_string(length) +
                          " bytes of archive, the file holds " + std::to_string(held) + ")");
  if (held > length) throw CheckpointError(name + ": corrupt checkpoint (bytes after its end)");
  std::string archive(static_cast<std::size_t>(length), '\0');
  if (std::fread(archive.data(), 1, archive.size(), file) != length)
    throw CheckpointError(name + ": cannot read the archive (the file changed while it was read)");
  if (crc32(archive) != crc) throw CheckpointError(name + ": corrupt checkpoint (the archive's CRC-32 does not match)");
  return archive;
}

// The torch archive of a checkpoint file, checked by its header first.
void load_archive(const fs::path& path, torch::serialize::InputArchive& archive) {
  const std::string bytes = read_archive_bytes(path);
  try {
    archive.load_from(bytes.data(), bytes.size(), torch::kCPU);
  } catch (const std::exception&) {
    throw CheckpointError(path.string() + ": not a scorejam checkpoint (not a readable torch archive)");
  }
}

torch::Tensor text_tensor(const std::string& text) {
  auto t = torch::empty({static_cast<int64_t>(text.size())}, torch::kUInt8);
  if (!text.empty()) std::memcpy(t.data_ptr<uint8_t>(), text.data(), text.size());  // an empty tensor's data is null
  return t;
}

std::string tensor_text(const torch::Tensor& t) {
  auto c = t.to(torch::kCPU).contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<std::size_t>(c.numel()));
}

void fsync_path(const fs::path& path, int flags) {  // for the folder, after the rename
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// CRC-32 of the spec, the state and every tensor of both networks, in a fixed order: torch's
// archive reader does not check its entries, so a flipped byte would otherwise load silently.
std::int64_t content_checksum(const std::string& spec, const torch::Tensor& state, ScoreNet& model, ScoreNet& ema) {
  boost::crc_32_type crc;
  crc.process_bytes(spec.data(), spec.size());
  auto add = [&](const torch::Tensor& t) {
    auto c = t.detach().to(torch::kCPU).contiguous();
    crc.process_bytes(c.data_ptr(), static_cast<std::size_t>(c.numel()) * c.element_size());
  };
  add(state);
  for (auto* net : {&model, &ema}) {
    for (const auto& p : (*net)->named_parameters()) add(p.value());
    for (const auto& b : (*net)->named_buffers()) add(b.value());
  }
  return static_cast<std::int64_t>(crc.checksum());
}

// Writes all of `bytes` or throws; a short write (a full disk) is an error, not a crash.
void write_all(const fs::path& path, const std::string& bytes) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) throw std::runtime_error(std::strerror(errno));
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size() && std::fflush(file) == 0 &&
                       ::fsync(fileno(file)) == 0;
  const int error = errno;
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) throw std::runtime_error(std::strerror(written ? errno : error));
}

template <class T>
T required(const toml::table& table, const char* key, const std::string& source) {
  auto v = table[key].value<T>();
  if (!v) throw CheckpointError(source + ": model spec lacks '" + key + "' or it has the wrong type");
  return *v;
}

}  // namespace

std::string spec_to_toml(const ModelSpec& spec) {
  toml::array widths;
  for (int w : spec.net.widths) widths.push_back(w);
  toml::table root{
      {"net", toml::table{{"channels", spec.net.channels},
                          {"widths", widths},
                          {"embed_dim", spec.net.embed_dim},
                          {"fourier_scale", spec.net.fourier_scale},
                          {"attention", spec.net.attention},
                          {"conditional", spec.net.conditional},
                          {"valid_convolutions", spec.net.valid_convolutions},
                          {"context_summary", spec.net.context_summary},
                          {"context_map", spec.net.context_map},
                          {"beat_planes", spec.net.beat_planes},
                          {"preconditioning", spec.net.preconditioning},
                          {"sigma_data", spec.net.sigma_data}}},
      {"sde", toml::table{{"kind", to_string(spec.sde.kind)},
                          {"sigma", spec.sde.sigma},
                          {"beta_min", spec.sde.beta_min},
                          {"beta_max", spec.sde.beta_max},
                          {"eps", spec.sde.eps}}},
      {"roll", toml::table{{"fs_hz", spec.roll.fs_hz}, {"sustain_pedal", spec.roll.sustain_pedal}}},
      {"window", toml::table{{"frames", spec.window_frames}}},
  };
  // Written only when set, so that a checkpoint of the three-channel format is the same file as before.
  auto& roll = *root["roll"].as_table();
  if (spec.roll.pedal_channel) roll.insert("pedal_channel", true);
  if (spec.roll.onset_offsets) roll.insert("onset_offsets", true);
  std::ostringstream s;
  s << root;
  return s.str();
}

ModelSpec spec_from_toml(const std::string& text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw CheckpointError(source + ": model spec is not valid TOML: " + std::string(e.description()));
  }
  auto table = [&](const char* name) -> const toml::table& {
    const auto* t = root[name].as_table();
    if (!t) throw CheckpointError(source + ": model spec lacks [" + name + "]");
    return *t;
  };
  ModelSpec spec;
  const auto& net = table("net");
  spec.net.channels = required<int>(net, "channels", source);
  spec.net.widths.clear();
  if (const auto* widths = net["widths"].as_array())
    for (const auto& w : *widths) spec.net.widths.push_back(w.value<int>().value_or(0));
  spec.net.embed_dim = required<int>(net, "embed_dim", source);
  spec.net.fourier_scale = required<double>(net, "fourier_scale", source);
  spec.net.attention = required<bool>(net, "attention", source);
  spec.net.conditional = required<bool>(net, "conditional", source);
  spec.net.valid_convolutions = net["valid_convolutions"].value<bool>().value_or(false);
  // Absent in checkpoints written before the EDM option: those are Song's network.
  spec.net.context_summary = net["context_summary"].value<bool>().value_or(false);
  // Absent in checkpoints written before it (the bundled model up to 2026-12).
  spec.net.context_map = net["context_map"].value<bool>().value_or(false);
  spec.net.beat_planes = net["beat_planes"].value<bool>().value_or(false);
  spec.net.preconditioning = net["preconditioning"].value<std::string>().value_or("song");
  spec.net.sigma_data = net["sigma_data"].value<double>().value_or(0.5);
  if (spec.net.preconditioning != "song" && spec.net.preconditioning != "edm")
    throw CheckpointError(source + ": model spec has unknown preconditioning '" + spec.net.preconditioning + "'");
  if (!(spec.net.sigma_data > 0)) throw CheckpointError(source + ": model spec has sigma_data <= 0");
  const auto& sde = table("sde");
  try {
    spec.sde.kind = sde_kind_from_string(required<std::string>(sde, "kind", source));
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(source + ": " + e.what());
  }
  spec.sde.sigma = required<double>(sde, "sigma", source);
  spec.sde.beta_min = required<double>(sde, "beta_min", source);
  spec.sde.beta_max = required<double>(sde, "beta_max", source);
  spec.sde.eps = required<double>(sde, "eps", source);
  const auto& roll = table("roll");
  spec.roll.fs_hz = required<double>(roll, "fs_hz", source);
  spec.roll.sustain_pedal = required<bool>(roll, "sustain_pedal", source);
  // Absent in checkpoints written before them, and in those of the three-channel format.
  for (auto [key, value] : {std::pair{"pedal_channel", &spec.roll.pedal_channel},
                            std::pair{"onset_offsets", &spec.roll.onset_offsets}}) {
    if (!roll.contains(key)) continue;
    const auto v = roll[key].value<bool>();
    if (!v) throw CheckpointError(source + ": model spec's roll." + key + " is not true or false");
    *value = *v;
  }
  spec.window_frames = required<int>(table("window"), "frames", source);
  if (const auto problem = spec_problem(spec); !problem.empty())
    throw CheckpointError(source + ": model spec: " + problem);
  return spec;
}

void save_checkpoint(const fs::path& path, const ModelSpec& spec, ScoreNet& model, ScoreNet& ema,
                     torch::optim::Optimizer* optimizer, const TrainingState& state) {
  torch::serialize::OutputArchive archive;
  archive.write("magic", text_tensor(kMagic));
  archive.write("version", torch::tensor({kCheckpointVersion}));  // the archive's layout
  const auto spec_text = spec_to_toml(spec);
  archive.write("spec", text_tensor(spec_text));
  archive.write("run_config", text_tensor(state.run_config));
  const auto state_tensor = torch::tensor({state.step, state.epoch});
  archive.write("state", state_tensor);
  archive.write("checksum", torch::tensor({content_checksum(spec_text, state_tensor, model, ema)}));
  archive.write("last_val_loss", torch::tensor({state.last_val_loss}, torch::kFloat64));
  archive.write("epoch_windows", torch::tensor({state.epoch_windows}));
  torch::serialize::OutputArchive model_archive, ema_archive;
  model->save(model_archive);
  ema->save(ema_archive);
  archive.write("model", model_archive);
  archive.write("ema", ema_archive);
  if (optimizer) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }

  // Serialised in memory first: torch's file writer ends the process when a write fails.
  std::ostringstream buffer;
  archive.save_to(buffer);
  const fs::path temp = path.string() + ".tmp";
  try {
    write_all(temp, with_header(buffer.str()));
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove(temp, ec);
    throw CheckpointError(path.string() + ": cannot write checkpoint (previous one kept): " + e.what());
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    fs::remove(temp, ec);
    throw CheckpointError(path.string() + ": cannot move the new checkpoint into place: " + ec.message());
  }
  fsync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path(), O_RDONLY | O_DIRECTORY);
}

LoadedCheckpoint load_checkpoint(const fs::path& path) {
  const std::string name = path.string();
  torch::serialize::InputArchive archive;
  load_archive(path, archive);
  auto read_tensor = [&](const char* key) {
    torch::Tensor t;
    if (!archive.try_read(key, t)) throw CheckpointError(name + ": not a scorejam checkpoint (no '" + key + "')");
    return t;
  };
  if (tensor_text(read_tensor("magic")) != kMagic) throw CheckpointError(name + ": not a scorejam checkpoint");
  // A value of `count` integers (or one real): an archive can hold any tensor under a known key.
  auto read_values = [&](const char* key, std::int64_t count, bool integer) {
    auto t = read_tensor(key);
    if (t.numel() != count || t.is_floating_point() == integer || t.is_complex())
      throw CheckpointError(name + ": not a scorejam checkpoint ('" + key + "' has the wrong shape or type)");
    return t.to(integer ? torch::kInt64 : torch::kFloat64);
  };
  const auto version = read_values("version", 1, true).item<int64_t>();
  if (version != kCheckpointVersion)
    throw CheckpointError(name + ": checkpoint version " + std::to_string(version) + ", this scorejam reads version " +
                          std::to_string(kCheckpointVersion));
  LoadedCheckpoint out;
  const auto spec_text = tensor_text(read_tensor("spec"));
  out.spec = spec_from_toml(spec_text, name);
  out.state.run_config = tensor_text(read_tensor("run_config"));
  auto state = read_values("state", 2, true);
  out.state.step = state[0].item<int64_t>();
  out.state.epoch = state[1].item<int64_t>();
  out.state.last_val_loss = read_values("last_val_loss", 1, false).item<double>();
  if (torch::Tensor t; archive.try_read("epoch_windows", t)) {  // optional: older checkpoints lack it
    out.state.epoch_windows = read_values("epoch_windows", 1, true).item<int64_t>();
    if (out.state.epoch_windows < 0)
      throw CheckpointError(name + ": not a scorejam checkpoint ('epoch_windows' is negative)");
  }
  try {
    out.model = ScoreNet(out.spec.net, Sde{out.spec.sde});
    out.ema = ScoreNet(out.spec.net, Sde{out.spec.sde});
    torch::serialize::InputArchive model_archive, ema_archive;
    if (!archive.try_read("model", model_archive) || !archive.try_read("ema", ema_archive))
      throw CheckpointError(name + ": checkpoint has no weights");
    out.model->load(model_archive);
    out.ema->load(ema_archive);
    // Module::load takes whatever shape the file has: compare with a network built from the spec.
    ScoreNet reference(out.spec.net, Sde{out.spec.sde});
    const auto expected = reference->named_parameters();
    for (auto* net : {&out.model, &out.ema}) {
      const auto got = (*net)->named_parameters();
      for (const auto& p : expected) {
        const auto* found = got.find(p.key());
        if (!found || found->sizes() != p.value().sizes())
          throw CheckpointError(name + ": weights do not fit the model spec: " + p.key() + " has shape " +
                                (found ? c10::str(found->sizes()) : std::string("none")) + ", the spec needs " +
                                c10::str(p.value().sizes()));
      }
    }
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::exception& e) {
    std::string what = e.what();
    throw CheckpointError(name + ": weights do not fit the model spec: " + what.substr(0, what.find('\n')));
  }
  torch::Tensor stored;
  if (!archive.try_read("checksum", stored) || stored.numel() != 1 || stored.is_floating_point() ||
      stored.item<int64_t>() != content_checksum(spec_text, state, out.model, out.ema))
    throw CheckpointError(name + ": checkpoint is corrupt (checksum mismatch)");
  return out;
}

void load_optimizer_state(const fs::path& path, torch::optim::Optimizer& optimizer) {
  torch::serialize::InputArchive archive, optimizer_archive;
  load_archive(path, archive);
  if (!archive.try_read("optimizer", optimizer_archive))
    throw CheckpointError(path.string() + ": checkpoint holds no optimizer state (cannot resume from it)");
  optimizer.load(optimizer_archive);
}

}  // namespace scorejam
