#include "daemon/live_run.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <thread>
#include <tuple>

#include "core/midi_file.h"
#include "daemon/commands.h"
#include "daemon/osc_server.h"
#include "daemon/session.h"
#include "realtime/live_engine.h"
#include "realtime/midi_connection.h"
#include "realtime/midi_ports.h"
#include "realtime/replay.h"
#include "realtime/reproduce.h"
#include "realtime/scheduler.h"

namespace scorejam {

namespace fs = std::filesystem;

namespace {

// Where the scheduler sends in replay: the messages are taken from pop_sent() for the recording.
class NullSink final : public MidiSink {
 public:
  void send(const std::uint8_t*, std::size_t) noexcept override {}
};

// systemd's notify protocol (sd_notify without libsystemd): one datagram to $NOTIFY_SOCKET.
void notify_systemd(const char* state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::size_t length = std::min(std::strlen(path), sizeof address.sun_path - 1);
  std::memcpy(address.sun_path, path, length);
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';  // abstract namespace
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  ::sendto(fd, state, std::strlen(state), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&address),
           static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length));
  ::close(fd);
}

std::string describe_changes(const LiveSettings& a, const LiveSettings& b) {
  std::string out;
  auto add = [&out](const std::string& key, const std::string& from, const std::string& to) {
    if (from != to) out += (out.empty() ? "" : ", ") + key + " " + from + " -> " + to;
  };
  auto num = [](double v) {
    char s[32];
    std::snprintf(s, sizeof s, "%g", v);
    return std::string(s);
  };
  add("mode", to_string(a.mode), to_string(b.mode));
  add("sampler", to_string(a.sampler.kind), to_string(b.sampler.kind));
  add("steps", num(a.sampler.steps), num(b.sampler.steps));
  add("snr", num(a.sampler.snr), num(b.sampler.snr));
  add("corrector_steps", num(a.sampler.corrector_steps), num(b.sampler.corrector_steps));
  add("temperature", num(a.sampler.temperature), num(b.sampler.temperature));
  add("guidance", num(a.sampler.guidance), num(b.sampler.guidance));
  add("guidance_t_min", num(a.sampler.guidance_t_min), num(b.sampler.guidance_t_min));
  add("seed", num(static_cast<double>(a.sampler.seed)), num(static_cast<double>(b.sampler.seed)));
  add("onset_threshold", num(a.thresholds.onset), num(b.thresholds.onset));
  add("frame_threshold", num(a.thresholds.frame), num(b.thresholds.frame));
  add("pause_ms", num(a.pause_ms), num(b.pause_ms));
  add("answer_seconds", num(a.answer_seconds), num(b.answer_seconds));
  return out;
}

// The live controls as OSC (and SIGHUP) reach them: every change is also one line in the log and
// in the session log, so a session can be replayed from its seed, inputs and changes.
class LoggedControl final : public LiveControl {
 public:
  LoggedControl(LiveControl& inner, SessionRecorder* recorder, std::function<std::string()> midi_state)
      : inner_(inner), recorder_(recorder), midi_state_(std::move(midi_state)) {}
  void start() override {
    inner_.start();
    note("start");
  }
  void stop() override {
    inner_.stop();
    note("stop");
  }
  void panic() override {
    inner_.panic();
    note("panic: every note ended");
  }
  LiveSettings settings() const override { return inner_.settings(); }
  void apply(const LiveSettings& settings) override {
    const auto before = inner_.settings();
    inner_.apply(settings);
    const auto changes = describe_changes(before, settings);
    if (!changes.empty()) note("set " + changes);
  }
  void load_checkpoint(const std::string& file_name) override {
    inner_.load_checkpoint(file_name);
    note("loaded model " + file_name);
  }
  LiveStatus status() const override {
    auto s = inner_.status();
    s.midi = midi_state_();
    return s;
  }
  void request_surprise() override { inner_.request_surprise(); }

 private:
  void note(const std::string& line) {
    spdlog::info("{}", line);
    if (recorder_) recorder_->log(line);
  }
  LiveControl& inner_;
  SessionRecorder* recorder_;
  std::function<std::string()> midi_state_;
};

// From here on the process exits (0) after `grace` even if what is left (`what`) still waits.
void exit_if_not_done_within(std::chrono::seconds grace, const std::string& what) {
  std::thread([grace, line = "[error] " + what + " took more than " + std::to_string(grace.count()) +
                             " s (a stalled JACK server?): exiting without waiting for it\n"] {
    std::this_thread::sleep_for(grace);
    [[maybe_unused]] const auto written = ::write(STDERR_FILENO, line.data(), line.size());
    std::_Exit(0);
  }).detach();
}

void print_summary(const LiveStatus& s) {
  std::printf(
      "scorejam run: %lld answers, first note after the pause p50 %.0f ms p95 %.0f ms; %lld windows "
      "(%lld late), window p50 %.0f ms max %.0f ms; %lld MIDI events sent, lateness p50 %.0f us p99 %.0f us max %.0f us; "
      "RSS %.0f MiB\n",
      static_cast<long long>(s.answers), s.first_note_ms_p50, s.first_note_ms_p95, static_cast<long long>(s.windows),
      static_cast<long long>(s.windows_late), s.window_ms_p50, s.window_ms_max, static_cast<long long>(s.events_sent),
      s.lateness_us_p50, s.lateness_us_p99, s.lateness_us_max, s.rss_mib);
}

}  // namespace

int run_ports(const Config& config) {
  std::string why;
  const auto api = resolve_midi_api(midi_api_from_string(config.midi.api), &why);
  const auto ports = list_midi_ports(api);
  std::printf("MIDI system: %s (%s)\n", to_string(api).c_str(), why.c_str());
  std::printf("inputs scorejam can listen to (midi.input):\n");
  for (const auto& p : ports.inputs) std::printf("  %s\n", p.c_str());
  if (ports.inputs.empty()) std::printf("  (none)\n");
  std::printf("outputs scorejam can play to (midi.output):\n");
  for (const auto& p : ports.outputs) std::printf("  %s\n", p.c_str());
  if (ports.outputs.empty()) std::printf("  (none)\n");
  return 0;
}

int run_live(const RunCommand& command, const Config& config) {
  if (command.help_osc) {
    std::fputs(osc_help().c_str(), stdout);
    return 0;
  }
  auto engine_config = config.live.engine;
  engine_config.model_dir = resolve_model_path(engine_config.model_dir).string();
  const auto checkpoint = fs::path(engine_config.model_dir) / config.live.checkpoint;
  const bool replay = !command.replay.empty();
  MidiFile replay_file;
  if (replay) replay_file = read_midi_file(command.replay);

  moodycamel::ConcurrentQueue<TimedMidi> input(4096);
  std::unique_ptr<MidiConnection> midi;  // none when replaying
  NullSink null_sink;
  if (!replay) {
    // With no MIDI system yet (JACK not started), the daemon runs anyway and waits for one.
    midi = std::make_unique<MidiConnection>(config.midi, input);
    if (midi->open()) {
      spdlog::info("MIDI: {}", midi->state());
    } else {
      spdlog::warn("MIDI: {}", midi->waiting_for());
    }
  }
  Scheduler scheduler(replay ? static_cast<MidiSink&>(null_sink) : *midi, config.scheduler);
  scheduler.start();
  const auto sched_stats = scheduler.stats();
  if (config.scheduler.realtime_priority && !sched_stats.realtime_priority)
    spdlog::warn("scheduler: real-time priority (SCHED_FIFO) refused; running at normal priority "
                 "(give the service LimitRTPRIO=95, see examples/scorejam.service)");
  else if (sched_stats.realtime_priority)
    spdlog::info("scheduler: SCHED_FIFO priority {}{}", config.scheduler.priority,
                 sched_stats.memory_locked ? ", buffers locked in memory" : "");
  // On JACK the output's sender thread is the scheduler's last step: the same priority.
  if (midi && sched_stats.realtime_priority && !midi->set_realtime_priority(config.scheduler.priority))
    spdlog::warn("MIDI out: real-time priority for the JACK sender thread refused");

  const auto origin = now_ns();
  std::unique_ptr<SessionRecorder> recorder;
  if (!config.session.dir.empty()) {
    // A recording that cannot be made must not cost the performance: say so, and play on.
    try {
      recorder = std::make_unique<SessionRecorder>(fs::path(config.session.dir) / session_folder_name(), origin);
      recorder->log("scorejam run: model " + checkpoint.string() + (replay ? ", replaying " + command.replay : ""));
      recorder->log("config:\n" + to_toml(config));
    } catch (const std::exception& e) {
      spdlog::error("session: {}; playing on without recording the session", e.what());
      recorder.reset();
    }
  }
  std::optional<Take> record;  // for --record: spooled beside the file it will become
  if (!command.record.empty()) {
    const fs::path target = fs::absolute(command.record);
    record.emplace(target.parent_path(), target.filename().string(), origin);
  }

  boost::asio::io_context io;
  std::unique_ptr<OscServer> osc;
  LiveListener listener;
  listener.player = [&](const TimedMidi& m) {
    if (recorder) recorder->player(m);
    if (record) record->player(m);
  };
  listener.played = [&](const TimedMidi& m) {
    if (recorder) recorder->played(m);
    if (record) record->played(m);
    if (osc && (is_note_on(m) || is_note_off(m))) {
      const int pitch = m.bytes[1], velocity = is_note_on(m) ? m.bytes[2] : 0;
      boost::asio::post(io, [&osc, pitch, velocity] {
        if (osc) osc->publish_note(pitch, velocity);
      });
    }
  };
  listener.event = [&](const std::string& line) {
    spdlog::info("{}", line);
    if (recorder) recorder->log(line);
  };
  if (recorder) listener.trace = [&](const std::string& line) { recorder->trace(line); };
  listener.surprise = [&](const SurpriseReport& r) {
    const auto line = fmt::format("surprise: {:.2f} bits per note ({} notes in the last {:g} s; {:.3f} bits per dimension), "
                                  "{} network evaluations in {:.0f} ms",
                                  r.bits_per_note, r.notes, r.seconds, r.bits_per_dim, r.nfe, r.wall_ms);
    spdlog::info("{}", line);
    if (recorder) recorder->log(line);
    boost::asio::post(io, [&osc, message = surprise_message(r)] {
      if (osc) osc->publish(message);
    });
  };

  LiveEngine engine(engine_config, checkpoint.string(), scheduler, input, listener);
  const double ms_per_nfe = engine.warm_up() * 1e3;
  {
    const auto s = engine.status();
    spdlog::info("model {} on {}: warm, {:.1f} ms per network evaluation; {} with {} steps", s.checkpoint, s.device,
                 ms_per_nfe, to_string(s.settings.sampler.kind), s.settings.sampler.steps);
  }
  LoggedControl control(engine, recorder.get(), [&midi, replay] {
    return replay ? std::string("replay: no MIDI ports") : midi->state();
  });
  if (config.osc.enabled) {
    osc = std::make_unique<OscServer>(io, config.osc, control);
  }

  // Signals: SIGINT/SIGTERM stop cleanly, SIGHUP rereads the config file.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                            int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      notify_systemd("RELOADING=1");
      if (command.config_path.empty()) {
        spdlog::warn("SIGHUP: no config file was given (--config), nothing to reload");
      } else {
        try {
          const auto fresh = load_config(command.config_path);
          control.apply(fresh.live.engine.settings);
          spdlog::info("SIGHUP: {} reloaded; live settings applied ([midi], [osc], [scheduler] apply at restart)",
                       command.config_path);
        } catch (const std::exception& e) {
          spdlog::error("SIGHUP: {} not applied: {}", command.config_path, e.what());
        }
      }
      notify_systemd("READY=1");
      signals.async_wait(on_signal);
      return;
    }
    spdlog::info("{}: stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
    io.stop();
  };
  signals.async_wait(on_signal);

  // Every poll_ms: named MIDI ports lost or back; the replay's end.
  std::atomic<bool> replay_done{false};
  boost::asio::steady_timer poll_timer(io);
  std::function<void(const boost::system::error_code&)> on_poll = [&](const boost::system::error_code& ec) {
    if (ec) return;
    if (midi) {
      const auto polled = midi->poll();
      for (const auto& line : polled.lines) listener.event(line);
      if (polled.silence) engine.panic();  // a fresh connection gets the all-notes-off sequence too
    }
    if (replay_done && !engine.answering()) {
      spdlog::info("replay: the file has been played and answered");
      io.stop();
      return;
    }
    poll_timer.expires_after(std::chrono::milliseconds(config.midi.poll_ms));
    poll_timer.async_wait(on_poll);
  };
  poll_timer.expires_after(std::chrono::milliseconds(config.midi.poll_ms));
  poll_timer.async_wait(on_poll);

  boost::asio::steady_timer autosave(io);
  std::function<void(const boost::system::error_code&)> on_autosave = [&](const boost::system::error_code& ec) {
    if (ec || !recorder) return;
    try {
      recorder->flush();
    } catch (const std::exception& e) {
      spdlog::error("session: {}", e.what());
    }
    autosave.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(config.session.autosave_s * 1e3)));
    autosave.async_wait(on_autosave);
  };
  if (recorder) {
    autosave.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(config.session.autosave_s * 1e3)));
    autosave.async_wait(on_autosave);
  }

  boost::asio::steady_timer deadline(io);
  if (command.seconds > 0) {
    deadline.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(command.seconds * 1e3)));
    deadline.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) io.stop();
    });
  }

  if (config.live.autostart) control.start();
  std::atomic<bool> quit_feed{false};
  std::thread feeder;
  if (replay) {
    // The replayed file goes through the same queue a keyboard's messages go through.
    const auto messages = replay_messages(replay_file, command.replay_start_s, command.replay_seconds, now_ns() + 200'000'000);
    spdlog::info("replay: {} messages from {}", messages.size(), command.replay);
    feeder = std::thread([&, messages] {
      moodycamel::ProducerToken token(input);
      for (const auto& m : messages) {
        while (!quit_feed && now_ns() < m.time_ns) std::this_thread::sleep_for(std::chrono::microseconds(500));
        if (quit_feed) return;
        input.try_enqueue(token, m);
      }
      // Let the last phrase's pause be detected before asking whether the answer is over.
      std::this_thread::sleep_for(std::chrono::milliseconds(control.settings().pause_ms + 300));
      replay_done = true;
    });
  }
  notify_systemd("READY=1");
  io.run();

  // Stop: every sounding note ends (ledger note-offs, CC 64 = 0, CC 123, CC 120), then ports close.
  quit_feed = true;
  if (feeder.joinable()) feeder.join();
  control.stop();
  if (!scheduler.wait_silent(std::chrono::milliseconds(1000)))
    spdlog::error("scheduler: the final silence was not confirmed within 1 s");
  notify_systemd("STOPPING=1");
  const auto status = engine.status();
  scheduler.stop();
  osc.reset();
  if (recorder) {
    recorder->flush();
    spdlog::info("session recorded in {}", recorder->folder().string());
  }
  if (record) {
    record->write(command.record);
    spdlog::info("recorded {} and scorejam's {} messages in {}", replay ? "the replay" : "the player",
                 record->played_count(), command.record);
  }
  print_summary(status);
  // Everything is saved and every note has been ended; what is left is closing the MIDI clients,
  // and on JACK that asks the server, which a stalled one (a hung driver) never answers.
  exit_if_not_done_within(std::chrono::seconds(5), "closing the MIDI ports");
  return 0;
}

int run_reproduce(const ReproduceCommand& command) {
  fs::path trace = command.session;
  if (fs::is_directory(trace)) trace /= "session.trace";
  const auto started = now_ns();
  const auto r = reproduce_session(trace, command.models);
  const double seconds = static_cast<double>(now_ns() - started) * 1e-9;
  for (const auto& d : r.differences) std::printf("differs: %s\n", d.c_str());
  std::printf("reproduce: %zu of %zu hops identical; %zu notes (the session planned %zu); %d torch threads on %s, %.1f s\n",
              r.identical, r.hops, r.notes, r.notes_recorded, r.threads, r.device.c_str(), seconds);
  if (!command.out.empty()) {
    std::vector<TimedMidi> played;
    for (const auto& n : r.planned) {
      played.push_back(note_on(n.on_ns, 0, n.pitch, n.velocity));
      played.push_back(note_off(n.off_ns, 0, n.pitch));
    }
    std::stable_sort(played.begin(), played.end(), [](const TimedMidi& a, const TimedMidi& b) { return a.time_ns < b.time_ns; });
    write_midi_file(command.out, {messages_to_track(r.player, r.origin_ns, "player"),
                                  messages_to_track(played, r.origin_ns, "scorejam")});
    std::printf("reproduce: the take is in %s\n", command.out.c_str());
  }
  return r.identical == r.hops ? 0 : 1;
}

}  // namespace scorejam
