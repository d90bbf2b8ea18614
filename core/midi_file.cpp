// Standard MIDI File reading and writing: bytes to notes, controllers and a tempo map in seconds,
// and back. Pure functions, no threads. Every read of the input is checked against the end of the
// chunk it belongs to, and nothing is allocated from a declared length: memory grows only with the
// events actually present.
#include "core/midi_file.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <system_error>
#include <tuple>
#include <utility>

namespace scorejam {

MidiFileError::MidiFileError(std::string source, std::size_t byte_offset, const std::string& what)
    : std::runtime_error(source + ": byte " + std::to_string(byte_offset) + ": " + what),
      source_(std::move(source)),
      byte_offset_(byte_offset) {}

namespace {

// Sums of ticks * microseconds-per-quarter: up to 2^64 * 2^24, kept exact until the one division.
__extension__ typedef unsigned __int128 Wide;

using Bytes = std::span<const std::uint8_t>;

constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
constexpr std::uint32_t kDefaultUsPerQuarter = 500000;

std::string hex_byte(std::uint8_t b) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%02X", b);
  return text;
}

// Chunk types and magic numbers as text a person can read, with anything unprintable escaped.
std::string quoted(Bytes bytes) {
  std::string out = "'";
  for (std::uint8_t b : bytes) {
    if (b >= 0x20 && b < 0x7f && b != '\'' && b != '\\') {
      out += static_cast<char>(b);
    } else {
      char text[8];
      std::snprintf(text, sizeof text, "\\x%02X", b);
      out += text;
    }
  }
  return out + "'";
}

bool has_type(Bytes bytes, std::size_t at, const char* type) {
  return std::memcmp(bytes.data() + at, type, 4) == 0;
}

std::uint16_t be16(Bytes bytes, std::size_t at) {
  return static_cast<std::uint16_t>(bytes[at] << 8 | bytes[at + 1]);
}

std::uint32_t be32(Bytes bytes, std::size_t at) {
  return std::uint32_t{bytes[at]} << 24 | std::uint32_t{bytes[at + 1]} << 16 |
         std::uint32_t{bytes[at + 2]} << 8 | std::uint32_t{bytes[at + 3]};
}

// ---------------------------------------------------------------------------------------------
// Reading: tracks are parsed into events in ticks, then converted to seconds in one pass.

struct TickNote {
  std::uint64_t start_tick = 0;
  std::uint64_t end_tick = 0;
  bool open = true;
  int pitch = 0;
  int velocity = 0;
  int channel = 0;
  std::size_t next_open = kNone;  // the next still-open note of the same key, in onset order
};

struct TickControl {
  std::uint64_t tick = 0;
  int channel = 0;
  int controller = 0;
  int value = 0;
};

struct TickTempo {
  std::uint64_t tick = 0;
  std::uint32_t us_per_quarter = 0;
};

struct TickEvents {
  std::vector<TickNote> notes;
  std::vector<TickControl> controls;
  std::vector<TickTempo> tempos;
  std::uint64_t last_tick = 0;
};

// One track chunk being read: [pos, end) is what is left of it.
struct TrackCursor {
  Bytes bytes;
  std::size_t pos = 0;
  std::size_t end = 0;
  int track = 0;
  const std::string& source;

  [[noreturn]] void fail(std::size_t at, const std::string& what) const {
    throw MidiFileError(source, at, "track " + std::to_string(track) + ": " + what);
  }
  void need(std::size_t n, std::size_t event_start) const {
    if (end - pos < n)
      fail(event_start, "truncated event: the track chunk ends at byte " + std::to_string(end));
  }
  std::uint8_t next(std::size_t event_start) {
    need(1, event_start);
    return bytes[pos++];
  }
};

std::uint32_t read_vlq(TrackCursor& c, std::size_t event_start) {
  std::size_t start = c.pos;
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    std::uint8_t b = c.next(event_start);
    value = value << 7 | (b & 0x7fu);
    if (!(b & 0x80)) return value;
  }
  c.fail(start, "variable-length quantity longer than 4 bytes");
}

void skip(TrackCursor& c, std::uint32_t length, std::size_t event_start) {
  c.need(length, event_start);
  c.pos += length;
}

const char* channel_message_name(int kind) {
  switch (kind) {
    case 0x8:
      return "note-off";
    case 0x9:
      return "note-on";
    case 0xA:
      return "aftertouch";
    case 0xB:
      return "control change";
    case 0xC:
      return "program change";
    case 0xD:
      return "channel pressure";
    default:
      return "pitch bend";
  }
}

// Head and tail of each (channel, pitch)'s queue of open notes, linked through TickNote::next_open,
// so that first-in first-out pairing costs no allocation per key.
struct OpenQueue {
  std::size_t head = kNone;
  std::size_t tail = kNone;
};
using OpenNotes = std::array<OpenQueue, 16 * 128>;

void note_on(TickEvents& out, OpenNotes& open, std::uint64_t tick, int channel, int pitch, int velocity) {
  std::size_t index = out.notes.size();
  out.notes.push_back({tick, tick, true, pitch, velocity, channel, kNone});
  OpenQueue& q = open[static_cast<std::size_t>(channel * 128 + pitch)];
  if (q.tail == kNone)
    q.head = index;
  else
    out.notes[q.tail].next_open = index;
  q.tail = index;
}

void note_off(TickEvents& out, OpenNotes& open, std::uint64_t tick, int channel, int pitch) {
  OpenQueue& q = open[static_cast<std::size_t>(channel * 128 + pitch)];
  if (q.head == kNone) return;  // a stray note-off ends nothing
  TickNote& note = out.notes[q.head];
  note.end_tick = tick;
  note.open = false;
  q.head = note.next_open;
  if (q.head == kNone) q.tail = kNone;
}

void channel_message(TrackCursor& c, TickEvents& out, OpenNotes& open, std::uint64_t tick,
                     std::uint8_t status, std::size_t event_start) {
  int kind = status >> 4;
  int channel = status & 0x0f;
  int count = (kind == 0xC || kind == 0xD) ? 1 : 2;
  c.need(static_cast<std::size_t>(count), event_start);
  std::array<int, 2> data{};
  for (int i = 0; i < count; ++i) {
    std::uint8_t b = c.bytes[c.pos];
    if (b >= 0x80)
      c.fail(c.pos, std::string("data byte ") + hex_byte(b) + " of a " + channel_message_name(kind) +
                        " is not below 0x80");
    data[static_cast<std::size_t>(i)] = b;
    ++c.pos;
  }
  if (kind == 0x9 && data[1] > 0)
    note_on(out, open, tick, channel, data[0], data[1]);
  else if (kind == 0x8 || kind == 0x9)
    note_off(out, open, tick, channel, data[0]);
  else if (kind == 0xB)
    out.controls.push_back({tick, channel, data[0], data[1]});
}

// Returns true at End of Track.
bool meta_event(TrackCursor& c, TickEvents& out, std::uint64_t tick, std::size_t event_start) {
  std::uint8_t type = c.next(event_start);
  std::uint32_t length = read_vlq(c, event_start);
  c.need(length, event_start);
  if (type == 0x51) {
    if (length != 3) c.fail(event_start, "tempo event of length " + std::to_string(length) + " (expected 3)");
    std::uint32_t us = std::uint32_t{c.bytes[c.pos]} << 16 | std::uint32_t{c.bytes[c.pos + 1]} << 8 |
                       std::uint32_t{c.bytes[c.pos + 2]};
    out.tempos.push_back({tick, us});
  }
  c.pos += length;
  return type == 0x2f;
}

void parse_track(TrackCursor c, TickEvents& out) {
  OpenNotes open{};
  std::uint64_t tick = 0;
  std::uint8_t running = 0;
  while (c.pos < c.end) {
    std::size_t event_start = c.pos;
    tick += read_vlq(c, event_start);
    out.last_tick = std::max(out.last_tick, tick);
    std::size_t status_at = c.pos;
    c.need(1, event_start);
    std::uint8_t status = c.bytes[c.pos];
    if (status >= 0x80)
      ++c.pos;
    else if (running != 0)
      status = running;
    else
      c.fail(status_at, "data byte " + hex_byte(status) + " with no running status in effect");
    if (status < 0xf0) {
      running = status;
      channel_message(c, out, open, tick, status, event_start);
    } else if (status == 0xff) {
      // Running status survives meta and sysex events here (as in mido and pretty_midi), although
      // the spec says they cancel it: real files rely on it, and keeping it rejects nothing valid.
      if (meta_event(c, out, tick, event_start)) return;
    } else if (status == 0xf0 || status == 0xf7) {
      skip(c, read_vlq(c, event_start), event_start);
    } else {
      c.fail(status_at, "status byte " + hex_byte(status) +
                            " (a system common or real-time message) cannot appear in a MIDI file");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Ticks to seconds.

struct Division {
  int ticks_per_quarter = 0;
  int smpte_fps = 0;
  int ticks_per_frame = 0;
};

struct Clock {
  Division division;
  std::vector<TempoChange> segments;  // always starts at tick 0
  std::vector<Wide> numerators;       // microsecond-ticks elapsed at each segment's start

  double seconds(std::uint64_t tick) const {
    if (division.smpte_fps != 0) {
      // 29 means 29.97 drop-frame: 30000/1001 frames per second.
      bool drop = division.smpte_fps == 29;
      Wide numerator = Wide{tick} * (drop ? 1001u : 1u);
      double frames_per_s = drop ? 30000.0 : division.smpte_fps;
      return static_cast<double>(numerator) / (frames_per_s * division.ticks_per_frame);
    }
    auto after = std::upper_bound(segments.begin(), segments.end(), tick,
                                  [](std::uint64_t t, const TempoChange& s) { return t < s.tick; });
    auto i = static_cast<std::size_t>(after - segments.begin()) - 1;
    Wide numerator = numerators[i] + Wide{tick - segments[i].tick} * segments[i].us_per_quarter;
    return static_cast<double>(numerator) / (division.ticks_per_quarter * 1e6);
  }
};

// Tempo events of all tracks by tick; at one tick the last one read (the later track's) wins.
std::vector<TempoChange> tempo_map(std::vector<TickTempo> tempos) {
  std::stable_sort(tempos.begin(), tempos.end(),
                   [](const TickTempo& a, const TickTempo& b) { return a.tick < b.tick; });
  std::vector<TempoChange> map;
  for (const auto& t : tempos) {
    if (!map.empty() && map.back().tick == t.tick)
      map.back().us_per_quarter = t.us_per_quarter;
    else
      map.push_back({t.tick, 0, t.us_per_quarter});
  }
  return map;
}

Clock make_clock(const Division& division, const std::vector<TempoChange>& map) {
  Clock clock{division, {}, {}};
  if (map.empty() || map.front().tick != 0) clock.segments.push_back({0, 0, kDefaultUsPerQuarter});
  clock.segments.insert(clock.segments.end(), map.begin(), map.end());
  Wide elapsed = 0;
  for (std::size_t i = 0; i < clock.segments.size(); ++i) {
    if (i > 0)
      elapsed +=
          Wide{clock.segments[i].tick - clock.segments[i - 1].tick} * clock.segments[i - 1].us_per_quarter;
    clock.numerators.push_back(elapsed);
  }
  return clock;
}

Division parse_division(Bytes bytes, const std::string& source) {
  std::uint16_t raw = be16(bytes, 12);
  Division d;
  if (raw & 0x8000) {
    int fps = -static_cast<int>(static_cast<std::int8_t>(raw >> 8));
    if (fps != 24 && fps != 25 && fps != 29 && fps != 30)
      throw MidiFileError(
          source, 12,
          "SMPTE division with " + std::to_string(fps) + " frames per second (expected 24, 25, 29 or 30)");
    d.smpte_fps = fps;
    d.ticks_per_frame = raw & 0xff;
    if (d.ticks_per_frame == 0) throw MidiFileError(source, 12, "SMPTE division with 0 ticks per frame");
  } else {
    d.ticks_per_quarter = raw;
    if (raw == 0) throw MidiFileError(source, 12, "division of 0 ticks per quarter note");
  }
  return d;
}

}  // namespace

MidiFile parse_midi(std::span<const std::uint8_t> bytes, const std::string& source) {
  auto fail = [&](std::size_t at, const std::string& what) { throw MidiFileError(source, at, what); };
  if (bytes.empty()) fail(0, "empty file, not a Standard MIDI File");
  if (bytes.size() < 4 || !has_type(bytes, 0, "MThd"))
    fail(0, "not a Standard MIDI File: expected 'MThd' at byte 0, found " +
                quoted(bytes.first(std::min<std::size_t>(4, bytes.size()))));
  if (bytes.size() < 14)
    fail(0, "truncated header: the file is " + std::to_string(bytes.size()) + " bytes, a header needs 14");
  std::uint32_t header_length = be32(bytes, 4);
  if (header_length < 6) fail(4, "header chunk length " + std::to_string(header_length) + " is below 6");
  if (header_length > bytes.size() - 8)
    fail(4, "header chunk length " + std::to_string(header_length) + " runs past the end of the file (" +
                std::to_string(bytes.size()) + " bytes)");

  MidiFile file;
  file.format = be16(bytes, 8);
  if (file.format == 2) fail(8, "format 2 (independent sequences) is not supported");
  if (file.format > 2) fail(8, "unknown format " + std::to_string(file.format));
  int declared_tracks = be16(bytes, 10);
  file.declared_track_count = declared_tracks;
  Division division = parse_division(bytes, source);
  file.ticks_per_quarter = division.ticks_per_quarter;
  file.smpte_fps = division.smpte_fps;
  file.ticks_per_frame = division.ticks_per_frame;

  // Fewer track chunks than declared is forgiven (the tracks present are read); a chunk cut short
  // is not. Whatever follows the declared tracks is ignored.
  TickEvents events;
  std::size_t pos = 8 + std::size_t{header_length};
  while (file.track_count < declared_tracks && pos < bytes.size()) {
    if (bytes.size() - pos < 8)
      fail(pos, "truncated chunk header: " + std::to_string(bytes.size() - pos) + " bytes left, 8 needed");
    std::uint32_t length = be32(bytes, pos + 4);
    bool is_track = has_type(bytes, pos, "MTrk");
    if (length > bytes.size() - pos - 8)
      fail(pos, (is_track ? "track " + std::to_string(file.track_count) : quoted(bytes.subspan(pos, 4))) +
                    " chunk length " + std::to_string(length) + " runs past the end of the file (" +
                    std::to_string(bytes.size()) + " bytes)");
    if (is_track) {
      parse_track({bytes, pos + 8, pos + 8 + length, file.track_count, source}, events);
      ++file.track_count;
    }
    pos += 8 + std::size_t{length};
  }

  // SMPTE time is absolute: tempo events do not change it.
  if (division.smpte_fps == 0) file.tempo_map = tempo_map(std::move(events.tempos));
  Clock clock = make_clock(division, file.tempo_map);
  for (auto& t : file.tempo_map) t.time_s = clock.seconds(t.tick);
  file.duration_s = clock.seconds(events.last_tick);

  file.notes.reserve(events.notes.size());
  for (const auto& n : events.notes) {
    double start_s = clock.seconds(n.start_tick);
    double end_s = n.open ? file.duration_s : clock.seconds(n.end_tick);
    file.notes.push_back({start_s, end_s, n.pitch, n.velocity, n.channel});
  }
  sort_notes(file.notes);

  std::stable_sort(events.controls.begin(), events.controls.end(),
                   [](const TickControl& a, const TickControl& b) { return a.tick < b.tick; });
  file.controls.reserve(events.controls.size());
  for (const auto& cc : events.controls)
    file.controls.push_back({clock.seconds(cc.tick), cc.channel, cc.controller, cc.value});
  return file;
}

MidiFile read_midi_file(const std::filesystem::path& path) {
  const std::string source = path.string();
  std::error_code ec;
  std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw MidiFileError(source, 0, "cannot open " + source + ": " + ec.message());
  if (size > kMaxMidiFileBytes)
    throw MidiFileError(source, 0,
                        "file is " + std::to_string(size) + " bytes, larger than the limit of " +
                            std::to_string(kMaxMidiFileBytes) + " bytes for a MIDI file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw MidiFileError(source, 0, "cannot open " + source + ": " + std::strerror(errno));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (in.bad()) throw MidiFileError(source, 0, "cannot read " + source + ": " + std::strerror(errno));
  bytes.resize(static_cast<std::size_t>(in.gcount()));  // the file may have shrunk since file_size
  return parse_midi(bytes, source);
}

// ---------------------------------------------------------------------------------------------
// Writing.

namespace {

// The latest onset tick the writer accepts, so that every delta (even to a one-tick note-off) fits
// one 4-byte variable-length quantity: about 77 hours at 480 ticks per quarter and 120 bpm.
constexpr double kMaxWriteTick = 0x0ffffffe;

void append_vlq(std::vector<std::uint8_t>& out, std::uint32_t value) {
  std::array<std::uint8_t, 4> groups{};
  int n = 0;
  do {
    groups[static_cast<std::size_t>(n++)] = static_cast<std::uint8_t>(value & 0x7f);
    value >>= 7;
  } while (value != 0 && n < 4);
  while (n-- > 0)
    out.push_back(static_cast<std::uint8_t>(groups[static_cast<std::size_t>(n)] | (n > 0 ? 0x80 : 0)));
}

void append_be(std::vector<std::uint8_t>& out, std::uint32_t value, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(value >> shift));
}

void append_chunk(std::vector<std::uint8_t>& out, const char* type, const std::vector<std::uint8_t>& body) {
  out.insert(out.end(), type, type + 4);
  append_be(out, static_cast<std::uint32_t>(body.size()), 4);
  out.insert(out.end(), body.begin(), body.end());
}

std::string describe(const char* what, std::size_t index, const Note& n) {
  return std::string(what) + " " + std::to_string(index) + " (pitch " + std::to_string(n.pitch) +
         ", velocity " + std::to_string(n.velocity) + ", channel " + std::to_string(n.channel) + ", start " +
         std::to_string(n.start_s) + " s, end " + std::to_string(n.end_s) + " s)";
}

std::string describe(const char* what, std::size_t index, const ControlChange& cc) {
  return std::string(what) + " " + std::to_string(index) + " (controller " + std::to_string(cc.controller) +
         ", value " + std::to_string(cc.value) + ", channel " + std::to_string(cc.channel) + ", time " +
         std::to_string(cc.time_s) + " s)";
}

bool in_range(int v, int lo, int hi) { return v >= lo && v <= hi; }

// `what()` names the note or controller in an error; it is called only then.
template <class What>
std::uint64_t to_tick(double time_s, double ticks_per_s, const What& what) {
  if (!std::isfinite(time_s) || time_s < 0)
    throw std::invalid_argument(what() + ": times must be finite and not negative");
  double ticks = time_s * ticks_per_s;
  if (ticks > kMaxWriteTick)
    throw std::invalid_argument(what() + ": later than the writer's limit of " +
                                std::to_string(kMaxWriteTick / ticks_per_s) + " s");
  return static_cast<std::uint64_t>(std::llround(ticks));
}

struct WriteEvent {
  std::uint64_t tick = 0;
  int rank = 0;           // note-offs, then controllers, then note-ons
  std::uint64_t tie = 0;  // note-ons at one tick: the earliest-ending first, as a reader pairs them
  std::array<std::uint8_t, 3> message{};
};

std::vector<WriteEvent> note_events(const std::vector<Note>& notes, double ticks_per_s) {
  std::vector<WriteEvent> events;
  for (std::size_t i = 0; i < notes.size(); ++i) {
    const Note& n = notes[i];
    auto what = [&] { return describe("note", i, n); };
    if (!in_range(n.pitch, 0, 127) || !in_range(n.velocity, 1, 127) || !in_range(n.channel, 0, 15))
      throw std::invalid_argument(what() + ": pitch must be 0..127, velocity 1..127, channel 0..15");
    if (!std::isfinite(n.end_s)) throw std::invalid_argument(what() + ": end is not finite");
    std::uint64_t start = to_tick(n.start_s, ticks_per_s, what);
    // A note that would end at or before its start still sounds for one tick.
    std::uint64_t end = n.end_s > n.start_s ? to_tick(n.end_s, ticks_per_s, what) : 0;
    end = std::max(end, start + 1);
    auto channel = static_cast<std::uint8_t>(n.channel);
    auto pitch = static_cast<std::uint8_t>(n.pitch);
    auto velocity = static_cast<std::uint8_t>(n.velocity);
    events.push_back({start, 2, end, {static_cast<std::uint8_t>(0x90 | channel), pitch, velocity}});
    events.push_back({end, 0, 0, {static_cast<std::uint8_t>(0x80 | channel), pitch, 64}});
  }
  return events;
}

void append_control_events(std::vector<WriteEvent>& events, const std::vector<ControlChange>& controls,
                           double ticks_per_s) {
  for (std::size_t i = 0; i < controls.size(); ++i) {
    const ControlChange& cc = controls[i];
    auto what = [&] { return describe("control change", i, cc); };
    if (!in_range(cc.channel, 0, 15) || !in_range(cc.controller, 0, 127) || !in_range(cc.value, 0, 127))
      throw std::invalid_argument(what() + ": channel must be 0..15, controller 0..127, value 0..127");
    std::uint64_t tick = to_tick(cc.time_s, ticks_per_s, what);
    std::array<std::uint8_t, 3> message{static_cast<std::uint8_t>(0xB0 | cc.channel),
                                        static_cast<std::uint8_t>(cc.controller),
                                        static_cast<std::uint8_t>(cc.value)};
    events.push_back({tick, 1, 0, message});
  }
}

std::uint32_t us_per_quarter(const MidiWriteOptions& options) {
  if (options.ticks_per_quarter < 1 || options.ticks_per_quarter > 0x7fff)
    throw std::invalid_argument("ticks_per_quarter " + std::to_string(options.ticks_per_quarter) +
                                " is outside 1..32767");
  double us = std::isfinite(options.bpm) && options.bpm > 0 ? 60e6 / options.bpm : 0;
  if (!(us >= 1 && us <= 0xffffff))
    throw std::invalid_argument("bpm " + std::to_string(options.bpm) +
                                " gives a tempo outside a MIDI file's range");
  return static_cast<std::uint32_t>(std::llround(us));
}

// Ticks per second from the tempo actually written, so that a reader gets the same times back.
double ticks_per_second(const MidiWriteOptions& options) {
  return options.ticks_per_quarter * 1e6 / us_per_quarter(options);
}

// The header chunk and the tempo track of a format-1 file with `tracks` tracks after the tempo's.
std::vector<std::uint8_t> file_head(std::size_t tracks, const MidiWriteOptions& options) {
  std::vector<std::uint8_t> out;
  std::vector<std::uint8_t> header;
  append_be(header, 1, 2);
  append_be(header, static_cast<std::uint32_t>(tracks + 1), 2);
  append_be(header, static_cast<std::uint32_t>(options.ticks_per_quarter), 2);
  append_chunk(out, "MThd", header);

  std::vector<std::uint8_t> tempo_track{0x00, 0xff, 0x51, 0x03};
  append_be(tempo_track, us_per_quarter(options), 3);
  tempo_track.insert(tempo_track.end(), {0x00, 0xff, 0x2f, 0x00});
  append_chunk(out, "MTrk", tempo_track);
  return out;
}

// Meta event 03 (the track's name) at delta 0; nothing for an empty name.
std::vector<std::uint8_t> track_name_event(const std::string& name) {
  std::vector<std::uint8_t> out;
  if (name.empty()) return out;
  out.insert(out.end(), {0x00, 0xff, 0x03});
  append_vlq(out, static_cast<std::uint32_t>(name.size()));
  out.insert(out.end(), name.begin(), name.end());
  return out;
}

constexpr std::array<std::uint8_t, 4> kEndOfTrack{0x00, 0xff, 0x2f, 0x00};

}  // namespace

std::vector<std::uint8_t> encode_midi_tracks(const std::vector<MidiTrackData>& tracks, const MidiWriteOptions& options) {
  const double ticks_per_s = ticks_per_second(options);
  std::vector<std::uint8_t> out = file_head(tracks.size(), options);
  for (const auto& data : tracks) {
    std::vector<WriteEvent> events = note_events(data.notes, ticks_per_s);
    append_control_events(events, data.controls, ticks_per_s);
    std::stable_sort(events.begin(), events.end(), [](const WriteEvent& a, const WriteEvent& b) {
      return std::tie(a.tick, a.rank, a.tie) < std::tie(b.tick, b.rank, b.tie);
    });
    std::vector<std::uint8_t> track = track_name_event(data.name);
    std::uint64_t tick = 0;
    for (const auto& e : events) {
      append_vlq(track, static_cast<std::uint32_t>(e.tick - tick));
      tick = e.tick;
      track.insert(track.end(), e.message.begin(), e.message.end());
    }
    track.insert(track.end(), kEndOfTrack.begin(), kEndOfTrack.end());
    append_chunk(out, "MTrk", track);
  }
  return out;
}

std::vector<std::uint8_t> encode_midi(const std::vector<Note>& notes,
                                      const std::vector<ControlChange>& controls,
                                      const MidiWriteOptions& options) {
  return encode_midi_tracks({MidiTrackData{"", notes, controls}}, options);
}

namespace {

void put(std::ostream& out, std::span<const std::uint8_t> bytes) {
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Written beside the target by `fill` and renamed over it, so a reader never sees half a file.
// `fill` returns an empty string, or why it could not write.
template <class Fill>
void write_file_atomically(const std::filesystem::path& path, Fill fill) {
  std::filesystem::path temp = path;
  temp += ".tmp-" + std::to_string(std::random_device{}());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    std::string reason = out ? fill(out) : std::string();
    out.close();
    if (!out || !reason.empty()) {
      if (reason.empty()) reason = std::strerror(errno);
      std::error_code ignored;
      std::filesystem::remove(temp, ignored);
      throw std::runtime_error("cannot write MIDI file " + path.string() + ": " + reason);
    }
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw std::runtime_error("cannot write MIDI file " + path.string() + ": " + ec.message());
  }
}

}  // namespace

void write_midi_file(const std::filesystem::path& path, const std::vector<Note>& notes,
                     const std::vector<ControlChange>& controls, const MidiWriteOptions& options) {
  write_midi_file(path, {MidiTrackData{"", notes, controls}}, options);
}

void write_midi_file(const std::filesystem::path& path, const std::vector<MidiTrackData>& tracks,
                     const MidiWriteOptions& options) {
  const auto bytes = encode_midi_tracks(tracks, options);
  write_file_atomically(path, [&](std::ostream& out) {
    put(out, bytes);
    return std::string();
  });
}

// ---- the spool ----

MidiSpool::MidiSpool(std::filesystem::path spool, std::string track_name, const MidiWriteOptions& options)
    : path_(std::move(spool)), name_(std::move(track_name)), ticks_per_s_(ticks_per_second(options)) {
  file_ = std::fopen(path_.c_str(), "wb");
  if (file_ == nullptr) throw std::runtime_error("cannot write " + path_.string() + ": " + std::strerror(errno));
}

MidiSpool::~MidiSpool() {
  std::fclose(file_);
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

bool MidiSpool::add(double time_s, std::span<const std::uint8_t> message) {
  if (message.empty() || message[0] < 0x80 || message[0] >= 0xF0) return true;
  const std::size_t size = (message[0] & 0xF0) == 0xC0 || (message[0] & 0xF0) == 0xD0 ? 2 : 3;
  if (message.size() != size) return true;
  for (std::size_t i = 1; i < size; ++i)
    if (message[i] >= 0x80) return true;
  // The delta fits one 4-byte quantity, as in encode_midi_tracks; the spool's cap keeps it there.
  const double ticks = std::isfinite(time_s) ? std::clamp(time_s * ticks_per_s_, 0.0, kMaxWriteTick) : 0.0;
  const std::uint64_t tick = std::max(last_tick_, static_cast<std::uint64_t>(std::llround(ticks)));
  const auto delta = static_cast<std::uint32_t>(tick - last_tick_);
  const std::size_t event = (delta < 0x80 ? 1 : delta < 0x4000 ? 2 : delta < 0x200000 ? 3 : 4) + size;
  if (buffer_.size() + event > kMaxBuffered || bytes_ + event + kEndOfTrack.size() > kMaxSpoolBytes) return false;
  append_vlq(buffer_, delta);
  buffer_.insert(buffer_.end(), message.begin(), message.begin() + static_cast<std::ptrdiff_t>(size));
  bytes_ += event;
  last_tick_ = tick;
  return true;
}

MidiSpool::Part MidiSpool::sync() {
  if (!buffer_.empty()) {
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size() || std::fflush(file_) != 0)
      throw std::runtime_error("cannot write " + path_.string() + ": " + std::strerror(errno));
    buffer_.clear();
  }
  return {path_, name_, bytes_};
}

void write_midi_file(const std::filesystem::path& path, const std::vector<MidiSpool::Part>& parts,
                     const MidiWriteOptions& options) {
  write_file_atomically(path, [&](std::ostream& out) {
    put(out, file_head(parts.size(), options));
    std::vector<char> buffer(64 * 1024);
    for (const auto& part : parts) {
      const auto name = track_name_event(part.name);
      std::vector<std::uint8_t> chunk_head{'M', 'T', 'r', 'k'};
      append_be(chunk_head, static_cast<std::uint32_t>(name.size() + part.bytes + kEndOfTrack.size()), 4);
      put(out, chunk_head);
      put(out, name);
      std::ifstream in(part.spool, std::ios::binary);
      for (std::uint64_t left = part.bytes; left > 0;) {
        const auto n = static_cast<std::streamsize>(std::min<std::uint64_t>(left, buffer.size()));
        if (!in.read(buffer.data(), n)) return "cannot read " + part.spool.string();
        out.write(buffer.data(), n);
        left -= static_cast<std::uint64_t>(n);
      }
      put(out, kEndOfTrack);
    }
    return std::string();
  });
}

}  // namespace scorejam
