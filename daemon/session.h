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

// What the player played and what scorejam played, as they happened: both message streams,
// bounded, safe to add to from one thread while another reads the tracks.
class Take {
 public:
  void player(const TimedMidi& message) { add(player_, message); }
  void played(const TimedMidi& message) { add(played_, message); }
  // Both tracks ("player", "scorejam") as notes and pedal changes, in seconds from origin_ns.
  std::vector<MidiTrackData> tracks(std::int64_t origin_ns) const;
  std::size_t played_count() const;
  std::int64_t dropped() const;  // events beyond the cap (a very long session)

  static constexpr std::size_t kMaxEvents = 4'000'000;  // per track: about 64 MB, days of playing

 private:
  void add(std::vector<TimedMidi>& track, const TimedMidi& message);
  mutable std::mutex mutex_;
  std::vector<TimedMidi> player_, played_;
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
  // Writes session.mid from everything so far; notes still sounding end at the last event.
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
