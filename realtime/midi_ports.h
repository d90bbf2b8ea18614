// MIDI in and out through RtMidi on ALSA or JACK: virtual ports that other software connects to, or
// named ports that scorejam connects to and reconnects by name after a hot-plug. No RtMidi type
// appears here (pimpl).
//
// Threads: constructors, poll(), connected(), port_name() and the counters run on the control
// thread. midi_input_callback runs on RtMidi's input thread (ALSA's reader or JACK's process
// thread) and MidiOutput::send on the scheduler thread: neither locks, allocates, logs or throws.
//
// Port names. ALSA: RtMidi lists "client:port client_id:port_id"; the ids change on hot-plug, so a
// configured name matches with or without them. JACK: RtMidi opens one JACK client per direction
// and JACK refuses two clients of the same name, so the output's client is `<client_name>-out`:
// the virtual ports are "scorejam:in" and "scorejam-out:out" on JACK, "scorejam:in" and
// "scorejam:out" on ALSA.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <concurrentqueue/concurrentqueue.h>

#include "realtime/midi_sink.h"
#include "realtime/timed_midi.h"

namespace scorejam {

enum class MidiApi { kAuto, kAlsa, kJack };

MidiApi midi_api_from_string(const std::string& name);  // auto, alsa, jack; throws std::invalid_argument naming it
std::string to_string(MidiApi api);

class MidiError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

// True when a client can connect to the JACK server named by $JACK_DEFAULT_SERVER (or the default
// one); never starts a server, prints nothing.
bool jack_server_running();

// `auto`: JACK when a JACK server is running, else ALSA when the sequencer device exists. An explicit
// request is checked the same way. Throws MidiError saying what is missing. `why` gets a one-line
// reason for the log. `alsa_sequencer` is there for tests.
MidiApi resolve_midi_api(MidiApi requested, std::string* why = nullptr,
                         const std::string& alsa_sequencer = "/dev/snd/seq");

struct MidiConfig {
  std::string api = "auto";
  std::string client_name = "scorejam";
  std::string input;            // port to connect to (exact name, else a unique substring); "" = a virtual port "in"
  std::string output;           // likewise; "" = a virtual port "out"
  int input_channel = 0;        // 0 = every channel, 1..16 = only that one
  int poll_ms = 500;            // how often the control thread calls poll()
};

// inputs: ports scorejam can read from (other programs' outputs); outputs: ports it can send to.
struct MidiPortList {
  std::vector<std::string> inputs, outputs;
};
MidiPortList list_midi_ports(MidiApi api);

// Which of `names` a configured port name means: the exact name, else the name without ALSA's
// trailing " client_id:port_id", else the one name that contains it. index -1 when none or several
// match, and `problem` says which.
struct MidiPortMatch {
  int index = -1;
  std::string name;
  std::string problem;
};
MidiPortMatch find_midi_port(const std::vector<std::string>& names, const std::string& wanted,
                             const std::string& direction);  // "input" or "output", for the message

// What poll() noticed; kNone also while a lost port is still away.
enum class PortEvent { kNone, kLost, kReconnected };
std::string to_string(PortEvent event);

// What the input callback shares with the control thread. The producer token is made on the
// control thread so that the callback's try_enqueue never allocates (an implicit producer would be
// allocated on the callback thread's first enqueue).
struct MidiInputState {
  MidiInputState(moodycamel::ConcurrentQueue<TimedMidi>& target, int channel)
      : queue(target), token(target), input_channel(channel) {}
  moodycamel::ConcurrentQueue<TimedMidi>& queue;
  moodycamel::ProducerToken token;        // used by one callback thread at a time
  int input_channel;                      // 0 = every channel, 1..16
  std::atomic<std::int64_t> received{0};  // channel messages that passed the filter
  std::atomic<std::int64_t> dropped{0};   // queue full
};

// RtMidi's input callback (its signature): stamps now_ns() first, keeps channel messages of the
// configured channel, enqueues them. `state` is a MidiInputState*.
void midi_input_callback(double delta_s, std::vector<unsigned char>* message, void* state) noexcept;

// Events go to `queue` from RtMidi's thread; `queue` must outlive this object. Throws MidiError
// when the client or port cannot be opened, or a named port is not there (the message lists what
// is), or a name matches more than one port.
class MidiInput {
 public:
  MidiInput(const MidiConfig& config, MidiApi api, moodycamel::ConcurrentQueue<TimedMidi>& queue);
  ~MidiInput();
  MidiInput(const MidiInput&) = delete;
  MidiInput& operator=(const MidiInput&) = delete;

  bool connected() const;
  // The port connected to (named), or scorejam's own port (virtual).
  std::string port_name() const;
  // Call every poll_ms: notices a named port gone or back and reconnects it by name. On JACK it
  // also notices the server going away (a watch client's shutdown callback): kLost, and once a
  // server runs again the client and its port, virtual or named, are made anew: kReconnected.
  PortEvent poll();
  std::string last_error() const;  // why the last reconnection failed; "" when it did not
  std::int64_t received() const;
  std::int64_t dropped() const;    // queue full
  std::int64_t errors() const;     // RtMidi errors reported on its own thread

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// While a named port is lost, send() drops (and counts) messages. Closing and reopening the port
// on the control thread never overlaps a send into RtMidi (see SendState in the .cpp), and send()
// never waits and never takes a lock. One thread sends at a time.
//
// On JACK, send() hands the message to a sender thread of its own through a lock-free ring:
// RtMidi's JACK send waits (spinning) for the server's process cycle when its buffer is full, and
// a stalled server (a hung driver) would otherwise hold the scheduler thread. poll() reports a
// send held 250 ms as kLost ("the JACK server is stalled"); send() then drops until the server
// goes on (kReconnected), and what was queued meanwhile is dropped, not played late.
class MidiOutput : public MidiSink {
 public:
  MidiOutput(const MidiConfig& config, MidiApi api);
  ~MidiOutput() override;
  MidiOutput(const MidiOutput&) = delete;
  MidiOutput& operator=(const MidiOutput&) = delete;

  void send(const std::uint8_t* bytes, std::size_t size) noexcept override;

  bool connected() const;
  std::string port_name() const;
  PortEvent poll();                // as MidiInput::poll; sending drops while the server is away or stalled
  // The JACK sender thread's SCHED_FIFO priority (give it the scheduler's); false when refused.
  bool set_realtime_priority(int priority);
  std::string last_error() const;
  std::int64_t sent() const;
  std::int64_t dropped() const;    // sent while the port was lost or the server stalled
  std::int64_t errors() const;     // RtMidi errors reported on the scheduler thread

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace scorejam
