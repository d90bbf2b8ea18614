// make_smf_seeds DIR: writes the seed corpus for smf_reader_fuzz, small files that between them
// reach every branch of the reader: our writer's output (random notes, sustain pedal), and files
// made by hand for what our writer never produces (format 0, tempo changes, SMPTE, running status,
// meta and sysex events, unknown chunks, stray and overlapping notes).
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/midi_file.h"
#include "tests/core/test_support.h"

namespace {

using scorejam::testing::Bytes;
using scorejam::testing::chunk;
using scorejam::testing::concat;
using scorejam::testing::header_chunk;
using scorejam::testing::vlq;

Bytes event(std::uint32_t delta, Bytes message) { return concat({vlq(delta), message}); }
Bytes tempo(std::uint32_t delta, std::uint32_t us) {
  return event(delta, {0xff, 0x51, 0x03, std::uint8_t(us >> 16), std::uint8_t(us >> 8), std::uint8_t(us)});
}
Bytes end_of_track(std::uint32_t delta = 0) { return event(delta, {0xff, 0x2f, 0x00}); }
Bytes track(std::initializer_list<Bytes> events) { return chunk("MTrk", concat(events)); }

std::vector<scorejam::Note> random_notes(std::mt19937& rng, int count, int channels) {
  std::uniform_real_distribution<double> start(0, 8), length(0.01, 2);
  std::uniform_int_distribution<int> pitch(21, 108), velocity(1, 127), channel(0, channels - 1);
  std::vector<scorejam::Note> notes;
  for (int i = 0; i < count; ++i) {
    double s = start(rng);
    notes.push_back({s, s + length(rng), pitch(rng), velocity(rng), channel(rng)});
  }
  return notes;
}

std::vector<scorejam::ControlChange> random_pedal(std::mt19937& rng, int presses) {
  std::uniform_real_distribution<double> time(0, 8);
  std::vector<scorejam::ControlChange> pedal;
  for (int i = 0; i < presses; ++i) {
    double down = time(rng);
    pedal.push_back({down, 0, scorejam::kSustainController, 127});
    pedal.push_back({down + 0.5, 0, scorejam::kSustainController, 0});
  }
  return pedal;
}

std::vector<std::pair<std::string, Bytes>> seeds() {
  std::vector<std::pair<std::string, Bytes>> out;
  std::mt19937 rng(20240611);
  for (int i = 0; i < 6; ++i) {
    scorejam::MidiWriteOptions options{i % 2 ? 96 : 480, 60.0 + 20 * i};
    auto notes = random_notes(rng, 4 + 6 * i, 1 + i % 3);  // drawn in a fixed order, for any compiler
    auto pedal = random_pedal(rng, i);
    out.push_back({"writer-" + std::to_string(i) + ".mid", scorejam::encode_midi(notes, pedal, options)});
  }
  Bytes c4 = event(0, {0x90, 60, 100});
  out.push_back(
      {"format0.mid", concat({header_chunk(0, 1, 96),
                              track({tempo(0, 600000), c4, event(96, {0x80, 60, 0}), end_of_track()})})});
  out.push_back({"tempo-changes.mid",
                 concat({header_chunk(1, 2, 480),
                         track({tempo(0, 500000), tempo(960, 250000), tempo(480, 1000000), end_of_track()}),
                         track({c4, event(1200, {0x90, 60, 0}), event(0, {0x90, 64, 90}),
                                event(960, {0x80, 64, 0}), end_of_track(10)})})});
  out.push_back(
      {"smpte-25.mid", concat({header_chunk(0, 1, 0xE728),  // -25 fps, 40 ticks per frame
                               track({tempo(0, 300000), c4, event(1000, {0x80, 60, 0}), end_of_track()})})});
  out.push_back({"smpte-2997.mid", concat({header_chunk(0, 1, 0xE350),  // -29 fps, 80 ticks per frame
                                           track({c4, event(2400, {0x80, 60, 0}), end_of_track()})})});
  out.push_back(
      {"running-status.mid",
       concat({header_chunk(0, 1, 96), track({c4, event(10, {62, 90}), event(10, {60, 0}), event(10, {62, 0}),
                                              event(0, {0xB0, 64, 127}), event(20, {64, 0}),
                                              event(5, {0xC0, 3}), event(5, {4}), end_of_track()})})});
  out.push_back(
      {"meta-and-sysex.mid",
       concat({header_chunk(1, 1, 96),
               track({event(0, {0xff, 0x03, 0x05, 'P', 'i', 'a', 'n', 'o'}),
                      event(0, {0xff, 0x58, 0x04, 4, 2, 24, 8}), event(0, {0xf0, 0x03, 0x7e, 0x09, 0xf7}), c4,
                      event(0, {0xf7, 0x02, 0xf8, 0xfa}), event(48, {0xff, 0x7f, 0x00}),
                      event(48, {0x80, 60, 64}), end_of_track()})})});
  out.push_back({"unknown-chunk.mid", concat({header_chunk(1, 1, 96), chunk("XFIH", {1, 2, 3, 4, 5}),
                                              track({c4, event(96, {0x80, 60, 0}), end_of_track()})})});
  out.push_back({"overlapping-same-pitch.mid",
                 concat({header_chunk(0, 1, 100),
                         track({c4, event(10, {0x90, 60, 80}), event(10, {0x80, 60, 0}),
                                event(10, {0x80, 60, 0}), event(0, {0x80, 61, 0}), event(0, {0x90, 62, 50}),
                                event(0, {0x80, 62, 0}), end_of_track()})})});
  out.push_back(
      {"open-notes.mid",
       concat({header_chunk(0, 1, 96), track({c4, event(0, {0x95, 72, 40}), event(500, {0xB5, 7, 100})})})});
  out.push_back({"channel-messages.mid",
                 concat({header_chunk(0, 1, 96),
                         track({c4, event(1, {0xA0, 60, 30}), event(1, {0xD0, 50}), event(1, {0xE0, 0, 64}),
                                event(1, {0xC1, 0}), event(1, {0x91, 40, 20}), event(1, {0x81, 40, 0}),
                                event(1, {0x80, 60, 0}), end_of_track()})})});
  out.push_back({"fewer-tracks-than-declared.mid",
                 concat({header_chunk(1, 3, 96), track({tempo(0, 400000), end_of_track()}),
                         track({c4, event(96, {0x80, 60, 0}), end_of_track()})})});
  out.push_back({"long-header.mid", concat({chunk("MThd", {0, 0, 0, 1, 0, 96, 0xAA, 0xBB}),
                                            track({c4, event(0x0fffffff, {0x80, 60, 0}), end_of_track()})})});
  out.push_back({"two-tracks-tempo-tie.mid",
                 concat({header_chunk(1, 2, 96), track({tempo(0, 500000), tempo(96, 400000), end_of_track()}),
                         track({tempo(96, 300000), c4, event(192, {0x80, 60, 0}), end_of_track()})})});
  out.push_back({"empty-track.mid", concat({header_chunk(1, 1, 96), chunk("MTrk", {})})});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_smf_seeds DIR\n");
    return 2;
  }
  std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  int count = 0;
  for (const auto& [name, bytes] : seeds()) {
    scorejam::testing::write_file(dir / name, bytes);
    ++count;
  }
  std::printf("wrote %d seed files to %s\n", count, dir.string().c_str());
  return 0;
}
