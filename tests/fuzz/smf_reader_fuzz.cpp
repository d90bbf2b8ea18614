// libFuzzer target for the Standard MIDI File reader. A MidiFileError is the expected answer to bad
// input; any other exception, a sanitizer report, a hang, or a broken invariant of the result
// (checked below, aborting) is a finding.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "core/midi_file.h"

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

bool valid_time(double t, double duration_s) { return std::isfinite(t) && t >= 0 && t <= duration_s; }

void check_invariants(const scorejam::MidiFile& file) {
  check(file.format == 0 || file.format == 1, "format is 0 or 1");
  check(std::isfinite(file.duration_s) && file.duration_s >= 0, "duration is finite and not negative");
  bool smpte = file.smpte_fps != 0;
  check(smpte ? file.ticks_per_quarter == 0 && file.ticks_per_frame > 0 : file.ticks_per_quarter > 0,
        "exactly one kind of division");
  const scorejam::Note* previous = nullptr;
  for (const auto& n : file.notes) {
    check(n.pitch >= 0 && n.pitch < 128, "pitch in 0..127");
    check(n.velocity >= 1 && n.velocity < 128, "velocity in 1..127");
    check(n.channel >= 0 && n.channel < 16, "channel in 0..15");
    check(valid_time(n.start_s, file.duration_s) && valid_time(n.end_s, file.duration_s),
          "note times finite and within the duration");
    check(n.end_s >= n.start_s, "note ends at or after its start");
    check(!previous || previous->start_s <= n.start_s, "notes sorted by start");
    previous = &n;
  }
  double last_s = 0;
  for (const auto& cc : file.controls) {
    check(cc.channel >= 0 && cc.channel < 16 && cc.controller >= 0 && cc.controller < 128 && cc.value >= 0 &&
              cc.value < 128,
          "control change fields in range");
    check(valid_time(cc.time_s, file.duration_s), "control time finite and within the duration");
    check(cc.time_s >= last_s, "controls sorted by time");
    last_s = cc.time_s;
  }
  double last_tempo_s = 0;
  for (std::size_t i = 0; i < file.tempo_map.size(); ++i) {
    const auto& t = file.tempo_map[i];
    check(i == 0 || t.tick > file.tempo_map[i - 1].tick, "tempo map strictly increasing in ticks");
    check(std::isfinite(t.time_s) && t.time_s >= last_tempo_s, "tempo times finite and non-decreasing");
    last_tempo_s = t.time_s;
  }
  check(!smpte || file.tempo_map.empty(), "SMPTE files have no tempo map");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    check_invariants(scorejam::parse_midi(std::span<const std::uint8_t>(data, size), "fuzz"));
  } catch (const scorejam::MidiFileError&) {
  }
  return 0;
}
