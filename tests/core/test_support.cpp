#include "tests/core/test_support.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace scorejam::testing {

std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::path(SCOREJAM_BINARY_DIR) / "test-scratch" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void write_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

void write_text(const std::filesystem::path& path, std::string_view text) {
  write_file(path, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

Bytes vlq(std::uint32_t value) {
  Bytes out{static_cast<std::uint8_t>(value & 0x7f)};
  while (value >>= 7) out.insert(out.begin(), static_cast<std::uint8_t>(0x80 | (value & 0x7f)));
  return out;
}

Bytes chunk(std::string_view type, const Bytes& body) {
  Bytes out(type.begin(), type.end());
  auto n = static_cast<std::uint32_t>(body.size());
  for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<std::uint8_t>(n >> shift));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes header_chunk(int format, int tracks, std::uint16_t division) {
  auto u16 = [](int v) { return Bytes{static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)}; };
  return chunk("MThd", concat({u16(format), u16(tracks), u16(division)}));
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

std::optional<std::filesystem::path> maestro_subset() {
  if (const char* env = std::getenv("SCOREJAM_MAESTRO"); env && *env) {
    if (std::filesystem::exists(env)) return std::filesystem::path(env);
    return std::nullopt;
  }
  auto path = std::filesystem::path(SCOREJAM_SOURCE_DIR) / ".." / "shared" / "data" / "maestro-asap-subset.zip";
  if (std::filesystem::exists(path)) return std::filesystem::weakly_canonical(path);
  return std::nullopt;
}

std::optional<std::filesystem::path> maestro_subset_beats() {
  if (const char* env = std::getenv("SCOREJAM_BEATS"); env && *env) {
    if (std::filesystem::exists(env)) return std::filesystem::path(env);
    return std::nullopt;
  }
  auto path = std::filesystem::path(SCOREJAM_SOURCE_DIR) / ".." / "shared" / "data" / "maestro-asap-subset.beats.csv";
  if (std::filesystem::exists(path)) return std::filesystem::weakly_canonical(path);
  return std::nullopt;
}

}  // namespace scorejam::testing
