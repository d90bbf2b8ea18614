// Session recording: every run of `scorejam run` writes what the player played and what scorejam
// played into a folder: session.mid (track "player", track "scorejam"), session.log (the settings
// at start, every OSC change and stage event, with times from the session's start) and
// session.trace (what `scorejam reproduce` needs to run the session again exactly:
// realtime/session_trace.h). The MIDI file is rewritten and the trace appended to every autosave
// and at the end, so a crash loses at most the last interval. player()/played()/trace() are called
// on the live engine's threads (never a real-time one), log() on any thread, flush() on the control
// thread; mutexes guard the buffers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "core/midi_file.h"
#include "realtime/timed_midi.h"

namespace scorejam {

// What the player played and what scorejam played, as they happen. Both message streams go to
// spool files as they come (core/midi_file.h's MidiSpool), so a take of any length costs no
// memory; write() makes a MIDI file of them (track "player", track "scorejam") and may be called
// again and again. Safe to add to from one thread while another writes the file.
class Take {
 public:
  // The spools are `folder`/.<stem>.player.spool and .<stem>.scorejam.spool, removed with the
  // take; times count from origin_ns. Throws std::runtime_error naming a spool it cannot make.
  Take(const std::filesystem::path& folder, const std::string& stem, std::int64_t origin_ns);
  void player(const TimedMidi& message) { add(player_, message); }
  void played(const TimedMidi& message) { add(played_, message); }
  // Throws std::runtime_error naming the file (or a spool) when it cannot be written.
  void write(const std::filesystem::path& midi_file);
  std::int64_t played_count() const;  // scorejam's messages so far
  std::int64_t dropped() const;       // refused: the spools full (a take of weeks) or not written

 private:
  void add(MidiSpool& spool, const TimedMidi& message);
  std::int64_t origin_ns_;
  mutable std::mutex mutex_;
  std::mutex write_mutex_;  // one write() at a time; add() waits only for the spools' sync
  MidiSpool player_, played_;
  std::int64_t played_count_ = 0;
  std::int64_t dropped_ = 0;
};

class SessionRecorder {
 public:
  // Creates `folder` (and its parents); throws std::runtime_error naming it when it cannot.
  SessionRecorder(const std::filesystem::path& folder, std::int64_t origin_ns);
  SessionRecorder(const SessionRecorder&) = delete;
  SessionRecorder& operator=(const SessionRecorder&) = delete;

  void player(const TimedMidi& message) { take_.player(message); }
  void played(const TimedMidi& message) { take_.played(message); }
  void log(const std::string& line);
  void trace(const std::string& line);  // buffered until the next flush()
  // Appends the trace and writes session.mid from everything so far; notes still sounding end at
  // the last event.
  void flush();

  const std::filesystem::path& folder() const { return folder_; }
  std::int64_t dropped() const { return take_.dropped(); }

 private:
  std::filesystem::path folder_;
  std::int64_t origin_ns_;
  Take take_;
  std::mutex log_mutex_;
  std::ofstream log_;
  std::mutex trace_mutex_;
  std::string trace_;  // lines not yet appended to session.trace
  std::ofstream trace_file_;
};

// Notes (paired first in, first out per channel and pitch) and control changes of a message
// stream, in seconds from origin_ns. Notes without their note-off end at the last message.
MidiTrackData messages_to_track(const std::vector<TimedMidi>& messages, std::int64_t origin_ns, std::string name);

// A folder name for a session starting now: YYYYmmdd-HHMMSS (local time).
std::string session_folder_name();

}  // namespace scorejam
