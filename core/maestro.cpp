#include "core/maestro.h"

#include <unistd.h>

#include <csv.h>
#include <zip.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

namespace scorejam {
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// CSV

namespace {

struct CsvRows {
  std::vector<std::vector<std::string>> rows{{}};
};

void on_field(void* field, std::size_t size, void* data) {
  static_cast<CsvRows*>(data)->rows.back().emplace_back(static_cast<const char*>(field), size);
}
void on_row(int, void* data) { static_cast<CsvRows*>(data)->rows.emplace_back(); }

std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& source) {
  csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) throw MaestroError(source + ": cannot start CSV parser");
  CsvRows out;
  const bool ok = csv_parse(&parser, text.data(), text.size(), on_field, on_row, &out) == text.size() &&
                  csv_fini(&parser, on_field, on_row, &out) == 0;
  const int error = csv_error(&parser);
  csv_free(&parser);
  if (!ok) {
    throw MaestroError(source + ": malformed CSV near row " + std::to_string(out.rows.size()) + ": " +
                       csv_strerror(error));
  }
  while (!out.rows.empty() && out.rows.back().empty()) out.rows.pop_back();
  return std::move(out.rows);
}

}  // namespace

std::vector<MaestroEntry> parse_maestro_csv(const std::string& text, const std::string& source) {
  auto rows = parse_csv(text, source);
  if (rows.empty()) throw MaestroError(source + ": empty CSV");
  const auto& header = rows.front();
  auto column = [&](const char* name) -> std::size_t {
    auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) throw MaestroError(source + ": no '" + name + "' column in the CSV header");
    return static_cast<std::size_t>(it - header.begin());
  };
  const auto composer = column("canonical_composer"), title = column("canonical_title"),
             split = column("split"), year = column("year"), midi = column("midi_filename"),
             duration = column("duration");

  std::vector<MaestroEntry> entries;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    const std::string where = source + ": row " + std::to_string(r + 1);
    if (row.size() != header.size()) {
      throw MaestroError(where + ": " + std::to_string(row.size()) + " fields, the header has " +
                         std::to_string(header.size()));
    }
    MaestroEntry e{row[composer], row[title], row[split], 0, row[midi], 0};
    char* end = nullptr;
    const long y = std::strtol(row[year].c_str(), &end, 10);
    if (row[year].empty() || *end || y < 0 || y > 9999)
      throw MaestroError(where + ": year '" + row[year] + "' is not a year");
    e.year = static_cast<int>(y);
    e.duration_s = std::strtod(row[duration].c_str(), &end);
    if (row[duration].empty() || *end || !std::isfinite(e.duration_s) || e.duration_s < 0)
      throw MaestroError(where + ": duration '" + row[duration] + "' is not a number of seconds");
    if (e.midi_filename.empty() || e.midi_filename.find("..") != std::string::npos || e.midi_filename[0] == '/')
      throw MaestroError(where + ": midi_filename '" + e.midi_filename + "' is not a path inside the set");
    entries.push_back(std::move(e));
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------
// The source: zip or folder

struct MaestroSource::Zip {
  zip_t* archive = nullptr;
  ~Zip() {
    if (archive) zip_discard(archive);
  }
};

namespace {

bool has_maestro_header(const std::string& text) {
  auto line = text.substr(0, text.find('\n'));
  return line.find("canonical_composer") != std::string::npos && line.find("midi_filename") != std::string::npos;
}

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw MaestroError(path.string() + ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::uint8_t> read_zip_member(zip_t* archive, zip_int64_t index, const std::string& name) {
  zip_stat_t st;
  if (zip_stat_index(archive, static_cast<zip_uint64_t>(index), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
    throw MaestroError(name + ": cannot stat zip member");
  if (st.size > kMaxMidiFileBytes)
    throw MaestroError(name + ": " + std::to_string(st.size) + " bytes, more than the " +
                       std::to_string(kMaxMidiFileBytes) + " a MIDI file may have");
  zip_file_t* file = zip_fopen_index(archive, static_cast<zip_uint64_t>(index), 0);
  if (!file) throw MaestroError(name + ": cannot open zip member: " + zip_strerror(archive));
  std::vector<std::uint8_t> bytes(st.size);
  const zip_int64_t got = zip_fread(file, bytes.data(), st.size);
  zip_fclose(file);
  if (got < 0 || static_cast<zip_uint64_t>(got) != st.size)
    throw MaestroError(name + ": zip member is damaged (read " + std::to_string(got) + " of " +
                       std::to_string(st.size) + " bytes)");
  return bytes;
}

std::int64_t mtime_ns(const fs::path& path) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(fs::last_write_time(path).time_since_epoch()).count();
}

}  // namespace

MaestroSource::MaestroSource(const fs::path& path) : path_(path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw MaestroError(path.string() + ": no such file or folder");
  std::string csv_text, csv_name;

  if (fs::is_directory(path)) {
    // The unzipped folder, the folder above it, or (below) the CSV itself.
    for (const fs::path& dir : {path, path / path.filename()}) {
      if (!fs::is_directory(dir, ec)) continue;
      for (const auto& item : fs::directory_iterator(dir, ec)) {
        if (item.path().extension() != ".csv") continue;
        auto text = read_text_file(item.path());
        if (!has_maestro_header(text)) continue;
        root_ = dir, csv_text = std::move(text), csv_name = item.path().string();
        break;
      }
      if (!csv_name.empty()) break;
    }
    if (csv_name.empty()) {
      // One level down, as when pointed at the folder that holds maestro-v3.0.0/.
      for (const auto& sub : fs::directory_iterator(path, ec)) {
        if (!sub.is_directory() || !csv_name.empty()) continue;
        for (const auto& item : fs::directory_iterator(sub.path(), ec)) {
          if (item.path().extension() != ".csv") continue;
          auto text = read_text_file(item.path());
          if (!has_maestro_header(text)) continue;
          root_ = sub.path(), csv_text = std::move(text), csv_name = item.path().string();
          break;
        }
      }
    }
  } else if (path.extension() == ".csv") {
    root_ = path.parent_path();
    csv_text = read_text_file(path);
    csv_name = path.string();
  } else {
    int error = 0;
    zip_ = std::make_unique<Zip>();
    zip_->archive = zip_open(path.c_str(), ZIP_RDONLY, &error);
    if (!zip_->archive) {
      zip_error_t ze;
      zip_error_init_with_code(&ze, error);
      std::string why = zip_error_strerror(&ze);
      zip_error_fini(&ze);
      throw MaestroError(path.string() + ": not a MAESTRO zip or folder (" + why + ")");
    }
    const zip_int64_t count = zip_get_num_entries(zip_->archive, 0);
    for (zip_int64_t i = 0; i < count && csv_name.empty(); ++i) {
      const char* name = zip_get_name(zip_->archive, static_cast<zip_uint64_t>(i), 0);
      if (!name) continue;
      std::string member = name;
      if (member.size() < 4 || member.substr(member.size() - 4) != ".csv") continue;
      if (std::count(member.begin(), member.end(), '/') > 1) continue;
      auto bytes = read_zip_member(zip_->archive, i, path.string() + ":" + member);
      std::string text(bytes.begin(), bytes.end());
      if (!has_maestro_header(text)) continue;
      zip_prefix_ = member.substr(0, member.rfind('/') + 1);
      csv_text = std::move(text);
      csv_name = path.string() + ":" + member;
    }
  }
  if (csv_name.empty())
    throw MaestroError(path.string() + ": no MAESTRO CSV (a .csv with canonical_composer and midi_filename columns)");
  entries_ = parse_maestro_csv(csv_text, csv_name);

  if (zip_) {
    source_bytes_ = fs::file_size(path);
    source_mtime_ns_ = mtime_ns(path);
  } else {
    // A folder has no single size: sum the CSV and every MIDI file, and take the latest change.
    source_bytes_ = csv_text.size();
    source_mtime_ns_ = mtime_ns(csv_name);
    for (const auto& e : entries_) {
      const auto file = root_ / e.midi_filename;
      if (!fs::exists(file, ec)) continue;
      source_bytes_ += fs::file_size(file, ec);
      source_mtime_ns_ = std::max(source_mtime_ns_, mtime_ns(file));
    }
  }
}

MaestroSource::~MaestroSource() = default;

std::vector<std::size_t> MaestroSource::split(const std::string& split_name) const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < entries_.size(); ++i)
    if (split_name.empty() || split_name == "all" || entries_[i].split == split_name) out.push_back(i);
  return out;
}

std::string MaestroSource::describe(std::size_t index) const {
  return path_.string() + ":" + entries_.at(index).midi_filename;
}

std::vector<std::uint8_t> MaestroSource::midi_bytes(std::size_t index) const {
  const auto& e = entries_.at(index);
  if (zip_) {
    const auto member = zip_prefix_ + e.midi_filename;
    const zip_int64_t at = zip_name_locate(zip_->archive, member.c_str(), 0);
    if (at < 0) throw MaestroError(describe(index) + ": listed in the CSV but not in the zip");
    return read_zip_member(zip_->archive, at, describe(index));
  }
  const auto file = root_ / e.midi_filename;
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec) throw MaestroError(describe(index) + ": listed in the CSV but cannot be read (" + ec.message() + ")");
  if (size > kMaxMidiFileBytes)
    throw MaestroError(describe(index) + ": " + std::to_string(size) + " bytes, more than a MIDI file may have");
  std::ifstream in(file, std::ios::binary);
  std::vector<std::uint8_t> bytes(size);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (!in) throw MaestroError(describe(index) + ": read failed");
  return bytes;
}

MidiFile MaestroSource::read(std::size_t index) const { return parse_midi(midi_bytes(index), describe(index)); }

// ---------------------------------------------------------------------------------------------
// Loading, with a cache of the grid notes

namespace {

constexpr char kCacheMagic[8] = {'S', 'J', 'R', 'O', 'L', 'L', 'S', '\0'};
// 2: onset offsets with each note, the pedal's spans with each performance.
constexpr std::uint32_t kCacheVersion = 2;

struct CacheKey {
  std::string source;  // canonical path
  std::string split;
  RollFormat format;
  std::uintmax_t bytes;
  std::int64_t mtime_ns;
};

class Writer {
 public:
  template <class T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const char*>(&v);
    out_.append(p, sizeof v);
  }
  void put_string(const std::string& s) {
    put(static_cast<std::uint32_t>(s.size()));
    out_ += s;
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

// Bounds-checked reads; any failure makes the whole cache invalid.
class Reader {
 public:
  explicit Reader(const std::string& bytes) : bytes_(bytes) {}
  template <class T>
  bool get(T& v) {
    if (bytes_.size() - pos_ < sizeof v) return false;
    std::memcpy(&v, bytes_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return true;
  }
  bool get_string(std::string& s) {
    std::uint32_t n = 0;
    if (!get(n) || bytes_.size() - pos_ < n) return false;
    s.assign(bytes_, pos_, n);
    pos_ += n;
    return true;
  }
  std::size_t remaining() const { return bytes_.size() - pos_; }

 private:
  const std::string& bytes_;
  std::size_t pos_ = 0;
};

void write_header(Writer& w, const CacheKey& key) {
  for (char c : kCacheMagic) w.put(c);
  w.put(kCacheVersion);
  w.put_string(key.source);
  w.put_string(key.split);
  w.put(key.format.fs_hz);
  w.put(static_cast<std::uint8_t>(key.format.sustain_pedal));
  w.put(static_cast<std::uint8_t>(key.format.pedal_channel));
  w.put(static_cast<std::uint8_t>(key.format.onset_offsets));
  w.put(static_cast<std::uint64_t>(key.bytes));
  w.put(key.mtime_ns);
}

fs::path cache_file(const fs::path& dir, const CacheKey& key) {
  std::ostringstream name;
  name << "maestro-" << std::hex
       << std::hash<std::string>{}(key.source + "|" + key.split + "|" + std::to_string(key.format.fs_hz) + "|" +
                                   std::to_string(key.format.sustain_pedal) + "|" +
                                   std::to_string(key.format.pedal_channel) + "|" +
                                   std::to_string(key.format.onset_offsets))
       << ".rolls";
  return dir / name.str();
}

bool read_cache(const fs::path& file, const CacheKey& key, std::size_t entry_count,
                std::vector<Performance>& performances, std::vector<SkippedFile>& skipped) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return false;
  std::string bytes;
  try {
    bytes = read_text_file(file);
  } catch (const MaestroError&) {
    return false;
  }
  Writer expected;
  write_header(expected, key);
  if (bytes.compare(0, expected.bytes().size(), expected.bytes()) != 0) return false;
  const std::string body = bytes.substr(expected.bytes().size());
  Reader r(body);
  std::uint32_t count = 0, skipped_count = 0;
  if (!r.get(count) || count > entry_count) return false;
  std::vector<Performance> perfs(count);
  for (auto& p : perfs) {
    std::uint32_t entry = 0, notes = 0;
    std::int32_t frames = 0;
    if (!r.get(entry) || entry >= entry_count || !r.get(frames) || frames < 0 || !r.get(notes)) return false;
    if (notes > r.remaining() / 14) return false;
    p.entry = entry;
    p.frames = frames;
    p.notes.resize(notes);
    for (auto& n : p.notes) {
      std::uint8_t pitch = 0, velocity = 0;
      if (!r.get(n.onset_frame) || !r.get(n.end_frame) || !r.get(pitch) || !r.get(velocity) || !r.get(n.onset_offset))
        return false;
      if (n.end_frame <= n.onset_frame || pitch < kLowestPitch || pitch > kHighestPitch || velocity < 1 ||
          velocity > 127 || !(n.onset_offset >= -0.5f && n.onset_offset <= 0.5f))
        return false;
      n.pitch = pitch;
      n.velocity = velocity;
    }
    std::uint32_t spans = 0;
    if (!r.get(spans) || spans > r.remaining() / 8) return false;
    p.pedal.resize(spans);
    for (auto& s : p.pedal)
      if (!r.get(s.down_frame) || !r.get(s.up_frame) || s.up_frame <= s.down_frame) return false;
  }
  if (!r.get(skipped_count) || skipped_count > entry_count) return false;
  std::vector<SkippedFile> skips(skipped_count);
  for (auto& s : skips)
    if (!r.get_string(s.name) || !r.get_string(s.reason)) return false;
  if (r.remaining() != 0) return false;
  performances = std::move(perfs);
  skipped = std::move(skips);
  return true;
}

// Written to a temporary file renamed into place: a crash never leaves half a cache.
void write_cache(const fs::path& file, const CacheKey& key, const std::vector<Performance>& performances,
                 const std::vector<SkippedFile>& skipped) {
  Writer w;
  write_header(w, key);
  w.put(static_cast<std::uint32_t>(performances.size()));
  for (const auto& p : performances) {
    w.put(static_cast<std::uint32_t>(p.entry));
    w.put(static_cast<std::int32_t>(p.frames));
    w.put(static_cast<std::uint32_t>(p.notes.size()));
    for (const auto& n : p.notes) {
      w.put(static_cast<std::int32_t>(n.onset_frame));
      w.put(static_cast<std::int32_t>(n.end_frame));
      w.put(static_cast<std::uint8_t>(n.pitch));
      w.put(static_cast<std::uint8_t>(n.velocity));
      w.put(n.onset_offset);
    }
    w.put(static_cast<std::uint32_t>(p.pedal.size()));
    for (const auto& s : p.pedal) {
      w.put(static_cast<std::int32_t>(s.down_frame));
      w.put(static_cast<std::int32_t>(s.up_frame));
    }
  }
  w.put(static_cast<std::uint32_t>(skipped.size()));
  for (const auto& s : skipped) {
    w.put_string(s.name);
    w.put_string(s.reason);
  }
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  // One temporary file per process: the ranks of a data-parallel run fill one cache at once.
  const auto temp = fs::path(file.string() + ".tmp-" + std::to_string(::getpid()));
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(w.bytes().data(), static_cast<std::streamsize>(w.bytes().size()));
    if (!out) {
      fs::remove(temp, ec);
      return;  // the cache is an optimisation; an unwritable folder only costs time
    }
  }
  fs::rename(temp, file, ec);
  if (ec) fs::remove(temp, ec);
}

}  // namespace

std::vector<Performance> load_performances(const MaestroSource& source, const LoadOptions& options,
                                           LoadReport* report) {
  const auto started = std::chrono::steady_clock::now();
  std::error_code ec;
  const CacheKey key{fs::weakly_canonical(source.path(), ec).string(), options.split, options.format,
                     source.source_bytes(), source.source_mtime_ns()};
  const auto file = options.cache_dir.empty() ? fs::path() : cache_file(options.cache_dir, key);

  std::vector<Performance> performances;
  std::vector<SkippedFile> skipped;
  bool from_cache = !file.empty() && read_cache(file, key, source.entries().size(), performances, skipped);
  if (from_cache) {
    if (options.on_skip)
      for (const auto& s : skipped) options.on_skip(s);
  } else {
    const auto indices = source.split(options.split);
    std::size_t done = 0;
    for (std::size_t index : indices) {
      if (options.on_file && done > 0) options.on_file(done, indices.size());
      ++done;
      try {
        const MidiFile midi = source.read(index);
        Performance p;
        p.entry = index;
        p.notes = quantize(midi.notes, midi.controls, options.format);
        p.frames = static_cast<int>(std::ceil(midi.duration_s * options.format.fs_hz));
        for (const auto& n : p.notes) p.frames = std::max(p.frames, n.end_frame);
        if (options.format.pedal_channel) {
          p.pedal = quantize_pedal(midi.controls, midi.duration_s, options.format.fs_hz);
          for (const auto& s : p.pedal) p.frames = std::max(p.frames, s.up_frame);
        }
        performances.push_back(std::move(p));
      } catch (const std::exception& e) {
        skipped.push_back({source.describe(index), e.what()});
        if (options.on_skip) options.on_skip(skipped.back());
      }
    }
    if (options.on_file && done > 0) options.on_file(done, indices.size());
    if (!file.empty()) write_cache(file, key, performances, skipped);
  }
  if (report) {
    report->loaded = performances.size();
    report->skipped = std::move(skipped);
    report->from_cache = from_cache;
    report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }
  return performances;
}

DatasetSummary summarize(const MaestroSource& source, const std::vector<Performance>& performances,
                         double fs_hz) {
  DatasetSummary summary;
  summary.total.name = "all";
  std::map<std::string, SummaryRow> splits, composers;
  for (const auto& p : performances) {
    const auto& e = source.entries().at(p.entry);
    for (SummaryRow* row : {&summary.total, &splits[e.split], &composers[e.composer]}) {
      row->files += 1;
      row->hours += p.frames / fs_hz / 3600.0;
      row->notes += p.notes.size();
    }
  }
  for (const char* name : {"train", "validation", "test"}) {
    auto it = splits.find(name);
    if (it == splits.end()) continue;
    it->second.name = name;
    summary.by_split.push_back(it->second);
    splits.erase(it);
  }
  for (auto& [name, row] : splits) summary.by_split.push_back({name, row.files, row.hours, row.notes});
  for (auto& [name, row] : composers) summary.by_composer.push_back({name, row.files, row.hours, row.notes});
  std::stable_sort(summary.by_composer.begin(), summary.by_composer.end(),
                   [](const SummaryRow& a, const SummaryRow& b) { return a.hours > b.hours; });
  return summary;
}

fs::path default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "scorejam";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "scorejam";
  return fs::path(".scorejam-cache");
}

}  // namespace scorejam
