// MAESTRO, read as distributed: the zip (maestro-v3.0.0-midi.zip) or its unzipped folder, holding
// <root>/<name>.csv and <root>/<year>/<file>.midi. Reads the CSV's metadata, selects splits,
// turns each performance into grid notes (the sparse roll), and caches them so the second load is
// fast. No threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/midi_file.h"
#include "core/roll.h"

namespace scorejam {

class MaestroError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct MaestroEntry {
  std::string composer;       // canonical_composer
  std::string title;          // canonical_title
  std::string split;          // train / validation / test
  int year = 0;
  std::string midi_filename;  // relative to the root, e.g. 2006/MIDI-....midi
  double duration_s = 0;
};

// Reads the metadata and the MIDI bytes of one MAESTRO-layout source (zip or folder).
class MaestroSource {
 public:
  // Throws MaestroError naming the path when there is no MAESTRO CSV to be found.
  explicit MaestroSource(const std::filesystem::path& path);
  ~MaestroSource();
  MaestroSource(const MaestroSource&) = delete;
  MaestroSource& operator=(const MaestroSource&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const std::vector<MaestroEntry>& entries() const { return entries_; }
  // Indices of the entries in this split ("" or "all": every entry).
  std::vector<std::size_t> split(const std::string& split_name) const;
  // "<source>:<midi_filename>", the name used in warnings and errors.
  std::string describe(std::size_t index) const;
  // The MIDI file's bytes; throws MaestroError when the member is missing or larger than
  // kMaxMidiFileBytes.
  std::vector<std::uint8_t> midi_bytes(std::size_t index) const;
  // Reads and parses one performance; throws MaestroError or MidiFileError.
  MidiFile read(std::size_t index) const;

  // Size and modification time of the source, used to validate caches.
  std::uintmax_t source_bytes() const { return source_bytes_; }
  std::int64_t source_mtime_ns() const { return source_mtime_ns_; }

 private:
  struct Zip;
  std::filesystem::path path_;
  std::filesystem::path root_;  // folder layout: directory holding the CSV
  std::string zip_prefix_;      // zip layout: member prefix holding the CSV, e.g. "maestro-v3.0.0/"
  std::unique_ptr<Zip> zip_;
  std::vector<MaestroEntry> entries_;
  std::uintmax_t source_bytes_ = 0;
  std::int64_t source_mtime_ns_ = 0;
};

// Parses MAESTRO's CSV text (quoted fields with commas and quotes); `source` names it in errors.
std::vector<MaestroEntry> parse_maestro_csv(const std::string& text, const std::string& source);

struct Performance {
  std::size_t entry = 0;  // index into MaestroSource::entries()
  std::vector<GridNote> notes;
  std::vector<GridPedal> pedal;  // only when the format has a pedal channel
  int frames = 0;          // length of the performance on the grid
};

struct SkippedFile {
  std::string name;    // MaestroSource::describe()
  std::string reason;  // the reader's error message
};

struct LoadReport {
  std::size_t loaded = 0;
  std::vector<SkippedFile> skipped;
  bool from_cache = false;
  double seconds = 0;  // wall time of the load
};

struct LoadOptions {
  std::string split = "train";  // "" or "all" for every entry
  RollFormat format;
  // Folder for the cache; empty disables caching.
  std::filesystem::path cache_dir;
  // Called once per unreadable file (for a warning line); the load goes on.
  std::function<void(const SkippedFile&)> on_skip;
  // Called after each file read from the source (not from the cache): files done, files in all.
  std::function<void(std::size_t done, std::size_t total)> on_file;
};

// Loads every performance of the split as grid notes. Unreadable files are skipped, reported and
// counted; they never abort the load. With a cache folder, a cache file keyed by the source path,
// split and format is written after the first load and used while the source's size and
// modification time are unchanged; a stale, corrupt or other-version cache is rebuilt.
std::vector<Performance> load_performances(const MaestroSource& source, const LoadOptions& options,
                                           LoadReport* report = nullptr);

struct SummaryRow {
  std::string name;
  std::size_t files = 0;
  double hours = 0;
  std::size_t notes = 0;
};

struct DatasetSummary {
  SummaryRow total;
  std::vector<SummaryRow> by_split;     // train, validation, test, then any other, in that order
  std::vector<SummaryRow> by_composer;  // most hours first
};

// Counts what was loaded (hours from the performances' length on the grid).
DatasetSummary summarize(const MaestroSource& source, const std::vector<Performance>& performances,
                         double fs_hz);

// $XDG_CACHE_HOME/scorejam, else $HOME/.cache/scorejam, else ./.scorejam-cache.
std::filesystem::path default_cache_dir();

}  // namespace scorejam
