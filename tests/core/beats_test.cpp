#include "core/beats.h"

#include <gtest/gtest.h>

#include "tests/core/test_support.h"

namespace scorejam {
namespace {

const std::string kHeader = "name,beats_s,downbeats_s,time_signatures\n";

// The one problem of a table that must have exactly one.
const BeatsProblem& only_problem(const BeatsTable& table) {
  EXPECT_EQ(table.problems.size(), 1u);
  static const BeatsProblem none{};
  return table.problems.empty() ? none : table.problems.front();
}

TEST(BeatsCsv, ReadsBeatsDownbeatsAndTimeSignatures) {
  const auto table = parse_beats_csv(kHeader + "2006/a.midi,0.5 1.0 1.5 2.0,0.5 2.0,0.5:3/4 2.0:6/8\n", "t.csv");
  EXPECT_TRUE(table.problems.empty());
  ASSERT_EQ(table.by_name.count("2006/a.midi"), 1u);
  const auto& a = table.by_name.at("2006/a.midi");
  EXPECT_EQ(a.beats_s, (std::vector<double>{0.5, 1.0, 1.5, 2.0}));
  EXPECT_EQ(a.downbeats_s, (std::vector<double>{0.5, 2.0}));
  EXPECT_EQ(a.time_signatures, (std::vector<TimeSignature>{{0.5, 3, 4}, {2.0, 6, 8}}));
}

TEST(BeatsCsv, ReadsAQuotedNameWithACommaAndCrLfLineEnds) {
  const auto table = parse_beats_csv("name,beats_s,downbeats_s,time_signatures\r\n\"a,b.midi\",1 2,1,\r\n", "t.csv");
  EXPECT_TRUE(table.problems.empty());
  ASSERT_EQ(table.by_name.count("a,b.midi"), 1u);
  EXPECT_EQ(table.by_name.at("a,b.midi").beats_s, (std::vector<double>{1, 2}));
  EXPECT_TRUE(table.by_name.at("a,b.midi").time_signatures.empty());
}

TEST(BeatsCsv, SkipsARowWithUnsortedBeatsNamingItsLine) {
  const auto table = parse_beats_csv(kHeader + "a.midi,1 2,1,\nb.midi,1 3 2,1,\nc.midi,1 2,1,\n", "t.csv");
  EXPECT_EQ(table.by_name.size(), 2u);
  EXPECT_EQ(table.by_name.count("b.midi"), 0u);
  const auto& p = only_problem(table);
  EXPECT_EQ(p.line, 3);
  EXPECT_NE(p.message.find("t.csv: line 3"), std::string::npos) << p.message;
  EXPECT_NE(p.message.find("beats_s"), std::string::npos) << p.message;
}

TEST(BeatsCsv, SkipsARepeatedBeatTime) {
  const auto table = parse_beats_csv(kHeader + "a.midi,1 1,1,\n", "t.csv");
  EXPECT_TRUE(table.by_name.empty());
  EXPECT_EQ(only_problem(table).line, 2);
}

TEST(BeatsCsv, SkipsANegativeDownbeat) {
  const auto table = parse_beats_csv(kHeader + "a.midi,1 2,-1,\n", "t.csv");
  EXPECT_TRUE(table.by_name.empty());
  const auto& p = only_problem(table);
  EXPECT_NE(p.message.find("downbeats_s"), std::string::npos) << p.message;
  EXPECT_NE(p.message.find("negative"), std::string::npos) << p.message;
}

TEST(BeatsCsv, SkipsATimeThatIsNotANumber) {
  for (const char* bad : {"1.5x", "abc", "nan", "inf", "1e999"}) {
    const auto table = parse_beats_csv(kHeader + "a.midi,1 " + bad + " 3,1,\n", "t.csv");
    EXPECT_TRUE(table.by_name.empty()) << bad;
    const auto& p = only_problem(table);
    EXPECT_NE(p.message.find("not a number"), std::string::npos) << p.message;
    EXPECT_NE(p.message.find(bad), std::string::npos) << p.message;
  }
}

TEST(BeatsCsv, SkipsARowWithAMissingField) {
  const auto table = parse_beats_csv(kHeader + "a.midi,1 2,1\nb.midi,1 2,1,\n", "t.csv");
  EXPECT_EQ(table.by_name.size(), 1u);
  const auto& p = only_problem(table);
  EXPECT_EQ(p.line, 2);
  EXPECT_NE(p.message.find("3 fields"), std::string::npos) << p.message;
}

TEST(BeatsCsv, SkipsARowNamingNoFile) {
  const auto table = parse_beats_csv(kHeader + ",1 2,1,\n", "t.csv");
  EXPECT_TRUE(table.by_name.empty());
  EXPECT_NE(only_problem(table).message.find("name is empty"), std::string::npos);
}

TEST(BeatsCsv, SkipsARowWithoutBeats) {
  const auto table = parse_beats_csv(kHeader + "a.midi,,,\n", "t.csv");
  EXPECT_TRUE(table.by_name.empty());
  EXPECT_NE(only_problem(table).message.find("beats_s is empty"), std::string::npos);
}

TEST(BeatsCsv, SkipsAMalformedTimeSignature) {
  for (const char* bad : {"1:3", "1-3/4", "x:3/4", "1:0/4", "1:3/-4", "1:3/4/4"}) {
    const auto table = parse_beats_csv(kHeader + "a.midi,1 2,1," + bad + "\n", "t.csv");
    EXPECT_TRUE(table.by_name.empty()) << bad;
    EXPECT_NE(only_problem(table).message.find("time_signatures"), std::string::npos) << bad;
  }
}

TEST(BeatsCsv, SkipsTheSecondRowOfARepeatedName) {
  const auto table = parse_beats_csv(kHeader + "a.midi,1 2,1,\na.midi,3 4,3,\n", "t.csv");
  ASSERT_EQ(table.by_name.size(), 1u);
  EXPECT_EQ(table.by_name.at("a.midi").beats_s.front(), 1.0);
  const auto& p = only_problem(table);
  EXPECT_EQ(p.line, 3);
  EXPECT_NE(p.message.find("line 2"), std::string::npos) << p.message;
}

TEST(BeatsCsv, CountsLinesOfAQuotedFieldSpanningLines) {
  const auto table = parse_beats_csv(kHeader + "\"a\nb.midi\",1 2,1,\nc.midi,2 1,1,\n", "t.csv");
  EXPECT_EQ(table.by_name.count("a\nb.midi"), 1u);
  EXPECT_EQ(only_problem(table).line, 4);
}

TEST(BeatsCsv, SkipsARowWithAStrayQuoteAndReadsTheNext) {
  const auto table = parse_beats_csv(kHeader + "a.midi,1 2\"x,1,\nb.midi,1 2,1,\n", "t.csv");
  EXPECT_EQ(table.by_name.size(), 1u);
  EXPECT_EQ(table.by_name.count("b.midi"), 1u);
  const auto& p = only_problem(table);
  EXPECT_EQ(p.line, 2);
  EXPECT_NE(p.message.find("malformed CSV"), std::string::npos) << p.message;
}

TEST(BeatsCsv, NamesTheLineWhereAQuoteLeftOpenBegan) {
  // Found by beats_csv_fuzz: the open quote starts the row before any field of it is read.
  const auto table = parse_beats_csv(kHeader + "a.midi,1 2,1,\n\n\"b.midi,1 2,1,\nc.midi,1,1,\n", "t.csv");
  EXPECT_EQ(table.by_name.size(), 1u);
  EXPECT_EQ(only_problem(table).line, 4);
}

TEST(BeatsCsv, ReportsProblemsInLineOrder) {
  const auto table = parse_beats_csv(kHeader + "a.midi,2 1,,\nb.midi,1 \"2,1,\nc.midi,,,\n", "t.csv");
  // b's stray quote is found while the text is read, before a's and c's rows are checked.
  ASSERT_EQ(table.problems.size(), 3u);
  EXPECT_EQ(table.problems[0].line, 2);
  EXPECT_EQ(table.problems[1].line, 3);
  EXPECT_EQ(table.problems[2].line, 4);
}

TEST(BeatsCsv, RejectsAnotherHeaderNamingWhatItFound) {
  try {
    parse_beats_csv("name,beats,downbeats\na,1,1\n", "t.csv");
    FAIL() << "no BeatsError";
  } catch (const BeatsError& e) {
    EXPECT_NE(std::string(e.what()).find("t.csv"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("name,beats,downbeats"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_beats_csv("", "t.csv"), BeatsError);
}

TEST(BeatsCsv, ReadingAMissingFileNamesThePath) {
  const auto path = testing::scratch_dir("BeatsCsvMissing") / "none.beats.csv";
  try {
    read_beats_csv(path);
    FAIL() << "no BeatsError";
  } catch (const BeatsError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
}

TEST(BeatsCsv, ReadsAFile) {
  const auto path = testing::scratch_dir("BeatsCsvFile") / "x.beats.csv";
  testing::write_text(path, kHeader + "a.midi,1 2,1,1:4/4\n");
  const auto table = read_beats_csv(path);
  EXPECT_EQ(table.by_name.size(), 1u);
  EXPECT_TRUE(table.problems.empty());
}

TEST(BeatsCsv, IsFoundBesideTheData) {
  EXPECT_EQ(beats_path_beside("/d/maestro-asap-subset.zip"), std::filesystem::path("/d/maestro-asap-subset.beats.csv"));
  EXPECT_EQ(beats_path_beside("/d/maestro-v3.0.0/"), std::filesystem::path("/d/maestro-v3.0.0.beats.csv"));
}

TEST(BeatsSubset, EveryRealPerformanceIsAnnotated) {
  const auto path = testing::maestro_subset_beats();
  if (!path) GTEST_SKIP() << "shared data absent: ../shared/data/maestro-asap-subset.beats.csv not found (set SCOREJAM_BEATS)";
  const auto table = read_beats_csv(*path);
  for (const auto& p : table.problems) ADD_FAILURE() << p.message;
  EXPECT_EQ(table.by_name.size(), 519u);
  std::size_t beats = 0, downbeats = 0;
  for (const auto& [name, a] : table.by_name) beats += a.beats_s.size(), downbeats += a.downbeats_s.size();
  EXPECT_EQ(beats, 280108u);
  EXPECT_EQ(downbeats, 93731u);
}

}  // namespace
}  // namespace scorejam
