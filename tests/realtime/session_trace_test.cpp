// The session trace's lines: every record reads back exactly as it was written, and a damaged line
// is refused with its line number and what is wrong with it.
#include "realtime/session_trace.h"

#include <gtest/gtest.h>

#include <cmath>

namespace scorejam {
namespace {

template <class T>
T round_trip(const T& record) {
  const auto line = format_trace(record);
  const auto back = parse_trace(line, 7);
  EXPECT_TRUE(std::holds_alternative<T>(back)) << line;
  return std::get<T>(back);
}

TEST(SessionTrace, EveryRecordReadsBackExactly) {
  EXPECT_EQ(round_trip(TraceSession{5}).origin_ns, 5);
  TraceEngine e{123456789012345, 64, 32, 20, 30.5, 2, "cpu"};
  const auto e2 = round_trip(e);
  EXPECT_EQ(e2.origin_ns, e.origin_ns);
  EXPECT_EQ(e2.hop_frames, 32);
  EXPECT_EQ(e2.max_notes_per_second, 30.5);
  EXPECT_EQ(e2.threads, 2);

  const auto m = round_trip(TraceModel{3, "/a folder/with spaces/model one.pt"});
  EXPECT_EQ(m.id, 3);
  EXPECT_EQ(m.path, "/a folder/with spaces/model one.pt");

  const auto p = round_trip(TracePlayer{note_on(987654321, 2, 61, 99)});
  EXPECT_EQ(p.message.time_ns, 987654321);
  EXPECT_EQ(p.message.size, 3);
  EXPECT_EQ(p.message.bytes[0], 0x92);
  EXPECT_EQ(p.message.bytes[1], 61);
  EXPECT_EQ(p.message.bytes[2], 99);

  EXPECT_EQ(round_trip(TraceCut{-17}).frame, -17);

  TraceWindow w;
  w.build = 41;
  w.first = 1234;
  w.known = 64;
  w.player = false;
  w.model = 1;
  w.sampler.kind = SamplerKind::kHeun;
  w.sampler.steps = 23;
  w.sampler.snr = 0.1 + 0.2;  // not exact in binary: must come back bit for bit
  w.sampler.temperature = std::nextafter(1.0, 2.0);
  w.sampler.guidance = 3;
  w.sampler.guidance_t_min = 0.3;
  w.sampler.seed = 18446744073709551615ull;
  w.thresholds.onset = 0.1f + 0.2f;
  const auto w2 = round_trip(w);
  EXPECT_EQ(w2.build, 41u);
  EXPECT_EQ(w2.first, 1234);
  EXPECT_FALSE(w2.player);
  EXPECT_EQ(w2.sampler, w.sampler);
  EXPECT_EQ(w2.thresholds.onset, w.thresholds.onset);
  EXPECT_EQ(w2.thresholds.frame, w.thresholds.frame);
  // A trace written before guidance_t_min was a setting sampled with guidance to the end.
  auto old_line = format_trace(w);
  const auto field = old_line.find(" guidance_t_min=");
  old_line.erase(field, old_line.find(' ', field + 1) - field);
  ASSERT_EQ(old_line.find("guidance_t_min"), std::string::npos) << old_line;
  const auto old = std::get<TraceWindow>(parse_trace(old_line, 3));
  EXPECT_EQ(old.sampler.guidance, 3);
  EXPECT_EQ(old.sampler.guidance_t_min, 0);

  TraceCommit c{41, true, true, 5550001112223, 7.25, 12, 0xfedcba9876543210ull};
  const auto c2 = round_trip(c);
  EXPECT_EQ(c2.build, 41u);
  EXPECT_TRUE(c2.first_answer);
  EXPECT_EQ(c2.now_ns, c.now_ns);
  EXPECT_EQ(c2.answer_seconds, 7.25);
  EXPECT_EQ(c2.notes, 12u);
  EXPECT_EQ(c2.fingerprint, c.fingerprint);
}

void expect_refused(const std::string& line, const std::string& why) {
  try {
    parse_trace(line, 12);
    ADD_FAILURE() << "accepted: " << line;
  } catch (const TraceError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("line 12"), std::string::npos) << message;
    EXPECT_NE(message.find(why), std::string::npos) << message;
  }
}

TEST(SessionTrace, ADamagedLineNamesItsNumberAndTheProblem) {
  expect_refused("", "empty line");
  expect_refused("x 1 2", "unknown record 'x'");
  expect_refused("p 100 144 60 300", "0..255");
  expect_refused("p 100", "1 to 3 bytes");
  expect_refused("p 1e5 144 60 80", "time");
  expect_refused("cut", "missing frame");
  expect_refused("cut 9000000000000000000", "out of range");  // frame arithmetic would overflow
  expect_refused("p -5 144 60 80", "out of range");
  expect_refused("c 4 first_answer=1 answering=1 now=5 answer_seconds=8 notes=2", "missing fingerprint=");
  expect_refused("c 4 first_answer=2 answering=1 now=5 answer_seconds=8 notes=2 fingerprint=ab", "0 or 1");
  expect_refused("c 4 first_answer=1 answering=1 now=5 answer_seconds=8 notes=2 fingerprint=xyz", "hexadecimal");
  expect_refused("c 4 notes=1 notes=2", "given twice");
  TraceWindow w;
  w.sampler.steps = 50;
  auto line = format_trace(w);
  line.replace(line.find("steps=50"), 8, "steps=9999999");
  expect_refused(line, "out of range");
  line = format_trace(w);
  line.replace(line.find("sampler=pc"), 10, "sampler=magic");
  expect_refused(line, "magic");
  expect_refused("model 1", "path");
}

}  // namespace
}  // namespace scorejam
