// MIDI ports through RtMidi (ALSA or JACK): opening, port lists, loss and reconnection by name.
// Threads: everything here runs on the control thread except midi_input_callback (RtMidi's input
// thread), MidiOutput::send (the scheduler thread) and, on JACK, the output's sender thread
// (JackSender), which never lock, allocate, log or throw; the sender waits on its semaphore only.
#include "realtime/midi_ports.h"

#include <jack/jack.h>
#include <pthread.h>
#include <rtmidi/RtMidi.h>
#include <semaphore.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace scorejam {
namespace {

RtMidi::Api to_rtmidi(MidiApi api) { return api == MidiApi::kJack ? RtMidi::UNIX_JACK : RtMidi::LINUX_ALSA; }

std::string jack_server_name() {
  const char* name = std::getenv("JACK_DEFAULT_SERVER");
  return name != nullptr && *name != '\0' ? name : "default";
}

std::string join(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "'" : ", '") + name + "'";
  return out;
}

// ALSA names end in " client_id:port_id", which change on hot-plug.
std::string without_alsa_ids(const std::string& name) {
  const auto space = name.rfind(' ');
  if (space == std::string::npos) return name;
  const std::string ids = name.substr(space + 1);
  const auto colon = ids.find(':');
  const auto digits = [](const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
  };
  if (colon == std::string::npos || !digits(ids.substr(0, colon)) || !digits(ids.substr(colon + 1))) return name;
  return name.substr(0, space);
}

}  // namespace

MidiPortMatch find_midi_port(const std::vector<std::string>& names, const std::string& wanted,
                             const std::string& direction) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == wanted) return {static_cast<int>(i), names[i], ""};
  for (std::size_t i = 0; i < names.size(); ++i)
    if (without_alsa_ids(names[i]) == wanted) return {static_cast<int>(i), names[i], ""};
  std::vector<std::size_t> hits;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i].find(wanted) != std::string::npos) hits.push_back(i);
  if (hits.size() == 1) return {static_cast<int>(hits[0]), names[hits[0]], ""};
  MidiPortMatch none;
  if (hits.empty()) {
    none.problem = "MIDI " + direction + " '" + wanted + "' is not there; the ports are " + join(names);
  } else {
    std::vector<std::string> matching;
    for (auto i : hits) matching.push_back(names[i]);
    none.problem = "MIDI " + direction + " '" + wanted + "' matches more than one port: " + join(matching);
  }
  return none;
}

namespace {

std::vector<std::string> port_names(RtMidi& midi) {
  std::vector<std::string> names;
  const unsigned count = midi.getPortCount();
  for (unsigned i = 0; i < count; ++i) names.push_back(midi.getPortName(i));
  return names;
}

// RtMidi reports errors through this callback once one is set (without it, warnings go to stderr
// and errors throw). Messages raised by a control-thread call are kept for that call to turn into a
// MidiError or last_error(); those raised on RtMidi's or the scheduler's thread are only counted.
struct RtMidiErrors {
  std::atomic<std::thread::id> control_thread{};
  std::vector<std::string> messages;  // control thread only
  std::atomic<std::int64_t> elsewhere{0};
};

void on_rtmidi_error(RtMidiError::Type type, const std::string& text, void* user) {
  auto& errors = *static_cast<RtMidiErrors*>(user);
  if (type == RtMidiError::DEBUG_WARNING) return;
  if (std::this_thread::get_id() == errors.control_thread.load())
    errors.messages.push_back(text);
  else
    errors.elsewhere.fetch_add(1, std::memory_order_relaxed);
}

// Marks a stretch of control-thread calls into RtMidi, collecting their messages.
class ControlCall {
 public:
  explicit ControlCall(RtMidiErrors& errors) : errors_(errors) {
    errors_.messages.clear();
    errors_.control_thread.store(std::this_thread::get_id());
  }
  ~ControlCall() { errors_.control_thread.store(std::thread::id{}); }
  ControlCall(const ControlCall&) = delete;
  ControlCall& operator=(const ControlCall&) = delete;

  std::string text() const {
    std::string out;
    for (const auto& message : errors_.messages) out += (out.empty() ? "" : "; ") + message;
    return out;
  }
  bool failed(const RtMidi& midi) const { return !errors_.messages.empty() || !midi.isPortOpen(); }

 private:
  RtMidiErrors& errors_;
};

template <typename Midi>
std::unique_ptr<Midi> make_client(MidiApi api, const std::string& client_name, RtMidiErrors& errors) {
  std::unique_ptr<Midi> midi;
  try {
    midi = std::make_unique<Midi>(to_rtmidi(api), client_name);
  } catch (const RtMidiError& e) {
    throw MidiError("cannot open the " + to_string(api) + " MIDI client '" + client_name + "': " + e.getMessage());
  }
  midi->setErrorCallback(&on_rtmidi_error, &errors);
  return midi;
}

// JACK refuses two clients of one name and RtMidi opens one per direction.
std::string output_client_name(const MidiConfig& config, MidiApi api) {
  return api == MidiApi::kJack ? config.client_name + "-out" : config.client_name;
}

void silent_jack_message(const char*) {}
void jack_message_to_stderr(const char* message) { std::fprintf(stderr, "%s\n", message); }

// A JACK client whose server went away is abandoned, not closed: RtMidi's destructor unregisters
// its port, and libjack crashes doing that once a new server has started (seen: SIGSEGV in
// jack_port_unregister). What stays behind is a few kilobytes per server death, kept reachable
// from here so that LeakSanitizer (which reports only what nothing points to) sees it is kept on
// purpose. Called on the control thread, never the real-time one.
template <class T>
void abandon(std::unique_ptr<T>& client) {
  static std::mutex mutex;
  static auto* const kept = new std::vector<void*>;
  if (!client) return;
  std::lock_guard lock(mutex);
  kept->push_back(client.release());
}

// RtMidi 5's JACK output frees its ring buffer before it closes its client, so a process cycle that
// began just before the port closed can read freed memory: `realtime_tests` crashed in 6 of 120
// runs of one test (jack_ringbuffer_peek in RtMidi's process callback). Closing the port first and
// letting a few cycles pass before the destructor frees the buffer closes that window. `cycle`:
// the server's period, when known. Control thread only (it sleeps).
void close_jack_output(std::unique_ptr<RtMidiOut>& out, std::chrono::nanoseconds cycle) {
  if (!out) return;
  out->closePort();  // from the next cycle on, RtMidi's callback returns before touching the buffer
  std::this_thread::sleep_for(std::clamp(4 * cycle, std::chrono::nanoseconds(std::chrono::milliseconds(20)),
                                         std::chrono::nanoseconds(std::chrono::milliseconds(200))));
  out.reset();
}

// A JACK client of our own that only listens for the server going away. RtMidi registers no
// shutdown callback, so its clients are never told; once the server is gone every call on them
// fails, and a server that comes back does not bring their ports back. jack_on_shutdown runs on
// libjack's thread: it only sets a flag, which poll() reads on the control thread.
class JackWatch {
 public:
  explicit JackWatch(const std::string& name) {
    jack_status_t status{};
    client_ = jack_client_open(name.c_str(), JackNoStartServer, &status);
    if (client_ != nullptr) jack_on_shutdown(client_, &JackWatch::on_shutdown, this);
  }
  ~JackWatch() {
    if (client_ != nullptr) jack_client_close(client_);
  }
  JackWatch(const JackWatch&) = delete;
  JackWatch& operator=(const JackWatch&) = delete;
  bool lost() const { return client_ == nullptr || lost_.load(); }
  // The server's process cycle (period / sample rate); zero when there is no server.
  std::chrono::nanoseconds cycle() const {
    if (lost()) return {};
    const jack_nframes_t rate = jack_get_sample_rate(client_);
    return rate == 0 ? std::chrono::nanoseconds{}
                     : std::chrono::nanoseconds(std::int64_t{jack_get_buffer_size(client_)} * 1'000'000'000 / rate);
  }
  // Whether `port` (another client's) is connected to a port of `our_client`: a port that left and
  // came back between two polls has its old name but not our connection.
  bool connected(const std::string& port, const std::string& our_client) const {
    if (lost()) return false;
    jack_port_t* target = jack_port_by_name(client_, port.c_str());
    if (target == nullptr) return false;
    const char** connections = jack_port_get_all_connections(client_, target);
    bool ours = false;
    for (const char** c = connections; c != nullptr && *c != nullptr; ++c)
      ours = ours || std::string(*c).rfind(our_client + ":", 0) == 0;
    if (connections != nullptr) jack_free(connections);
    return ours;
  }

 private:
  static void on_shutdown(void* self) { static_cast<JackWatch*>(self)->lost_.store(true); }
  jack_client_t* client_ = nullptr;
  std::atomic<bool> lost_{false};
};

}  // namespace

MidiApi midi_api_from_string(const std::string& name) {
  if (name == "auto") return MidiApi::kAuto;
  if (name == "alsa") return MidiApi::kAlsa;
  if (name == "jack") return MidiApi::kJack;
  throw std::invalid_argument("unknown MIDI api '" + name + "' (expected auto, alsa or jack)");
}

std::string to_string(MidiApi api) {
  switch (api) {
    case MidiApi::kAuto: return "auto";
    case MidiApi::kAlsa: return "alsa";
    case MidiApi::kJack: return "jack";
  }
  return "unknown";
}

std::string to_string(PortEvent event) {
  switch (event) {
    case PortEvent::kNone: return "none";
    case PortEvent::kLost: return "lost";
    case PortEvent::kReconnected: return "reconnected";
  }
  return "unknown";
}

bool jack_server_running() {
  // libjack prints "Cannot connect to server socket ..." when there is none: that is the answer
  // here, not an error.
  jack_set_error_function(&silent_jack_message);
  jack_set_info_function(&silent_jack_message);
  jack_client_t* client = nullptr;
  for (int attempt = 0; attempt < 3 && client == nullptr; ++attempt) {
    jack_status_t status{};
    client = jack_client_open("scorejam-probe", JackNoStartServer, &status);
    if (client != nullptr || (status & JackServerFailed) != 0) break;  // there, or no server at all
    // A server that is there refused the client: jackd 1.9.21 sometimes fails to add a client
    // just after another left ("NotifyAddClient ... fails" in its log; seen in CI). Ask again.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (client != nullptr) jack_client_close(client);
  jack_set_error_function(&jack_message_to_stderr);
  jack_set_info_function(&jack_message_to_stderr);
  return client != nullptr;
}

MidiApi resolve_midi_api(MidiApi requested, std::string* why, const std::string& alsa_sequencer) {
  const std::string server = jack_server_name();
  const auto jack_up = [&] { return jack_server_running(); };
  struct stat info {};
  const bool alsa_exists = ::stat(alsa_sequencer.c_str(), &info) == 0;
  const bool alsa_usable = alsa_exists && ::access(alsa_sequencer.c_str(), R_OK | W_OK) == 0;
  const std::string alsa_state =
      !alsa_exists ? "the ALSA sequencer " + alsa_sequencer + " is not there (is the snd-seq module loaded?)"
      : !alsa_usable ? "the ALSA sequencer " + alsa_sequencer + " is not readable and writable by this user (audio group?)"
                     : "the ALSA sequencer " + alsa_sequencer + " is there";
  const auto say = [&](std::string text) {
    if (why != nullptr) *why = std::move(text);
  };
  switch (requested) {
    case MidiApi::kJack:
      if (!jack_up()) throw MidiError("MIDI api 'jack': no JACK server '" + server + "' is running");
      say("MIDI on jack (asked for): JACK server '" + server + "' is running");
      return MidiApi::kJack;
    case MidiApi::kAlsa:
      if (!alsa_usable) throw MidiError("MIDI api 'alsa': " + alsa_state);
      say("MIDI on alsa (asked for): " + alsa_state);
      return MidiApi::kAlsa;
    case MidiApi::kAuto:
      break;
  }
  if (jack_up()) {
    say("MIDI api auto picked jack: JACK server '" + server + "' is running");
    return MidiApi::kJack;
  }
  if (alsa_usable) {
    say("MIDI api auto picked alsa: no JACK server '" + server + "' is running and " + alsa_state);
    return MidiApi::kAlsa;
  }
  throw MidiError("MIDI api 'auto' found neither JACK nor ALSA: no JACK server '" + server + "' is running and " +
                  alsa_state);
}

MidiPortList list_midi_ports(MidiApi api) {
  api = resolve_midi_api(api);  // an explicit choice too: RtMidi would only print a warning
  RtMidiErrors errors;
  MidiPortList list;
  {
    auto in = make_client<RtMidiIn>(api, "scorejam-ports", errors);
    ControlCall call(errors);
    list.inputs = port_names(*in);
    if (!errors.messages.empty()) throw MidiError("cannot list the " + to_string(api) + " MIDI ports: " + call.text());
  }
  auto out = make_client<RtMidiOut>(api, "scorejam-ports", errors);
  ControlCall call(errors);
  list.outputs = port_names(*out);
  if (!errors.messages.empty()) throw MidiError("cannot list the " + to_string(api) + " MIDI ports: " + call.text());
  return list;
}

// ---------------------------------------------------------------------------------------------
// Input

void midi_input_callback(double /*delta_s*/, std::vector<unsigned char>* message, void* user) noexcept {
  const std::int64_t time_ns = now_ns();
  auto& state = *static_cast<MidiInputState*>(user);
  if (message == nullptr) return;
  const std::size_t size = message->size();
  if (size == 0) return;
  const std::uint8_t status = (*message)[0];
  if (status < 0x80 || status >= 0xF0) return;  // only channel messages
  const std::uint8_t kind = status & 0xF0;
  const std::size_t expected = (kind == 0xC0 || kind == 0xD0) ? 2 : 3;
  if (size != expected) return;
  if (state.input_channel != 0 && (status & 0x0F) != state.input_channel - 1) return;
  TimedMidi event;
  event.time_ns = time_ns;
  for (std::size_t i = 0; i < size; ++i) event.bytes[i] = (*message)[i];
  event.size = static_cast<std::uint8_t>(size);
  state.received.fetch_add(1, std::memory_order_relaxed);
  if (!state.queue.try_enqueue(state.token, event)) state.dropped.fetch_add(1, std::memory_order_relaxed);
}

struct MidiInput::Impl {
  Impl(const MidiConfig& settings, MidiApi midi_api, moodycamel::ConcurrentQueue<TimedMidi>& queue)
      : config(settings), api(midi_api), state(queue, settings.input_channel) {}

  // The client, its callback and its port; on JACK the watch first, so that a server lost right
  // after is noticed. A named port that is not there throws only when `require_port`; else it is
  // left lost for poll() to find.
  void set_up(bool require_port) {
    if (api == MidiApi::kJack) watch = std::make_unique<JackWatch>(config.client_name + "-watch-in");
    in = make_client<RtMidiIn>(api, config.client_name, errors);
    {
      ControlCall call(errors);
      in->setCallback(&midi_input_callback, &state);
      in->ignoreTypes(true, true, true);  // sysex, clock, active sensing
      if (!errors.messages.empty()) throw MidiError("cannot set up the MIDI input: " + call.text());
    }
    if (config.input.empty()) {
      ControlCall call(errors);
      in->openVirtualPort("in");
      if (!errors.messages.empty())
        throw MidiError("cannot create the " + to_string(api) + " MIDI input port '" + config.client_name + ":in': " + call.text());
      port_name = config.client_name + ":in";
      connected = true;
      return;
    }
    MidiPortMatch match;
    {
      ControlCall call(errors);
      match = find_midi_port(port_names(*in), config.input, "input");
    }
    if (match.index < 0) {
      if (require_port) throw MidiError(match.problem);
      last_error = match.problem;
      return;
    }
    if (!open(match) && require_port) throw MidiError(last_error);
  }

  bool open(const MidiPortMatch& match) {
    ControlCall call(errors);
    in->openPort(static_cast<unsigned>(match.index), "in");
    if (call.failed(*in)) {
      last_error = "cannot connect MIDI input to '" + match.name + "': " + call.text();
      if (in->isPortOpen()) in->closePort();
      return false;
    }
    port_name = match.name;
    connected = true;
    last_error.clear();
    return true;
  }

  MidiConfig config;
  MidiApi api;
  // Declared before `in`: RtMidi stops calling back (and reporting) before these go.
  MidiInputState state;
  RtMidiErrors errors;
  std::unique_ptr<JackWatch> watch;  // JACK only
  std::unique_ptr<RtMidiIn> in;
  bool server_lost = false;          // JACK: the server went away; `in` and `watch` are gone
  bool connected = false;
  std::string port_name;
  std::string last_error;
};

MidiInput::MidiInput(const MidiConfig& config, MidiApi api, moodycamel::ConcurrentQueue<TimedMidi>& queue) {
  if (config.input_channel < 0 || config.input_channel > 16)
    throw MidiError("MIDI input_channel " + std::to_string(config.input_channel) + " is outside 0..16 (0 = every channel)");
  api = resolve_midi_api(api);
  impl_ = std::make_unique<Impl>(config, api, queue);
  impl_->set_up(true);
}

MidiInput::~MidiInput() {
  if (impl_ && impl_->watch && impl_->watch->lost()) {
    abandon(impl_->in);
    abandon(impl_->watch);
  }
}

bool MidiInput::connected() const { return impl_->connected; }
std::string MidiInput::port_name() const { return impl_->port_name; }
std::string MidiInput::last_error() const { return impl_->last_error; }
std::int64_t MidiInput::received() const { return impl_->state.received.load(std::memory_order_relaxed); }
std::int64_t MidiInput::dropped() const { return impl_->state.dropped.load(std::memory_order_relaxed); }
std::int64_t MidiInput::errors() const { return impl_->errors.elsewhere.load(std::memory_order_relaxed); }

PortEvent MidiInput::poll() {
  Impl& s = *impl_;
  if (s.watch && s.watch->lost()) {
    // The JACK server went away: RtMidi's client is dead. Abandon it, and wait for a server.
    abandon(s.in);
    abandon(s.watch);
    s.server_lost = true;
    s.connected = false;
    s.last_error = "the JACK server went away";
    return PortEvent::kLost;
  }
  if (s.server_lost) {
    if (!jack_server_running()) return PortEvent::kNone;
    try {
      s.set_up(false);
    } catch (const MidiError& e) {
      s.last_error = e.what();
      s.in.reset();
      s.watch.reset();
      return PortEvent::kNone;
    }
    s.server_lost = false;
    return s.connected ? PortEvent::kReconnected : PortEvent::kNone;
  }
  if (s.config.input.empty()) return PortEvent::kNone;
  std::vector<std::string> names;
  {
    ControlCall call(s.errors);
    names = port_names(*s.in);
  }
  if (s.connected) {
    // The full name: on ALSA a replugged device comes back under new ids and needs a new connection.
    // On JACK, one that came back between two polls has its name but not our connection.
    const bool there = std::find(names.begin(), names.end(), s.port_name) != names.end();
    if (there && (!s.watch || s.watch->connected(s.port_name, s.config.client_name))) return PortEvent::kNone;
    ControlCall call(s.errors);
    s.in->closePort();
    s.connected = false;
    return PortEvent::kLost;
  }
  const MidiPortMatch match = find_midi_port(names, s.config.input, "input");
  if (match.index < 0) {
    s.last_error = match.problem;
    return PortEvent::kNone;
  }
  return s.open(match) ? PortEvent::kReconnected : PortEvent::kNone;
}

// ---------------------------------------------------------------------------------------------
// Output

namespace {

// A stalled server: a send inside RtMidi this long. A cycle is 1-20 ms; a loaded test machine
// has been seen to hold one for tens of milliseconds.
constexpr std::int64_t kStallNs = 250'000'000;

// What a send needs, shared with the JACK sender thread (below) so that a sender stuck for good
// in a stalled server can be left behind without a dangling pointer.
//
// Closing and reopening the port on the control thread never overlaps a send into RtMidi:
// stop_sending() clears `enabled` and waits until no send is inside RtMidi (`in_send`); a send
// sets `in_send` before it reads `enabled` (seq_cst on both sides, Dekker style), so the sending
// thread never waits and never takes a lock.
struct SendState {
  std::atomic<RtMidiOut*> out{nullptr};  // changed on the control thread only while !enabled
  std::atomic<bool> enabled{false};
  std::atomic<bool> in_send{false};
  std::atomic<std::int64_t> inside_since_ns{0};  // when the send now inside RtMidi began; 0: none is
  std::atomic<std::int64_t> sent{0}, dropped{0}, failed{0};

  void send(const std::uint8_t* bytes, std::size_t size) noexcept {
    in_send.store(true);
    if (!enabled.load()) {
      in_send.store(false);
      dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    inside_since_ns.store(now_ns());
    try {
      out.load(std::memory_order_relaxed)->sendMessage(bytes, size);
      sent.fetch_add(1, std::memory_order_relaxed);
    } catch (...) {
      failed.fetch_add(1, std::memory_order_relaxed);
    }
    inside_since_ns.store(0);
    in_send.store(false);
  }
  // How long the send now inside RtMidi has been there; 0 when none is.
  std::int64_t stuck_ns() const noexcept {
    const std::int64_t since = inside_since_ns.load();
    return since > 0 ? now_ns() - since : 0;
  }
};

// JACK only. RtMidi 5's JACK send spins (sched_yield) until its ring buffer has room, and only the
// server's process cycle makes room: a stalled server (a hung driver, a stopped jackd) would hold
// whichever thread sends, and with it the scheduler and every note-off behind it. So on JACK,
// send() only puts the message in this lock-free single-producer, single-consumer ring and posts
// a semaphore (no lock, no allocation); the sender thread, at the scheduler's priority, hands it to
// RtMidi. A sender stuck in RtMidi only fills the ring, and send() drops what does not fit.
class JackSender {
 public:
  explicit JackSender(std::shared_ptr<SendState> send) : state_(std::make_shared<State>()) {
    state_->send = std::move(send);
    sem_init(&state_->wake, 0, 0);
    thread_ = std::thread(&JackSender::run, state_);
    pthread_setname_np(thread_.native_handle(), "scorejam-out");
  }
  JackSender(const JackSender&) = delete;
  JackSender& operator=(const JackSender&) = delete;
  // Joins the thread; a thread stuck inside RtMidi is detached and keeps its state to itself.
  ~JackSender() {
    state_->quit.store(true);
    sem_post(&state_->wake);
    if (state_->send->stuck_ns() > 0) {
      thread_.detach();
    } else {
      thread_.join();
      sem_destroy(&state_->wake);
    }
  }

  // The producer (one thread at a time). False when the ring is full.
  bool push(const std::uint8_t* bytes, std::size_t size) noexcept {
    State& s = *state_;
    const std::uint64_t head = s.head.load(std::memory_order_relaxed);
    if (head - s.tail.load(std::memory_order_acquire) >= kSlots) return false;
    Slot& slot = s.slots[head % kSlots];
    slot.size = static_cast<std::uint8_t>(std::min<std::size_t>(size, slot.bytes.size()));
    std::copy_n(bytes, slot.size, slot.bytes.begin());
    s.head.store(head + 1, std::memory_order_release);
    sem_post(&s.wake);
    return true;
  }
  // Control thread: what was queued until now is dropped unsent (counted), not played late.
  void discard_queued() noexcept {
    state_->discard_before.store(state_->head.load(std::memory_order_acquire));
    sem_post(&state_->wake);
  }
  // SCHED_FIFO at `priority`; 0: back to normal scheduling.
  bool set_priority(int priority) {
    sched_param param{};
    param.sched_priority = priority;
    return pthread_setschedparam(thread_.native_handle(), priority > 0 ? SCHED_FIFO : SCHED_OTHER, &param) == 0;
  }

  static constexpr std::size_t kSlots = 1024;

 private:
  struct Slot {
    std::array<std::uint8_t, 3> bytes{};
    std::uint8_t size = 0;
  };
  struct State {
    std::shared_ptr<SendState> send;
    std::array<Slot, kSlots> slots{};
    alignas(64) std::atomic<std::uint64_t> head{0};  // the next slot to fill (producer)
    alignas(64) std::atomic<std::uint64_t> tail{0};  // the next slot to send (sender)
    std::atomic<std::uint64_t> discard_before{0};
    std::atomic<bool> quit{false};
    sem_t wake{};
  };

  // The sender thread: waits on the semaphore (its only wait), then sends all that is queued.
  // After a send that waited for a stalled server, what was queued meanwhile is stale: dropped.
  static void run(std::shared_ptr<State> state) noexcept {
    State& s = *state;
    while (!s.quit.load()) {
      while (sem_wait(&s.wake) != 0) {
      }
      for (std::uint64_t tail = s.tail.load(std::memory_order_relaxed);
           tail != s.head.load(std::memory_order_acquire) && !s.quit.load(); ++tail) {
        const Slot slot = s.slots[tail % kSlots];
        s.tail.store(tail + 1, std::memory_order_release);
        if (tail < s.discard_before.load()) {
          s.send->dropped.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        const std::int64_t began = now_ns();
        s.send->send(slot.bytes.data(), slot.size);
        if (now_ns() - began > kStallNs) s.discard_before.store(s.head.load(std::memory_order_acquire));
      }
    }
  }

  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace

struct MidiOutput::Impl {
  Impl(const MidiConfig& settings, MidiApi midi_api) : config(settings), api(midi_api) {}

  // As MidiInput's: the watch, the client (and a lister for a named port), the port.
  void set_up(bool require_port) {
    const std::string client = output_client_name(config, api);
    if (api == MidiApi::kJack) {
      watch = std::make_unique<JackWatch>(config.client_name + "-watch-out");
      if (!sender) {
        sender = std::make_unique<JackSender>(state);
        if (priority > 0) sender->set_priority(priority);
      }
    }
    out = make_client<RtMidiOut>(api, client, errors);
    state->out.store(out.get());
    if (config.output.empty()) {
      ControlCall call(errors);
      out->openVirtualPort("out");
      if (!errors.messages.empty())
        throw MidiError("cannot create the " + to_string(api) + " MIDI output port '" + client + ":out': " + call.text());
      port_name = client + ":out";
      connected = true;
      state->enabled.store(true);
      return;
    }
    lister = make_client<RtMidiOut>(api, config.client_name + "-list", errors);
    MidiPortMatch match;
    {
      ControlCall call(errors);
      match = find_midi_port(port_names(*lister), config.output, "output");
    }
    if (match.index < 0) {
      if (require_port) throw MidiError(match.problem);
      last_error = match.problem;
      return;
    }
    if (!open(match) && require_port) throw MidiError(last_error);
  }

  // Control thread: after this, no send is inside RtMidi until `enabled` is set again. False when
  // one stays inside RtMidi (a stalled server): then the client must be abandoned, not touched.
  bool stop_sending() {
    state->enabled.store(false);
    const auto deadline = now_ns() + kStallNs;
    while (state->in_send.load()) {
      if (now_ns() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  }

  // Destroys the RtMidi client; on JACK, the port closes first (close_jack_output).
  void close_out() {
    if (api == MidiApi::kJack) close_jack_output(out, watch ? watch->cycle() : std::chrono::nanoseconds{});
    out.reset();
  }

  // After a send stuck in a server that went away: the sender and its send state stay with the
  // stuck thread (the client is abandoned by the caller); this output starts afresh.
  void abandon_stuck_sender() {
    sent_before += state->sent.load();
    dropped_before += state->dropped.load();
    failed_before += state->failed.load();
    sender.reset();  // detaches the stuck thread
    state = std::make_shared<SendState>();
  }

  bool open(const MidiPortMatch& match) {
    ControlCall call(errors);
    out->openPort(static_cast<unsigned>(match.index), "out");
    if (call.failed(*out)) {
      last_error = "cannot connect MIDI output to '" + match.name + "': " + call.text();
      if (out->isPortOpen()) out->closePort();
      return false;
    }
    port_name = match.name;
    connected = true;
    last_error.clear();
    state->enabled.store(true);
    return true;
  }

  MidiConfig config;
  MidiApi api;
  RtMidiErrors errors;
  std::shared_ptr<SendState> state = std::make_shared<SendState>();
  std::int64_t sent_before = 0, dropped_before = 0, failed_before = 0;  // of abandoned send states
  std::unique_ptr<JackWatch> watch;    // JACK only
  std::unique_ptr<JackSender> sender;  // JACK only
  std::unique_ptr<RtMidiOut> out;
  std::unique_ptr<RtMidiOut> lister;   // named port only: lists ports while `out` sends
  bool server_lost = false;            // JACK: the server went away; the clients are gone
  bool stalled = false;                // JACK: a send has been inside RtMidi for kStallNs
  std::atomic<bool> refusing{false};   // while stalled: send() drops
  std::atomic<std::int64_t> refused{0};
  int priority = 0;
  bool connected = false;
  std::string port_name;
  std::string last_error;
};

MidiOutput::MidiOutput(const MidiConfig& config, MidiApi api) {
  api = resolve_midi_api(api);
  impl_ = std::make_unique<Impl>(config, api);
  impl_->set_up(true);
}

MidiOutput::~MidiOutput() {
  if (!impl_) return;
  Impl& s = *impl_;
  if (!s.stop_sending() || s.stalled || (s.watch && s.watch->lost())) {
    // A server that went away or is stalled: closing a client would crash or wait on it.
    abandon(s.out);
    abandon(s.lister);
    abandon(s.watch);
  }
  s.sender.reset();
  s.close_out();
}

void MidiOutput::send(const std::uint8_t* bytes, std::size_t size) noexcept {
  Impl& s = *impl_;
  if (!s.sender) {
    s.state->send(bytes, size);
    return;
  }
  // A lost port or a stalled server refuses at once; the sender checks `enabled` again.
  if (s.refusing.load(std::memory_order_relaxed) || !s.state->enabled.load() || !s.sender->push(bytes, size))
    s.refused.fetch_add(1, std::memory_order_relaxed);
}

bool MidiOutput::set_realtime_priority(int priority) {
  impl_->priority = priority;
  return !impl_->sender || impl_->sender->set_priority(priority);
}

bool MidiOutput::connected() const { return impl_->connected; }
std::string MidiOutput::port_name() const { return impl_->port_name; }
std::string MidiOutput::last_error() const { return impl_->last_error; }
std::int64_t MidiOutput::sent() const { return impl_->sent_before + impl_->state->sent.load(std::memory_order_relaxed); }
std::int64_t MidiOutput::dropped() const {
  return impl_->dropped_before + impl_->state->dropped.load(std::memory_order_relaxed) +
         impl_->refused.load(std::memory_order_relaxed);
}
std::int64_t MidiOutput::errors() const {
  return impl_->failed_before + impl_->state->failed.load(std::memory_order_relaxed) +
         impl_->errors.elsewhere.load(std::memory_order_relaxed);
}

PortEvent MidiOutput::poll() {
  Impl& s = *impl_;
  if (s.watch && s.watch->lost()) {
    // The JACK server went away: no send may touch the dead client from here on.
    if (!s.stop_sending()) s.abandon_stuck_sender();
    abandon(s.out);
    abandon(s.lister);
    abandon(s.watch);
    s.stalled = false;
    s.refusing.store(false);
    s.server_lost = true;
    s.connected = false;
    s.last_error = "the JACK server went away";
    return PortEvent::kLost;
  }
  if (s.sender && s.connected) {
    // A stalled server (no process cycle) holds the sender inside RtMidi: refuse until it goes on.
    const std::int64_t stuck = s.state->stuck_ns();
    if (stuck > kStallNs && !s.stalled) {
      s.stalled = true;
      s.refusing.store(true);
      // RtMidi spins (sched_yield) while it waits: at real-time priority that would take a core.
      if (s.priority > 0) s.sender->set_priority(0);
      s.last_error = "the JACK server is stalled: a MIDI send has waited " + std::to_string(stuck / 1'000'000) +
                     " ms for its process cycle";
      return PortEvent::kLost;
    }
    if (s.stalled) {
      if (stuck > 0) return PortEvent::kNone;
      s.sender->discard_queued();  // queued before the stall was known: stale
      if (s.priority > 0) s.sender->set_priority(s.priority);
      s.stalled = false;
      s.refusing.store(false);
      s.last_error.clear();
      return PortEvent::kReconnected;
    }
  }
  if (s.server_lost) {
    if (!jack_server_running()) return PortEvent::kNone;
    try {
      s.set_up(false);
    } catch (const MidiError& e) {
      s.last_error = e.what();
      s.stop_sending();
      s.close_out();
      s.lister.reset();
      s.watch.reset();
      return PortEvent::kNone;
    }
    s.server_lost = false;
    return s.connected ? PortEvent::kReconnected : PortEvent::kNone;
  }
  if (s.config.output.empty()) return PortEvent::kNone;
  std::vector<std::string> names;
  {
    ControlCall call(s.errors);
    names = port_names(*s.lister);
  }
  if (s.connected) {
    const bool there = std::find(names.begin(), names.end(), s.port_name) != names.end();
    if (there && (!s.watch || s.watch->connected(s.port_name, output_client_name(s.config, s.api)))) return PortEvent::kNone;
    if (!s.stop_sending()) {  // a send stuck inside RtMidi: the next poll finds the stall
      s.state->enabled.store(true);
      return PortEvent::kNone;
    }
    ControlCall call(s.errors);
    s.out->closePort();
    s.connected = false;
    return PortEvent::kLost;
  }
  const MidiPortMatch match = find_midi_port(names, s.config.output, "output");
  if (match.index < 0) {
    s.last_error = match.problem;
    return PortEvent::kNone;
  }
  return s.open(match) ? PortEvent::kReconnected : PortEvent::kNone;
}

}  // namespace scorejam
