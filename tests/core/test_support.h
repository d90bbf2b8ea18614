// Helpers shared by the tests: scratch folders, raw Standard MIDI File bytes built by hand, and the
// location of the shared real data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace scorejam::testing {

using Bytes = std::vector<std::uint8_t>;

// A fresh, empty folder under the build tree, unique per test name.
std::filesystem::path scratch_dir(const std::string& name);
void write_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);
void write_text(const std::filesystem::path& path, std::string_view text);
Bytes read_file(const std::filesystem::path& path);

// Raw SMF pieces, for files our writer would never produce.
Bytes vlq(std::uint32_t value);
Bytes chunk(std::string_view type, const Bytes& body);
Bytes header_chunk(int format, int tracks, std::uint16_t division);
Bytes concat(std::initializer_list<Bytes> parts);

// ../shared/data/maestro-asap-subset.zip beside the checkout, or $SCOREJAM_MAESTRO; nullopt when
// absent (the caller skips with GTEST_SKIP and says why).
std::optional<std::filesystem::path> maestro_subset();

// ../shared/data/maestro-asap-subset.beats.csv beside the checkout, or $SCOREJAM_BEATS; nullopt when
// absent.
std::optional<std::filesystem::path> maestro_subset_beats();

}  // namespace scorejam::testing
