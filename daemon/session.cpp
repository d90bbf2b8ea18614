#include "daemon/session.h"

#include "realtime/session_trace.h"

#include <array>
#include <ctime>
#include <deque>
#include <stdexcept>

namespace scorejam {

namespace fs = std::filesystem;

namespace {

const fs::path& make_folder(const fs::path& folder) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw std::runtime_error("session folder " + folder.string() + ": " + ec.message());
  return folder;
}

}  // namespace

SessionRecorder::SessionRecorder(const fs::path& folder, std::int64_t origin_ns)
    : folder_(make_folder(folder)), origin_ns_(origin_ns), take_(folder, "session", origin_ns) {
  log_.open(folder / "session.log", std::ios::app);
  if (!log_) throw std::runtime_error("session folder " + folder.string() + ": cannot write session.log");
  trace_file_.open(folder / "session.trace", std::ios::trunc);
  if (!trace_file_) throw std::runtime_error("session folder " + folder.string() + ": cannot write session.trace");
  trace_file_ << kTraceMagic << '\n' << format_trace(TraceSession{origin_ns}) << '\n';
  trace_file_.flush();
}

Take::Take(const fs::path& folder, const std::string& stem, std::int64_t origin_ns)
    : origin_ns_(origin_ns),
      player_(folder / ("." + stem + ".player.spool"), "player"),
      played_(folder / ("." + stem + ".scorejam.spool"), "scorejam") {}

void Take::add(MidiSpool& spool, const TimedMidi& message) {
  const double time_s = std::max(0.0, static_cast<double>(message.time_ns - origin_ns_) * 1e-9);
  std::lock_guard lock(mutex_);
  if (!spool.add(time_s, std::span<const std::uint8_t>(message.bytes, message.size))) {
    ++dropped_;
    return;
  }
  if (&spool == &played_) ++played_count_;
}

void Take::write(const fs::path& midi_file) {
  std::lock_guard writing(write_mutex_);
  std::vector<MidiSpool::Part> parts;
  {
    std::lock_guard lock(mutex_);
    parts = {player_.sync(), played_.sync()};
  }
  // The parts name the spools' lengths now: what add() buffers meanwhile waits for the next write.
  write_midi_file(midi_file, parts);
}

std::int64_t Take::played_count() const {
  std::lock_guard lock(mutex_);
  return played_count_;
}

std::int64_t Take::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

void SessionRecorder::log(const std::string& line) {
  std::lock_guard lock(log_mutex_);
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%10.3f ", static_cast<double>(now_ns() - origin_ns_) * 1e-9);
  log_ << stamp << line << '\n';
  log_.flush();
}

void SessionRecorder::trace(const std::string& line) {
  std::lock_guard lock(trace_mutex_);
  trace_ += line;
  trace_ += '\n';
}

void SessionRecorder::flush() {
  {
    std::string lines;
    {
      std::lock_guard lock(trace_mutex_);
      lines.swap(trace_);
    }
    trace_file_ << lines;
    trace_file_.flush();
    if (!trace_file_) throw std::runtime_error(folder_.string() + "/session.trace: cannot be written");
  }
  take_.write(folder_ / "session.mid");
}

MidiTrackData messages_to_track(const std::vector<TimedMidi>& messages, std::int64_t origin_ns, std::string name) {
  MidiTrackData track;
  track.name = std::move(name);
  auto seconds = [origin_ns](std::int64_t t) { return std::max(0.0, static_cast<double>(t - origin_ns) * 1e-9); };
  std::array<std::deque<Note>, 16 * 128> open;  // sounding notes per channel and pitch, oldest first
  double last_s = 0;
  for (const auto& m : messages) {
    const double t = seconds(m.time_ns);
    last_s = std::max(last_s, t);
    const int channel = channel_of(m);
    if (is_note_on(m)) {
      open[static_cast<std::size_t>(channel * 128 + m.bytes[1])].push_back({t, t, m.bytes[1], m.bytes[2], channel});
    } else if (is_note_off(m)) {
      auto& q = open[static_cast<std::size_t>(channel * 128 + m.bytes[1])];
      if (q.empty()) continue;
      Note n = q.front();
      q.pop_front();
      n.end_s = std::max(t, n.start_s);
      track.notes.push_back(n);
    } else if (m.size == 3 && (m.bytes[0] & 0xF0) == 0xB0) {
      track.controls.push_back({t, channel, m.bytes[1], m.bytes[2]});
    }
  }
  for (auto& q : open)
    for (auto n : q) {
      n.end_s = std::max(last_s, n.start_s);
      track.notes.push_back(n);
    }
  sort_notes(track.notes);
  return track;
}

std::string session_folder_name() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char name[32];
  std::strftime(name, sizeof name, "%Y%m%d-%H%M%S", &local);
  return name;
}

}  // namespace scorejam
