// Tests of the Standard MIDI File reader and writer: round trips through our writer, files built by
// hand for what the writer never produces, and rejections checked by message and byte offset.
#include "core/midi_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "tests/core/test_support.h"

namespace scorejam {
namespace {

using testing::Bytes;
using testing::chunk;
using testing::concat;
using testing::header_chunk;
using testing::vlq;

// A header chunk is 14 bytes and a track chunk's header 8: a first track's events start here.
constexpr std::size_t kFirstEvent = 22;

Bytes event(std::uint32_t delta, const Bytes& message) { return concat({vlq(delta), message}); }
Bytes on(std::uint32_t delta, int pitch, int velocity, int channel = 0) {
  return event(delta, {std::uint8_t(0x90 | channel), std::uint8_t(pitch), std::uint8_t(velocity)});
}
Bytes off(std::uint32_t delta, int pitch, int channel = 0) {
  return event(delta, {std::uint8_t(0x80 | channel), std::uint8_t(pitch), 0});
}
Bytes cc(std::uint32_t delta, int controller, int value, int channel = 0) {
  return event(delta, {std::uint8_t(0xB0 | channel), std::uint8_t(controller), std::uint8_t(value)});
}
Bytes tempo(std::uint32_t delta, std::uint32_t us) {
  return event(delta, {0xff, 0x51, 0x03, std::uint8_t(us >> 16), std::uint8_t(us >> 8), std::uint8_t(us)});
}
Bytes end_of_track(std::uint32_t delta = 0) { return event(delta, {0xff, 0x2f, 0x00}); }
Bytes track(std::initializer_list<Bytes> events) { return chunk("MTrk", concat(events)); }

// tpq 100 at the default 120 bpm: one tick is 5 ms.
Bytes single_track_file(std::initializer_list<Bytes> events) {
  return concat({header_chunk(0, 1, 100), track(events)});
}

MidiFile parse(const Bytes& bytes) { return parse_midi(bytes, "test.mid"); }

MidiFileError parse_error(const Bytes& bytes) {
  try {
    parse(bytes);
  } catch (const MidiFileError& e) {
    return e;
  }
  ADD_FAILURE() << "parse_midi accepted the input";
  return MidiFileError("", 0, "");
}

MidiFileError read_error(const std::filesystem::path& path) {
  try {
    read_midi_file(path);
  } catch (const MidiFileError& e) {
    return e;
  }
  ADD_FAILURE() << "read_midi_file accepted " << path;
  return MidiFileError("", 0, "");
}

std::string invalid_argument_message(const std::vector<Note>& notes,
                                     const std::vector<ControlChange>& controls,
                                     const MidiWriteOptions& options = {}) {
  try {
    encode_midi(notes, controls, options);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "encode_midi accepted the input";
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

void expect_notes(const std::vector<Note>& actual, const std::vector<Note>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    SCOPED_TRACE("note " + std::to_string(i));
    EXPECT_NEAR(actual[i].start_s, expected[i].start_s, 1e-9);
    EXPECT_NEAR(actual[i].end_s, expected[i].end_s, 1e-9);
    EXPECT_EQ(actual[i].pitch, expected[i].pitch);
    EXPECT_EQ(actual[i].velocity, expected[i].velocity);
    EXPECT_EQ(actual[i].channel, expected[i].channel);
  }
}

void expect_controls(const std::vector<ControlChange>& actual, const std::vector<ControlChange>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    SCOPED_TRACE("control " + std::to_string(i));
    EXPECT_NEAR(actual[i].time_s, expected[i].time_s, 1e-9);
    EXPECT_EQ(actual[i].channel, expected[i].channel);
    EXPECT_EQ(actual[i].controller, expected[i].controller);
    EXPECT_EQ(actual[i].value, expected[i].value);
  }
}

// sort_notes leaves notes equal in start, pitch, end and channel in any order; tests need one.
std::vector<Note> fully_sorted(std::vector<Note> notes) {
  std::sort(notes.begin(), notes.end(), [](const Note& a, const Note& b) {
    return std::tie(a.start_s, a.pitch, a.end_s, a.channel, a.velocity) <
           std::tie(b.start_s, b.pitch, b.end_s, b.channel, b.velocity);
  });
  return notes;
}

std::vector<ControlChange> sorted_by_time(std::vector<ControlChange> controls) {
  std::stable_sort(controls.begin(), controls.end(),
                   [](const ControlChange& a, const ControlChange& b) { return a.time_s < b.time_s; });
  return controls;
}

// ---------------------------------------------------------------------------------------------
// Round trips through our writer.

TEST(SmfRoundTrip, KeepsTimesVelocitiesChannelsAndControls) {
  // On the grid of 480 ticks per quarter at 120 bpm: 960 ticks a second.
  std::vector<Note> notes{{0.0, 0.5, 60, 100, 0},
                          {0.5, 1.0, 60, 80, 0},
                          {0.25, 1.0, 64, 30, 3},
                          {1.0, 1.5, 21, 127, 15},
                          {0.125, 0.130208333333333, 108, 1, 9}};
  std::vector<ControlChange> controls{{0.1, 0, 64, 127}, {0.9, 0, 64, 0}, {0.3, 3, 7, 90}};
  auto path = testing::scratch_dir("SmfRoundTrip.KeepsTimes") / "take.mid";
  write_midi_file(path, notes, controls);

  MidiFile file = read_midi_file(path);
  EXPECT_EQ(file.format, 1);
  EXPECT_EQ(file.track_count, 2);
  EXPECT_EQ(file.ticks_per_quarter, 480);
  expect_notes(fully_sorted(file.notes), fully_sorted(notes));
  expect_controls(file.controls, sorted_by_time(controls));
  EXPECT_NEAR(file.duration_s, 1.5, 1e-9);
}

// Random notes on the tick grid. Per (channel, pitch) the i-th onset is paired with the i-th
// release, the only overlaps a first-in first-out reader can give back unchanged.
struct RandomTake {
  std::vector<Note> notes;
  std::vector<ControlChange> controls;
  MidiWriteOptions options;
};

RandomTake random_take(unsigned seed) {
  std::mt19937 rng(seed);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const int tpqs[] = {96, 384, 480, 960};
  const double bpms[] = {60, 90, 120, 144};
  RandomTake take;
  take.options = {tpqs[pick(0, 3)], bpms[pick(0, 3)]};
  auto us = static_cast<std::uint64_t>(std::llround(60e6 / take.options.bpm));
  auto at = [&](std::uint64_t tick) {
    return static_cast<double>(tick * us) / (take.options.ticks_per_quarter * 1e6);
  };
  const auto tpq = static_cast<std::uint64_t>(take.options.ticks_per_quarter);

  struct Key {
    std::vector<std::uint64_t> starts, ends;
    std::vector<int> velocities;
  };
  std::vector<Key> keys(4 * 8);  // 4 channels by 8 pitches, so that one key often repeats
  int count = pick(0, 60);
  for (int i = 0; i < count; ++i) {
    Key& key = keys[static_cast<std::size_t>(pick(0, 31))];
    std::uint64_t beat = static_cast<std::uint64_t>(pick(0, 20)) * tpq / 4;
    std::uint64_t start = beat + static_cast<std::uint64_t>(pick(0, 3));
    key.starts.push_back(start);
    key.ends.push_back(start + static_cast<std::uint64_t>(pick(1, 4 * take.options.ticks_per_quarter)));
    key.velocities.push_back(pick(1, 127));
  }
  for (std::size_t k = 0; k < keys.size(); ++k) {
    Key& key = keys[k];
    std::sort(key.starts.begin(), key.starts.end());
    std::sort(key.ends.begin(), key.ends.end());
    for (std::size_t i = 0; i < key.starts.size(); ++i)
      take.notes.push_back({at(key.starts[i]), at(key.ends[i]), 60 + static_cast<int>(k % 8),
                            key.velocities[i], static_cast<int>(k / 8)});
  }
  const int controllers[] = {1, 7, 64, 67};
  for (int i = pick(0, 20); i > 0; --i)
    take.controls.push_back({at(static_cast<std::uint64_t>(pick(0, 24 * take.options.ticks_per_quarter))),
                             pick(0, 3), controllers[pick(0, 3)], pick(0, 127)});
  return take;
}

TEST(SmfRoundTrip, RandomNoteSetsReadBackUnchanged) {
  for (unsigned seed = 1; seed <= 50; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomTake take = random_take(seed);
    MidiFile file = parse(encode_midi(take.notes, take.controls, take.options));
    expect_notes(fully_sorted(file.notes), fully_sorted(take.notes));
    expect_controls(file.controls, sorted_by_time(take.controls));
    double last_s = 0;
    for (const auto& n : take.notes) last_s = std::max(last_s, n.end_s);
    for (const auto& c : take.controls) last_s = std::max(last_s, c.time_s);
    EXPECT_NEAR(file.duration_s, last_s, 1e-9);
  }
}

// ---------------------------------------------------------------------------------------------
// Hand-built files.

TEST(SmfReader, ReadsFormat0) {
  MidiFile file =
      parse(concat({header_chunk(0, 1, 96), track({on(0, 60, 100), off(96, 60), end_of_track()})}));
  EXPECT_EQ(file.format, 0);
  EXPECT_EQ(file.track_count, 1);
  EXPECT_EQ(file.ticks_per_quarter, 96);
  EXPECT_TRUE(file.tempo_map.empty());
  expect_notes(file.notes, {{0.0, 0.5, 60, 100, 0}});
  EXPECT_DOUBLE_EQ(file.duration_s, 0.5);
}

TEST(SmfReader, ReadsTempoFromTrack0AndNotesFromTrack1) {
  MidiFile file =
      parse(concat({header_chunk(1, 2, 480), track({tempo(0, 1000000), end_of_track()}),
                    track({on(0, 60, 90), off(480, 60), on(0, 62, 91), off(480, 62), end_of_track()})}));
  EXPECT_EQ(file.format, 1);
  EXPECT_EQ(file.track_count, 2);
  ASSERT_EQ(file.tempo_map.size(), 1u);
  EXPECT_EQ(file.tempo_map[0].us_per_quarter, 1000000u);
  expect_notes(file.notes, {{0.0, 1.0, 60, 90, 0}, {1.0, 2.0, 62, 91, 0}});
}

TEST(SmfReader, ConvertsTempoChangeMidFileExactly) {
  // 384 ticks per quarter; 500000 us per quarter until tick 1000, then 523077.
  MidiFile file =
      parse(concat({header_chunk(1, 2, 384), track({tempo(0, 500000), tempo(1000, 523077), end_of_track()}),
                    track({on(500, 60, 64), off(1201, 60), end_of_track()})}));
  ASSERT_EQ(file.tempo_map.size(), 2u);
  EXPECT_EQ(file.tempo_map[1].tick, 1000u);
  EXPECT_EQ(file.tempo_map[1].time_s, 500e6 / 384e6);
  ASSERT_EQ(file.notes.size(), 1u);
  // Start: 500 ticks at 500000 us. End: 1000 ticks at 500000 us and 701 at 523077 us, summed in
  // whole microsecond-ticks and divided once (adding the two segments' seconds would round twice
  // and miss by one unit in the last place).
  EXPECT_EQ(file.notes[0].start_s, 250e6 / 384e6);
  EXPECT_EQ(file.notes[0].end_s, (1000.0 * 500000 + 701.0 * 523077) / 384e6);
}

TEST(SmfReader, LaterTrackTempoWinsAtTheSameTick) {
  MidiFile file = parse(concat({header_chunk(1, 2, 100), track({tempo(100, 250000), end_of_track()}),
                                track({tempo(100, 1000000), on(0, 60, 64), off(100, 60), end_of_track()})}));
  ASSERT_EQ(file.tempo_map.size(), 1u);
  EXPECT_EQ(file.tempo_map[0].us_per_quarter, 1000000u);
  expect_notes(file.notes, {{0.5, 1.5, 60, 64, 0}});
}

TEST(SmfReader, ReadsSmpteDivisionAsMilliseconds) {
  // -25 frames per second, 40 ticks per frame: one tick is one millisecond, whatever the tempo says.
  MidiFile file = parse(concat({header_chunk(0, 1, 0xE728),
                                track({tempo(0, 123456), on(250, 60, 70), off(1000, 60), end_of_track()})}));
  EXPECT_EQ(file.smpte_fps, 25);
  EXPECT_EQ(file.ticks_per_frame, 40);
  EXPECT_EQ(file.ticks_per_quarter, 0);
  EXPECT_TRUE(file.tempo_map.empty());
  expect_notes(file.notes, {{0.25, 1.25, 60, 70, 0}});
}

TEST(SmfReader, ReadsSmpte29AsDropFrameRate) {
  // -29 means 29.97 (30000/1001) frames per second; 80 ticks per frame.
  MidiFile file =
      parse(concat({header_chunk(0, 1, 0xE350), track({on(0, 60, 70), off(2400, 60), end_of_track()})}));
  EXPECT_EQ(file.smpte_fps, 29);
  expect_notes(file.notes, {{0.0, 1.001, 60, 70, 0}});
}

TEST(SmfReader, FollowsRunningStatus) {
  MidiFile file = parse(single_track_file(
      {on(0, 60, 100), event(10, {62, 90}), event(10, {60, 0}), event(10, {62, 0}), end_of_track()}));
  expect_notes(file.notes, {{0.0, 0.1, 60, 100, 0}, {0.05, 0.15, 62, 90, 0}});
}

TEST(SmfReader, KeepsRunningStatusAcrossMetaAndSysexEvents) {
  MidiFile file =
      parse(single_track_file({on(0, 60, 100), event(0, {0xff, 0x01, 0x01, 'x'}),
                               event(0, {0xf0, 0x01, 0xf7}), event(10, {60, 0}), end_of_track()}));
  expect_notes(file.notes, {{0.0, 0.05, 60, 100, 0}});
}

TEST(SmfReader, SkipsMetaAndSysexEvents) {
  // The meta and sysex payloads hold bytes that would read as note-ons if they were not skipped.
  MidiFile file = parse(single_track_file(
      {event(0, {0xff, 0x03, 0x05, 'P', 'i', 'a', 'n', 'o'}), event(0, {0xff, 0x7f, 0x03, 0x90, 0x40, 0x40}),
       event(0, {0xf0, 0x04, 0x90, 0x41, 0x41, 0xf7}), event(0, {0xf7, 0x03, 0x90, 0x42, 0x42}),
       on(0, 60, 100), off(20, 60), end_of_track()}));
  expect_notes(file.notes, {{0.0, 0.1, 60, 100, 0}});
  EXPECT_TRUE(file.controls.empty());
}

TEST(SmfReader, TreatsNoteOnVelocityZeroAsNoteOff) {
  MidiFile file = parse(single_track_file({on(0, 60, 100), on(40, 60, 0), end_of_track(60)}));
  expect_notes(file.notes, {{0.0, 0.2, 60, 100, 0}});
}

TEST(SmfReader, PairsOverlappingSamePitchNotesFirstInFirstOut) {
  MidiFile file =
      parse(single_track_file({on(0, 60, 10), on(10, 60, 20), off(10, 60), off(10, 60), end_of_track()}));
  expect_notes(file.notes, {{0.0, 0.1, 60, 10, 0}, {0.05, 0.15, 60, 20, 0}});
}

TEST(SmfReader, KeepsZeroLengthNotes) {
  MidiFile file = parse(single_track_file({on(10, 60, 50), off(0, 60), end_of_track(10)}));
  expect_notes(file.notes, {{0.05, 0.05, 60, 50, 0}});
}

TEST(SmfReader, IgnoresNoteOffWithoutOpenNote) {
  MidiFile file =
      parse(single_track_file({off(0, 61), on(0, 60, 50), off(10, 60), off(10, 60), end_of_track()}));
  expect_notes(file.notes, {{0.0, 0.05, 60, 50, 0}});
}

TEST(SmfReader, KeepsSustainPedalControls) {
  MidiFile file =
      parse(single_track_file({cc(0, 64, 127), on(0, 60, 80), off(20, 60), cc(80, 64, 0), end_of_track()}));
  expect_controls(file.controls, {{0.0, 0, 64, 127}, {0.5, 0, 64, 0}});
  expect_notes(file.notes, {{0.0, 0.1, 60, 80, 0}});  // the reader reports the keys, not the pedal's effect
}

TEST(SmfReader, KeepsChannels) {
  MidiFile file =
      parse(single_track_file({on(0, 60, 10, 0), on(0, 60, 20, 9), on(0, 60, 30, 15), off(10, 60, 9),
                               off(10, 60, 0), off(10, 60, 15), cc(0, 7, 99, 15), end_of_track()}));
  expect_notes(file.notes, {{0.0, 0.05, 60, 20, 9}, {0.0, 0.1, 60, 10, 0}, {0.0, 0.15, 60, 30, 15}});
  expect_controls(file.controls, {{0.15, 15, 7, 99}});
}

TEST(SmfReader, SkipsUnknownChunks) {
  // The unknown chunk holds what looks like a track; it must be skipped by its length.
  MidiFile file =
      parse(concat({header_chunk(0, 1, 100), chunk("XFIH", track({on(0, 70, 70), end_of_track()})),
                    track({on(0, 60, 100), off(20, 60), end_of_track()})}));
  EXPECT_EQ(file.track_count, 1);
  expect_notes(file.notes, {{0.0, 0.1, 60, 100, 0}});
}

TEST(SmfReader, SkipsExtraHeaderBytes) {
  MidiFile file =
      parse(concat({chunk("MThd", {0, 0, 0, 1, 0, 100, 0xAA, 0xBB}), track({on(0, 60, 100), off(20, 60)})}));
  expect_notes(file.notes, {{0.0, 0.1, 60, 100, 0}});
}

TEST(SmfReader, ClosesOpenNotesAtTheEndOfTheFile) {
  // The note's own track ends at tick 10; the file ends at tick 200, with the other track.
  MidiFile file = parse(concat({header_chunk(1, 2, 100), track({end_of_track(200)}),
                                track({on(0, 60, 100), on(5, 62, 90), off(5, 62), end_of_track()})}));
  EXPECT_DOUBLE_EQ(file.duration_s, 1.0);
  expect_notes(file.notes, {{0.0, 1.0, 60, 100, 0}, {0.025, 0.05, 62, 90, 0}});
}

TEST(SmfReader, DurationIsTheLastEventIncludingEndOfTrack) {
  MidiFile file = parse(single_track_file({on(0, 60, 100), off(20, 60), end_of_track(180)}));
  EXPECT_DOUBLE_EQ(file.duration_s, 1.0);
}

TEST(SmfReader, ReadsTheTracksPresentWhenFewerThanDeclared) {
  MidiFile file = parse(concat({header_chunk(1, 3, 100), track({tempo(0, 250000), end_of_track()}),
                                track({on(0, 60, 100), off(100, 60), end_of_track()})}));
  EXPECT_EQ(file.track_count, 2);
  expect_notes(file.notes, {{0.0, 0.25, 60, 100, 0}});
}

// ---------------------------------------------------------------------------------------------
// Rejections: each names what was wrong, and where.

TEST(SmfReader, RejectsFormat2) {
  MidiFileError e = parse_error(concat({header_chunk(2, 1, 96), track({end_of_track()})}));
  EXPECT_EQ(e.byte_offset(), 8u);
  EXPECT_TRUE(contains(e.what(), "format 2")) << e.what();
  EXPECT_TRUE(contains(e.what(), "not supported")) << e.what();
}

TEST(SmfReader, RejectsTextFileRenamedMid) {
  auto path = testing::scratch_dir("SmfReader.RejectsTextFile") / "song.mid";
  testing::write_text(path, "Hello, this is not MIDI");
  MidiFileError e = read_error(path);
  EXPECT_EQ(e.byte_offset(), 0u);
  EXPECT_EQ(e.source(), path.string());
  EXPECT_EQ(std::string(e.what()),
            path.string() + ": byte 0: not a Standard MIDI File: expected 'MThd' at byte 0, found 'Hell'");
}

TEST(SmfReader, RejectsTruncatedChunk) {
  Bytes whole = concat({header_chunk(0, 1, 96), track({on(0, 60, 100), off(96, 60), end_of_track()})});
  Bytes cut(whole.begin(), whole.end() - 3);
  MidiFileError e = parse_error(cut);
  EXPECT_EQ(e.byte_offset(), 14u);
  EXPECT_TRUE(contains(e.what(), "track 0 chunk length 12 runs past the end of the file (31 bytes)"))
      << e.what();
}

TEST(SmfReader, RejectsTrackLengthPastEnd) {
  Bytes first = track({end_of_track()});
  Bytes second = concat({Bytes{'M', 'T', 'r', 'k', 0x00, 0x3d, 0x09, 0x00}, on(0, 60, 100)});  // 4000000
  Bytes bytes = concat({header_chunk(1, 2, 96), first, second});
  MidiFileError e = parse_error(bytes);
  EXPECT_EQ(e.byte_offset(), 14 + first.size());
  EXPECT_TRUE(contains(e.what(), "track 1 chunk length 4000000 runs past the end of the file (" +
                                     std::to_string(bytes.size()) + " bytes)"))
      << e.what();
}

TEST(SmfReader, RejectsHugeDeclaredTrackLengthBeforeAllocating) {
  // 0xFFFFFFF0 bytes are declared and 4 present: the length is checked against the data, not
  // trusted (the fuzzer, run with -malloc_limit_mb, checks that no allocation follows it).
  MidiFileError e = parse_error(
      concat({header_chunk(1, 0xffff, 96), Bytes{'M', 'T', 'r', 'k', 0xff, 0xff, 0xff, 0xf0}, on(0, 60, 1)}));
  EXPECT_EQ(e.byte_offset(), 14u);
  EXPECT_TRUE(contains(e.what(), "chunk length 4294967280 runs past the end of the file (26 bytes)"))
      << e.what();
}

TEST(SmfReader, RejectsVlqLongerThan4Bytes) {
  MidiFileError e = parse_error(single_track_file({Bytes{0x81, 0x80, 0x80, 0x80, 0x00, 0x90, 60, 100}}));
  EXPECT_EQ(e.byte_offset(), kFirstEvent);
  EXPECT_TRUE(contains(e.what(), "track 0: variable-length quantity longer than 4 bytes")) << e.what();
}

TEST(SmfReader, RejectsDataByteWithoutRunningStatus) {
  MidiFileError e = parse_error(single_track_file({event(0, {60, 100}), end_of_track()}));
  EXPECT_EQ(e.byte_offset(), kFirstEvent + 1);
  EXPECT_TRUE(contains(e.what(), "data byte 0x3C with no running status")) << e.what();
}

TEST(SmfReader, RejectsDataByteWithHighBitSet) {
  MidiFileError e = parse_error(single_track_file({event(0, {0x90, 60, 0x80}), end_of_track()}));
  EXPECT_EQ(e.byte_offset(), kFirstEvent + 3);
  EXPECT_TRUE(contains(e.what(), "data byte 0x80 of a note-on is not below 0x80")) << e.what();
}

TEST(SmfReader, RejectsSystemCommonStatusInTrack) {
  MidiFileError e =
      parse_error(single_track_file({on(0, 60, 100), event(0, {0xf2, 0x00, 0x00}), end_of_track()}));
  EXPECT_EQ(e.byte_offset(), kFirstEvent + 5);
  EXPECT_TRUE(contains(e.what(), "status byte 0xF2")) << e.what();
}

TEST(SmfReader, RejectsEventCutByTheEndOfItsChunk) {
  MidiFileError e = parse_error(single_track_file({on(0, 60, 100), event(5, {0x90, 62})}));
  EXPECT_EQ(e.byte_offset(), kFirstEvent + 4);
  EXPECT_TRUE(contains(e.what(), "track 0: truncated event")) << e.what();
}

TEST(SmfReader, RejectsMetaLengthPastTheEndOfItsChunk) {
  MidiFileError e = parse_error(single_track_file({event(0, {0xff, 0x01, 0x7f, 'a', 'b'})}));
  EXPECT_EQ(e.byte_offset(), kFirstEvent);
  EXPECT_TRUE(contains(e.what(), "truncated event")) << e.what();
}

TEST(SmfReader, RejectsTempoEventOfWrongLength) {
  MidiFileError e =
      parse_error(single_track_file({event(0, {0xff, 0x51, 0x02, 0x07, 0xa1}), end_of_track()}));
  EXPECT_EQ(e.byte_offset(), kFirstEvent);
  EXPECT_TRUE(contains(e.what(), "tempo event of length 2")) << e.what();
}

TEST(SmfReader, RejectsDivisionZero) {
  MidiFileError e = parse_error(concat({header_chunk(0, 1, 0), track({end_of_track()})}));
  EXPECT_EQ(e.byte_offset(), 12u);
  EXPECT_TRUE(contains(e.what(), "division of 0 ticks per quarter note")) << e.what();
}

TEST(SmfReader, RejectsSmpteFrameRateOtherThan24To30) {
  MidiFileError e = parse_error(concat({header_chunk(0, 1, 0xE928), track({end_of_track()})}));  // -23 fps
  EXPECT_EQ(e.byte_offset(), 12u);
  EXPECT_TRUE(contains(e.what(), "SMPTE division with 23 frames per second")) << e.what();
}

TEST(SmfReader, RejectsHeaderShorterThanSixBytes) {
  MidiFileError e = parse_error(concat({chunk("MThd", {0, 0, 0, 1}), track({end_of_track()})}));
  EXPECT_EQ(e.byte_offset(), 4u);
  EXPECT_TRUE(contains(e.what(), "header chunk length 4 is below 6")) << e.what();
}

TEST(SmfReader, RejectsEmptyFile) {
  auto path = testing::scratch_dir("SmfReader.RejectsEmptyFile") / "empty.mid";
  testing::write_text(path, "");
  MidiFileError e = read_error(path);
  EXPECT_EQ(e.byte_offset(), 0u);
  EXPECT_TRUE(contains(e.what(), "empty file")) << e.what();
}

TEST(SmfReader, RejectsFileLargerThanTheLimitBeforeReadingIt) {
  auto path = testing::scratch_dir("SmfReader.RejectsLargeFile") / "huge.mid";
  testing::write_file(path, concat({header_chunk(0, 1, 96), track({end_of_track()})}));
  std::filesystem::resize_file(path, kMaxMidiFileBytes + 1);  // sparse: nothing is written
  MidiFileError e = read_error(path);
  EXPECT_EQ(e.byte_offset(), 0u);
  EXPECT_TRUE(contains(e.what(), "larger than the limit")) << e.what();
}

TEST(SmfReader, RejectsMissingFileNamingIt) {
  auto path = testing::scratch_dir("SmfReader.RejectsMissingFile") / "absent.mid";
  MidiFileError e = read_error(path);
  EXPECT_EQ(e.byte_offset(), 0u);
  EXPECT_TRUE(contains(e.what(), "cannot open " + path.string())) << e.what();
}

// ---------------------------------------------------------------------------------------------
// The writer.

TEST(SmfWriter, WritesFormat1WithTheTempoInTrack0) {
  Bytes bytes = encode_midi({{0.0, 1.0, 60, 100, 0}}, {}, {96, 100});
  Bytes expected_start = concat({header_chunk(1, 2, 96), track({tempo(0, 600000), end_of_track()})});
  ASSERT_GE(bytes.size(), expected_start.size());
  EXPECT_EQ(Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(expected_start.size())),
            expected_start);
  expect_notes(parse(bytes).notes, {{0.0, 1.0, 60, 100, 0}});
}

TEST(SmfWriter, OrdersNoteOffThenControlThenNoteOnAtOneTick) {
  Bytes bytes = encode_midi({{0.5, 1.0, 60, 90, 0}, {0.0, 0.5, 60, 100, 0}}, {{0.5, 0, 64, 127}});
  // Track 1 after the first note-on: note-off, pedal, note-on, all at tick 480.
  Bytes expected_track = track({on(0, 60, 100), event(480, {0x80, 60, 64}), cc(0, 64, 127), on(0, 60, 90),
                                event(480, {0x80, 60, 64}), end_of_track()});
  ASSERT_GE(bytes.size(), expected_track.size());
  EXPECT_EQ(Bytes(bytes.end() - static_cast<std::ptrdiff_t>(expected_track.size()), bytes.end()),
            expected_track);
}

TEST(SmfWriter, RestruckPitchIsNotCut) {
  std::vector<Note> notes{{0.0, 0.5, 60, 100, 0}, {0.5, 1.0, 60, 90, 0}};
  expect_notes(parse(encode_midi(notes, {})).notes, notes);
}

TEST(SmfWriter, GivesNotesEndingAtTheirStartOneTick) {
  MidiFile file = parse(encode_midi({{1.0, 1.0, 60, 100, 0}, {2.0, 1.5, 62, 100, 0}}, {}));
  expect_notes(file.notes, {{1.0, 1.0 + 1.0 / 960, 60, 100, 0}, {2.0, 2.0 + 1.0 / 960, 62, 100, 0}});
}

TEST(SmfWriter, RejectsVelocityZeroNamingTheNote) {
  std::string message = invalid_argument_message({{0, 1, 60, 100, 0}, {0, 1, 62, 0, 0}}, {});
  EXPECT_TRUE(contains(message, "note 1 (pitch 62, velocity 0")) << message;
}

TEST(SmfWriter, RejectsPitchAndChannelOutOfRange) {
  EXPECT_TRUE(contains(invalid_argument_message({{0, 1, 128, 100, 0}}, {}), "pitch 128"));
  EXPECT_TRUE(contains(invalid_argument_message({{0, 1, 60, 100, 16}}, {}), "channel 16"));
}

TEST(SmfWriter, RejectsNegativeAndNonFiniteTimes) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(contains(invalid_argument_message({{-0.5, 1, 60, 100, 0}}, {}), "not negative"));
  EXPECT_TRUE(contains(invalid_argument_message({{nan, 1, 60, 100, 0}}, {}), "finite"));
  EXPECT_TRUE(contains(invalid_argument_message({{0, inf, 60, 100, 0}}, {}), "not finite"));
  EXPECT_TRUE(contains(invalid_argument_message({}, {{-1, 0, 64, 127}}), "control change 0"));
}

TEST(SmfWriter, RejectsControlChangeOutOfRange) {
  std::string message = invalid_argument_message({}, {{0, 0, 64, 0}, {0, 0, 64, 128}});
  EXPECT_TRUE(contains(message, "control change 1 (controller 64, value 128")) << message;
}

TEST(SmfWriter, RejectsTimesPastTheLongestDelta) {
  std::string message = invalid_argument_message({{1e6, 1e6 + 1, 60, 100, 0}}, {});
  EXPECT_TRUE(contains(message, "writer's limit")) << message;
}

TEST(SmfWriter, RejectsUnwritableTempoAndDivision) {
  EXPECT_TRUE(contains(invalid_argument_message({}, {}, {480, 0}), "bpm"));
  EXPECT_TRUE(contains(invalid_argument_message({}, {}, {0, 120}), "ticks_per_quarter 0"));
}

TEST(SmfWriter, WriteMidiFileReplacesTheFileAndLeavesNoTemporary) {
  auto dir = testing::scratch_dir("SmfWriter.ReplacesTheFile");
  testing::write_text(dir / "take.mid", "old contents");
  write_midi_file(dir / "take.mid", {{0, 1, 60, 100, 0}}, {});
  EXPECT_EQ(testing::read_file(dir / "take.mid"), encode_midi({{0, 1, 60, 100, 0}}, {}));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()),
            1);
}

TEST(SmfWriter, WriteMidiFileNamesThePathItCannotWrite) {
  auto path = testing::scratch_dir("SmfWriter.NamesThePath") / "no-such-folder" / "take.mid";
  try {
    write_midi_file(path, {{0, 1, 60, 100, 0}}, {});
    ADD_FAILURE() << "write_midi_file wrote into a missing folder";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(contains(e.what(), path.string())) << e.what();
  }
}


// ---- MidiSpool: a recording written as it is played ----

std::vector<std::uint8_t> msg(std::initializer_list<int> bytes) {
  std::vector<std::uint8_t> out;
  for (int b : bytes) out.push_back(static_cast<std::uint8_t>(b));
  return out;
}

TEST(SmfSpool, JoinedTracksReadBackAsPlayedAndEachWriteHoldsEverythingSoFar) {
  auto dir = testing::scratch_dir("SmfSpool.JoinedTracks");
  MidiSpool player(dir / "player.spool", "player");
  MidiSpool scorejam(dir / "scorejam.spool", "scorejam");
  EXPECT_TRUE(player.add(0.5, msg({0x90, 60, 90})));
  EXPECT_TRUE(player.add(0.75, msg({0xB0, 64, 127})));
  EXPECT_TRUE(player.add(1.0, msg({0x80, 60, 0})));
  EXPECT_TRUE(scorejam.add(1.25, msg({0x91, 67, 70})));
  write_midi_file(dir / "take.mid", {player.sync(), scorejam.sync()});
  auto first = read_midi_file(dir / "take.mid");
  EXPECT_EQ(first.track_count, 3);
  ASSERT_EQ(first.notes.size(), 2u);
  EXPECT_EQ(first.notes[0], (Note{0.5, 1.0, 60, 90, 0}));
  // Still sounding: it ends at the file's last event.
  EXPECT_EQ(first.notes[1], (Note{1.25, 1.25, 67, 70, 1}));
  ASSERT_EQ(first.controls.size(), 1u);
  EXPECT_EQ(first.controls[0].value, 127);

  EXPECT_TRUE(scorejam.add(2.0, msg({0x91, 67, 0})));  // velocity 0: the note-off
  EXPECT_TRUE(player.add(3.0, msg({0x90, 48, 50})));
  EXPECT_TRUE(player.add(3.5, msg({0x80, 48, 64})));
  write_midi_file(dir / "take.mid", {player.sync(), scorejam.sync()});
  auto second = read_midi_file(dir / "take.mid");
  ASSERT_EQ(second.notes.size(), 3u);
  EXPECT_EQ(second.notes[1], (Note{1.25, 2.0, 67, 70, 1}));
  EXPECT_EQ(second.notes[2], (Note{3.0, 3.5, 48, 50, 0}));
  EXPECT_DOUBLE_EQ(second.duration_s, 3.5);
}

TEST(SmfSpool, SkipsWhatIsNoChannelMessageAndNeverGoesBackInTime) {
  auto dir = testing::scratch_dir("SmfSpool.Skips");
  MidiSpool spool(dir / "t.spool", "t");
  EXPECT_TRUE(spool.add(0.1, msg({0xFE})));              // active sensing
  EXPECT_TRUE(spool.add(0.1, msg({0xF0, 0x7E, 0xF7})));  // a scrap of sysex
  EXPECT_TRUE(spool.add(0.1, msg({0x90, 60})));          // cut short
  EXPECT_TRUE(spool.add(0.1, msg({0x90, 200, 64})));     // a status where data belongs
  EXPECT_TRUE(spool.add(0.1, msg({0xC0, 5})));           // program change: two bytes
  EXPECT_TRUE(spool.add(2.0, msg({0x90, 60, 64})));
  EXPECT_TRUE(spool.add(1.0, msg({0x80, 60, 0})));  // earlier than the last: at the last's time
  EXPECT_TRUE(spool.add(std::nan(""), msg({0x90, 62, 64})));
  const auto part = spool.sync();
  // Four messages kept: program change (2 bytes), two note-ons and a note-off (3 bytes), each
  // with its one-to-four-byte delta.
  EXPECT_EQ(part.bytes, std::filesystem::file_size(part.spool));
  write_midi_file(dir / "t.mid", {part});
  auto midi = read_midi_file(dir / "t.mid");
  ASSERT_EQ(midi.notes.size(), 2u);
  EXPECT_EQ(midi.notes[0], (Note{2.0, 2.0, 60, 64, 0}));
  EXPECT_EQ(midi.notes[1].pitch, 62);
  EXPECT_DOUBLE_EQ(midi.notes[1].start_s, 2.0);
}

TEST(SmfSpool, BuffersAtMostItsLimitBetweenSyncsAndWritesOnlyTheSyncedPart) {
  auto dir = testing::scratch_dir("SmfSpool.Bounded");
  MidiSpool spool(dir / "t.spool", "t");
  std::size_t accepted = 0;
  while (spool.add(0, msg({0x90, 60, 64})) && accepted < MidiSpool::kMaxBuffered) ++accepted;
  EXPECT_EQ(accepted, MidiSpool::kMaxBuffered / 4) << "one-byte delta and three bytes each";
  const auto part = spool.sync();
  EXPECT_EQ(part.bytes, accepted * 4);
  EXPECT_TRUE(spool.add(1, msg({0x90, 61, 64})));
  spool.sync();  // the spool grows past the part, which still names its own length
  write_midi_file(dir / "t.mid", {part});
  EXPECT_EQ(read_midi_file(dir / "t.mid").notes.size(), accepted);
}

TEST(SmfSpool, RemovesItsFileAndNamesOneItCannotMake) {
  auto dir = testing::scratch_dir("SmfSpool.Files");
  {
    MidiSpool spool(dir / "t.spool", "t");
    EXPECT_TRUE(std::filesystem::exists(dir / "t.spool"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "t.spool"));
  try {
    MidiSpool spool(dir / "missing" / "t.spool", "t");
    ADD_FAILURE() << "a spool in a missing folder";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(contains(e.what(), (dir / "missing" / "t.spool").string())) << e.what();
  }
}

}  // namespace
}  // namespace scorejam
