// Standard MIDI File reader and writer, written by us because Debian's libsmf and portSMF are not
// safe on malformed input (see ../shared/FIELD-NOTES.md). Pure functions over bytes; no threads.
//
// Reading: formats 0 and 1 (format 2 is rejected), running status, meta and sysex events skipped by
// their lengths, tempo maps converted to seconds with a single rounding, SMPTE time division,
// note-on with velocity 0 as note-off, overlapping notes of one pitch paired first-in first-out,
// controller events (the sustain pedal among them) and channels kept.
// Bad input throws MidiFileError naming the file and the byte offset. Memory use is bounded by the
// input size: no declared length is trusted for an allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/notes.h"

namespace scorejam {

class MidiFileError : public std::runtime_error {
 public:
  MidiFileError(std::string source, std::size_t byte_offset, const std::string& what);
  const std::string& source() const { return source_; }
  std::size_t byte_offset() const { return byte_offset_; }

 private:
  std::string source_;
  std::size_t byte_offset_;
};

struct TempoChange {
  std::uint64_t tick = 0;
  double time_s = 0;
  std::uint32_t us_per_quarter = 500000;
};

struct MidiFile {
  int format = 1;                  // 0 or 1
  int track_count = 0;             // track chunks read
  int declared_track_count = 0;    // what the header promised (more than read is forgiven)
  int ticks_per_quarter = 0;       // 0 when the division is SMPTE
  int smpte_fps = 0;               // 24, 25, 29 (29.97 drop-frame) or 30; 0 when metrical
  int ticks_per_frame = 0;         // SMPTE subdivision
  std::vector<Note> notes;         // sorted (see sort_notes)
  std::vector<ControlChange> controls;  // sorted by time, all channels and controllers
  std::vector<TempoChange> tempo_map;   // sorted by tick; empty means 120 bpm throughout
  double duration_s = 0;           // time of the last event of any track
};

// Largest file read from disk; a performance of several hours is well under 10 MB.
inline constexpr std::uintmax_t kMaxMidiFileBytes = 64u << 20;

// `source` names the input in error messages (a path, or "zip:member").
MidiFile parse_midi(std::span<const std::uint8_t> bytes, const std::string& source);
MidiFile read_midi_file(const std::filesystem::path& path);

struct MidiWriteOptions {
  int ticks_per_quarter = 480;
  double bpm = 120;
};

// Writes format 1: track 0 holds the tempo, track 1 the notes and controllers. At one tick a
// note-off is written before a note-on, so a repeated pitch is re-struck, not cut.
std::vector<std::uint8_t> encode_midi(const std::vector<Note>& notes,
                                      const std::vector<ControlChange>& controls,
                                      const MidiWriteOptions& options = {});
void write_midi_file(const std::filesystem::path& path, const std::vector<Note>& notes,
                     const std::vector<ControlChange>& controls, const MidiWriteOptions& options = {});

// Several tracks after the tempo track, each with an optional name (meta event 03).
struct MidiTrackData {
  std::string name;
  std::vector<Note> notes;
  std::vector<ControlChange> controls;
};
std::vector<std::uint8_t> encode_midi_tracks(const std::vector<MidiTrackData>& tracks,
                                             const MidiWriteOptions& options = {});
void write_midi_file(const std::filesystem::path& path, const std::vector<MidiTrackData>& tracks,
                     const MidiWriteOptions& options = {});

// A recording written as it is played, so that however long it runs it is never held in memory:
// one track's channel messages go, with their delta times, to a spool file on disk, and
// write_midi_file(path, parts) joins the spools into a format-1 file through a fixed buffer.
// add() only buffers (no I/O); sync() appends the buffer to the spool. Not thread-safe.
class MidiSpool {
 public:
  // Creates (or empties) the spool file; throws std::runtime_error naming it when it cannot.
  MidiSpool(std::filesystem::path spool, std::string track_name, const MidiWriteOptions& options = {});
  MidiSpool(const MidiSpool&) = delete;
  MidiSpool& operator=(const MidiSpool&) = delete;
  ~MidiSpool();  // removes the spool file

  // A channel message (status 0x80..0xEF and its data bytes) at `time_s` from the recording's
  // start; a time before the previous message's counts as the previous one's. Other messages
  // (system, malformed) are skipped and return true. Returns false when the message is refused:
  // more than kMaxBuffered bytes wait for sync(), or the spool reached kMaxSpoolBytes.
  bool add(double time_s, std::span<const std::uint8_t> message);

  // What write_midi_file() needs of one track, as of one sync().
  struct Part {
    std::filesystem::path spool;
    std::string name;
    std::uint64_t bytes = 0;  // of the spool that belong to this part
  };
  // Appends the buffered events to the spool file; throws std::runtime_error naming it.
  Part sync();

  static constexpr std::size_t kMaxBuffered = 1u << 20;
  static constexpr std::uint64_t kMaxSpoolBytes = 1u << 30;  // a track chunk's length is 32 bits

 private:
  std::filesystem::path path_;
  std::string name_;
  double ticks_per_s_;
  std::uint64_t last_tick_ = 0;
  std::uint64_t bytes_ = 0;  // in the spool file and the buffer
  std::vector<std::uint8_t> buffer_;
  std::FILE* file_ = nullptr;
};

// Joins spooled tracks (after the tempo track) into a format-1 file, written beside `path` and
// renamed over it. `options` must be the spools' own. Notes still sounding end at the last event.
void write_midi_file(const std::filesystem::path& path, const std::vector<MidiSpool::Part>& parts,
                     const MidiWriteOptions& options = {});

}  // namespace scorejam
