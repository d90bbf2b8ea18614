#include "core/maestro.h"

#include <gtest/gtest.h>
#include <zip.h>

#include <cmath>
#include <map>
#include <set>

#include "core/midi_file.h"
#include "tests/core/test_support.h"

namespace scorejam {
namespace {
namespace fs = std::filesystem;
using testing::scratch_dir;

const char* kHeader = "canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration\n";

struct FakeFile {
  std::string csv_row;
  std::string name;
  std::vector<std::uint8_t> bytes;
};

std::vector<std::uint8_t> phrase(int base_pitch, int count) {
  std::vector<Note> notes;
  for (int i = 0; i < count; ++i) notes.push_back({i * 0.5, i * 0.5 + 0.4, base_pitch + i, 60 + i, 0});
  return encode_midi(notes, {{0.1, 0, 64, 127}, {1.0, 0, 64, 0}});
}

// Four performances: two train, one validation, one test whose "MIDI" is a text file.
std::vector<FakeFile> fake_set() {
  return {
      {R"("Chopin, Frédéric","Ballade No. 1 in G Minor, Op. 23",train,2004,2004/a.midi,2004/a.wav,2.0)", "2004/a.midi",
       phrase(60, 4)},
      {R"(Liszt,"Étude ""La Campanella""",train,2006,2006/b.midi,2006/b.wav,3.5)", "2006/b.midi", phrase(40, 7)},
      {R"(Bach,Prelude,validation,2008,2008/c.midi,2008/c.wav,1.0)", "2008/c.midi", phrase(70, 2)},
      {R"(Bach,Fugue,test,2009,2009/broken.midi,2009/broken.wav,1.0)", "2009/broken.midi",
       {'H', 'e', 'l', 'l', 'o', ',', ' ', 'n', 'o', 't', ' ', 'M', 'I', 'D', 'I', '\n'}},
  };
}

std::string csv_text(const std::vector<FakeFile>& files) {
  std::string text = kHeader;
  for (const auto& f : files) text += f.csv_row + "\n";
  return text;
}

fs::path make_folder_set(const fs::path& dir) {
  const auto root = dir / "maestro-v3.0.0";
  for (const auto& f : fake_set()) {
    fs::create_directories((root / f.name).parent_path());
    testing::write_file(root / f.name, f.bytes);
  }
  testing::write_text(root / "maestro-v3.0.0.csv", csv_text(fake_set()));
  return root;
}

fs::path make_zip_set(const fs::path& dir) {
  const auto path = dir / "maestro-v3.0.0-midi.zip";
  int error = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (!zip) throw std::runtime_error("zip_open failed");
  // libzip reads the buffers at zip_close: keep them alive until then.
  static std::vector<std::string> keep;
  keep.clear();
  keep.push_back(csv_text(fake_set()));
  for (const auto& f : fake_set()) keep.emplace_back(f.bytes.begin(), f.bytes.end());
  auto add = [&](const std::string& name, const std::string& data) {
    zip_source_t* src = zip_source_buffer(zip, data.data(), data.size(), 0);
    if (zip_file_add(zip, name.c_str(), src, ZIP_FL_ENC_UTF_8) < 0) throw std::runtime_error("zip add failed");
  };
  add("maestro-v3.0.0/maestro-v3.0.0.csv", keep[0]);
  auto files = fake_set();
  for (std::size_t i = 0; i < files.size(); ++i) add("maestro-v3.0.0/" + files[i].name, keep[i + 1]);
  if (zip_close(zip) != 0) throw std::runtime_error("zip_close failed");
  return path;
}

TEST(MaestroCsv, ReadsQuotedTitlesWithCommasAndQuotes) {
  auto entries = parse_maestro_csv(csv_text(fake_set()), "test.csv");
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].composer, "Chopin, Frédéric");
  EXPECT_EQ(entries[0].title, "Ballade No. 1 in G Minor, Op. 23");
  EXPECT_EQ(entries[1].title, "Étude \"La Campanella\"");
  EXPECT_EQ(entries[1].year, 2006);
  EXPECT_DOUBLE_EQ(entries[1].duration_s, 3.5);
  EXPECT_EQ(entries[2].split, "validation");
}

TEST(MaestroCsv, RejectsMissingColumnNamingIt) {
  try {
    parse_maestro_csv("canonical_composer,split,year,midi_filename,duration\n", "x.csv");
    FAIL() << "no error";
  } catch (const MaestroError& e) {
    EXPECT_NE(std::string(e.what()).find("canonical_title"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("x.csv"), std::string::npos) << e.what();
  }
}

TEST(MaestroCsv, RejectsShortRowNamingTheRow) {
  try {
    parse_maestro_csv(std::string(kHeader) + "Bach,Fugue,test\n", "x.csv");
    FAIL() << "no error";
  } catch (const MaestroError& e) {
    EXPECT_NE(std::string(e.what()).find("row 2"), std::string::npos) << e.what();
  }
}

TEST(MaestroCsv, RejectsPathsLeavingTheSet) {
  EXPECT_THROW(parse_maestro_csv(std::string(kHeader) + "Bach,Fugue,test,2009,../../etc/passwd,a.wav,1.0\n", "x.csv"),
               MaestroError);
}

TEST(MaestroCsv, RejectsAYearThatIsNoYearNamingIt) {
  for (const char* year : {"99999999999", "-5", "2009a", ""}) {
    try {
      parse_maestro_csv(std::string(kHeader) + "Bach,Fugue,test," + year + ",a.midi,a.wav,1.0\n", "x.csv");
      FAIL() << year;
    } catch (const MaestroError& e) {
      EXPECT_NE(std::string(e.what()).find("year '" + std::string(year) + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(MaestroCsv, RejectsUnterminatedQuote) {
  EXPECT_THROW(parse_maestro_csv(std::string(kHeader) + "\"Bach,Fugue,test,2009,a.midi,a.wav,1.0\n", "x.csv"),
               MaestroError);
}

TEST(MaestroSource, ReadsZipAndFolderAlike) {
  auto dir = scratch_dir("MaestroSource.ReadsZipAndFolderAlike");
  MaestroSource folder(make_folder_set(dir));
  MaestroSource zip(make_zip_set(dir));
  ASSERT_EQ(folder.entries().size(), 4u);
  ASSERT_EQ(zip.entries().size(), 4u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(folder.read(i).notes, zip.read(i).notes);
  EXPECT_EQ(zip.read(1).notes.size(), 7u);
}

TEST(MaestroSource, FindsTheSetFromTheFolderAbove) {
  auto dir = scratch_dir("MaestroSource.FindsTheSetFromTheFolderAbove");
  make_folder_set(dir);
  EXPECT_EQ(MaestroSource(dir).entries().size(), 4u);
}

TEST(MaestroSource, SelectsSplits) {
  auto dir = scratch_dir("MaestroSource.SelectsSplits");
  MaestroSource source(make_zip_set(dir));
  EXPECT_EQ(source.split("train"), (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(source.split("validation"), (std::vector<std::size_t>{2}));
  EXPECT_EQ(source.split("all").size(), 4u);
  EXPECT_TRUE(source.split("nonsense").empty());
}

TEST(MaestroSource, RejectsAFileThatIsNoSet) {
  auto dir = scratch_dir("MaestroSource.RejectsAFileThatIsNoSet");
  testing::write_text(dir / "notes.zip", "plain text");
  try {
    MaestroSource source(dir / "notes.zip");
    FAIL() << "no error";
  } catch (const MaestroError& e) {
    EXPECT_NE(std::string(e.what()).find("notes.zip"), std::string::npos) << e.what();
  }
}

TEST(MaestroLoad, SkipsUnreadableFilesNamingThemAndGoesOn) {
  auto dir = scratch_dir("MaestroLoad.SkipsUnreadableFilesNamingThemAndGoesOn");
  const auto root = make_folder_set(dir);
  fs::remove(root / "2004/a.midi");  // listed but missing
  MaestroSource source(root);
  std::vector<std::string> warned;
  LoadOptions options{.split = "all", .format = {}, .cache_dir = {}, .on_skip = [&](const SkippedFile& s) {
                        warned.push_back(s.name + ": " + s.reason);
                      }};
  LoadReport report;
  auto perfs = load_performances(source, options, &report);
  EXPECT_EQ(perfs.size(), 2u);
  EXPECT_EQ(report.loaded, 2u);
  ASSERT_EQ(report.skipped.size(), 2u);
  ASSERT_EQ(warned.size(), 2u);
  EXPECT_NE(warned[0].find("2004/a.midi"), std::string::npos) << warned[0];
  EXPECT_NE(warned[1].find("2009/broken.midi"), std::string::npos) << warned[1];
  EXPECT_NE(warned[1].find("MThd"), std::string::npos) << warned[1];
}

TEST(MaestroLoad, QuantizesToTheRollGridWithPedal) {
  auto dir = scratch_dir("MaestroLoad.QuantizesToTheRollGridWithPedal");
  MaestroSource source(make_zip_set(dir));
  auto perfs = load_performances(source, {.split = "validation", .format = {16, true}, .cache_dir = {}, .on_skip = {}});
  ASSERT_EQ(perfs.size(), 1u);
  ASSERT_EQ(perfs[0].notes.size(), 2u);
  // Both notes are released while the pedal (0.1-1.0 s) is down: held until frame 16.
  EXPECT_EQ(perfs[0].notes[0], (GridNote{0, 16, 70, 60}));
  EXPECT_EQ(perfs[0].notes[1], (GridNote{8, 16, 71, 61}));  // 0.5-0.9 s, also held until 1.0 s
  EXPECT_GE(perfs[0].frames, 16);
}

RollFormat pedal_and_offsets() {
  RollFormat format;
  format.sustain_pedal = false;
  format.pedal_channel = true;
  format.onset_offsets = true;
  return format;
}

TEST(MaestroLoad, PedalChannelFormatKeepsKeyDownLengthsAndThePedalsSpans) {
  auto dir = scratch_dir("MaestroLoad.PedalChannelFormatKeepsKeyDownLengthsAndThePedalsSpans");
  MaestroSource source(make_zip_set(dir));
  auto perfs = load_performances(source, {.split = "validation", .format = pedal_and_offsets(), .cache_dir = {}, .on_skip = {}});
  ASSERT_EQ(perfs.size(), 1u);
  EXPECT_EQ(perfs[0].notes[0], (GridNote{0, 6, 70, 60}));  // 0-0.4 s: as long as the key was down
  EXPECT_EQ(perfs[0].notes[1], (GridNote{8, 14, 71, 61}));
  EXPECT_EQ(perfs[0].pedal, (std::vector<GridPedal>{{2, 16}}));  // 0.1-1.0 s
}

TEST(MaestroCache, KeepsThePedalAndTheOnsetOffsets) {
  auto dir = scratch_dir("MaestroCache.KeepsThePedalAndTheOnsetOffsets");
  MaestroSource source(make_zip_set(dir));
  LoadOptions options{.split = "all", .format = pedal_and_offsets(), .cache_dir = dir / "cache", .on_skip = {}};
  options.format.fs_hz = 7;  // off the phrase's 0.5 s grid: every onset has an offset
  LoadReport first, second;
  auto a = load_performances(source, options, &first);
  auto b = load_performances(source, options, &second);
  ASSERT_TRUE(second.from_cache);
  ASSERT_EQ(a.size(), b.size());
  bool offsets = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].notes, b[i].notes);
    EXPECT_EQ(a[i].pedal, b[i].pedal);
    EXPECT_FALSE(a[i].pedal.empty());
    for (const auto& n : a[i].notes) offsets = offsets || n.onset_offset != 0;
  }
  EXPECT_TRUE(offsets);
  // The three-channel format of the same set is another cache.
  options.format = {};
  load_performances(source, options, &second);
  EXPECT_FALSE(second.from_cache);
}

TEST(MaestroCache, SecondLoadComesFromTheCacheAndIsEqual) {
  auto dir = scratch_dir("MaestroCache.SecondLoadComesFromTheCacheAndIsEqual");
  MaestroSource source(make_zip_set(dir));
  LoadOptions options{.split = "all", .format = {}, .cache_dir = dir / "cache", .on_skip = {}};
  LoadReport first, second;
  auto a = load_performances(source, options, &first);
  auto b = load_performances(source, options, &second);
  EXPECT_FALSE(first.from_cache);
  EXPECT_TRUE(second.from_cache);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].entry, b[i].entry);
    EXPECT_EQ(a[i].frames, b[i].frames);
    EXPECT_EQ(a[i].notes, b[i].notes);
  }
  EXPECT_EQ(second.skipped.size(), first.skipped.size());
}

TEST(MaestroCache, IsKeyedByFormatAndSplit) {
  auto dir = scratch_dir("MaestroCache.IsKeyedByFormatAndSplit");
  MaestroSource source(make_zip_set(dir));
  LoadOptions options{.split = "train", .format = {16, true}, .cache_dir = dir / "cache", .on_skip = {}};
  load_performances(source, options);
  LoadReport report;
  options.format.fs_hz = 32;
  auto perfs = load_performances(source, options, &report);
  EXPECT_FALSE(report.from_cache);
  options.split = "validation";
  load_performances(source, options, &report);
  EXPECT_FALSE(report.from_cache);
}

TEST(MaestroCache, IsRebuiltWhenTheSourceChanges) {
  auto dir = scratch_dir("MaestroCache.IsRebuiltWhenTheSourceChanges");
  const auto zip = make_zip_set(dir);
  LoadOptions options{.split = "all", .format = {}, .cache_dir = dir / "cache", .on_skip = {}};
  load_performances(MaestroSource(zip), options);
  fs::last_write_time(zip, fs::last_write_time(zip) + std::chrono::seconds(5));
  LoadReport report;
  load_performances(MaestroSource(zip), options, &report);
  EXPECT_FALSE(report.from_cache);
}

TEST(MaestroCache, CorruptCacheIsRebuiltNotTrusted) {
  auto dir = scratch_dir("MaestroCache.CorruptCacheIsRebuiltNotTrusted");
  MaestroSource source(make_zip_set(dir));
  LoadOptions options{.split = "all", .format = {}, .cache_dir = dir / "cache", .on_skip = {}};
  auto good = load_performances(source, options);
  for (const auto& item : fs::directory_iterator(dir / "cache")) {
    auto bytes = testing::read_file(item.path());
    bytes.resize(bytes.size() - 7);  // truncated
    testing::write_file(item.path(), bytes);
  }
  LoadReport report;
  auto again = load_performances(source, options, &report);
  EXPECT_FALSE(report.from_cache);
  ASSERT_EQ(again.size(), good.size());
  for (std::size_t i = 0; i < good.size(); ++i) EXPECT_EQ(again[i].notes, good[i].notes);
}

TEST(MaestroSubset, EveryRealPerformanceReadsWithoutError) {
  auto zip = testing::maestro_subset();
  if (!zip) GTEST_SKIP() << "shared data absent: ../shared/data/maestro-asap-subset.zip not found (set SCOREJAM_MAESTRO)";
  MaestroSource source(*zip);
  EXPECT_EQ(source.entries().size(), 519u);
  EXPECT_EQ(source.split("train").size(), 445u);
  EXPECT_EQ(source.split("validation").size(), 47u);
  EXPECT_EQ(source.split("test").size(), 27u);
  LoadReport report;
  auto perfs = load_performances(source, {.split = "all", .format = {}, .cache_dir = {}, .on_skip = {}}, &report);
  for (const auto& s : report.skipped) ADD_FAILURE() << s.name << ": " << s.reason;
  EXPECT_EQ(perfs.size(), 519u);
  double hours = 0;
  for (const auto& p : perfs) {
    EXPECT_GT(p.notes.size(), 100u) << source.describe(p.entry);
    hours += p.frames / 16.0 / 3600.0;
  }
  EXPECT_GT(hours, 40.0);
  EXPECT_LT(hours, 50.0);
}

TEST(MaestroSubset, SplitIsPerPiece) {
  auto zip = testing::maestro_subset();
  if (!zip) GTEST_SKIP() << "shared data absent: ../shared/data/maestro-asap-subset.zip not found (set SCOREJAM_MAESTRO)";
  MaestroSource source(*zip);
  std::map<std::string, std::set<std::string>> splits_of_piece;
  for (const auto& e : source.entries()) splits_of_piece[e.composer + "|" + e.title].insert(e.split);
  for (const auto& [piece, splits] : splits_of_piece) EXPECT_EQ(splits.size(), 1u) << piece;
}

// Measured on the validation split's real performances (47, about 4 hours): the onset error that a
// 16 fps frame costs, with and without onset offsets, and the pedal lifts that the hysteresis
// (up below 56 instead of below 64) leaves out.
TEST(MaestroSubset, OnsetOffsetsPutRealOnsetsBackWhereThePianistPlayedThem) {
  auto zip = testing::maestro_subset();
  if (!zip) GTEST_SKIP() << "shared data absent: ../shared/data/maestro-asap-subset.zip not found (set SCOREJAM_MAESTRO)";
  MaestroSource source(*zip);
  RollFormat format = pedal_and_offsets();
  double max_off = 0, sum_off = 0, max_on = 0, sum_on = 0;
  std::size_t onsets = 0, lifts_plain = 0, lifts_hysteresis = 0;
  for (std::size_t index : source.split("validation")) {
    const auto midi = source.read(index);
    const auto grid = quantize(midi.notes, midi.controls, format);
    int frames = 1;
    for (const auto& g : grid) frames = std::max(frames, g.end_frame);
    // Through the roll and back: the decoded onsets by key and frame. Two strikes of one key in one
    // frame are one onset in any roll, so those notes are left out.
    std::map<std::pair<int, int>, double> decoded;
    for (const auto& g : decode_roll(render_roll(grid, format.fs_hz, 0, frames)))
      decoded[{g.pitch, g.onset_frame}] = to_note(g, format.fs_hz).start_s;
    std::map<std::pair<int, int>, int> strikes;
    auto frame_of = [&](const Note& n) { return static_cast<int>(std::lround(n.start_s * format.fs_hz)); };
    for (const auto& n : midi.notes) ++strikes[{n.pitch, frame_of(n)}];
    for (const auto& n : midi.notes) {
      const std::pair key{n.pitch, frame_of(n)};
      if (n.pitch < kLowestPitch || n.pitch > kHighestPitch || strikes[key] != 1) continue;
      const auto found = decoded.find(key);
      ASSERT_NE(found, decoded.end()) << source.describe(index) << ": pitch " << n.pitch << " at " << n.start_s;
      const double on = std::abs(found->second - n.start_s), off = std::abs(key.second / format.fs_hz - n.start_s);
      max_on = std::max(max_on, on);
      sum_on += on;
      max_off = std::max(max_off, off);
      sum_off += off;
      ++onsets;
    }
    lifts_hysteresis += sustain_intervals(midi.controls, midi.duration_s).size();
    bool down = false;
    for (const auto& cc : midi.controls) {
      if (cc.controller != kSustainController) continue;
      const bool now_down = cc.value >= kPedalDownThreshold;
      lifts_plain += down && !now_down;
      down = now_down;
    }
  }
  std::printf("%zu real onsets at 16 fps: without offsets max %.2f ms, mean %.2f ms; with offsets max %.4f ms, "
              "mean %.4f ms\npedal lifts: %zu at >= 64, %zu with the hysteresis\n",
              onsets, max_off * 1e3, sum_off / static_cast<double>(onsets) * 1e3, max_on * 1e3,
              sum_on / static_cast<double>(onsets) * 1e3, lifts_plain, lifts_hysteresis);
  EXPECT_LT(max_on, 1e-3);
  EXPECT_GT(max_off, 0.030);
}

}  // namespace
}  // namespace scorejam
