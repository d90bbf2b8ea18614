// The daemon's MIDI system, opened when it is there and waited for when it is not. On a stage box
// scorejam is often started before JACK (systemd, a session manager): then it runs anyway, OSC up
// and the model warm, says once what it waits for and how to start it, and makes its ports as soon
// as a JACK server or the ALSA sequencer appears. Once open, the ports' own poll() handles a lost
// and returning server or port, as before.
//
// Threads: the constructor, poll(), state() and the counters run on the control thread. send()
// runs on the scheduler thread: one atomic load, then MidiOutput::send (no lock, no allocation, no
// I/O beyond it); before the ports exist it drops the message and counts it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <concurrentqueue/concurrentqueue.h>

#include "realtime/midi_ports.h"

namespace scorejam {

class MidiConnection : public MidiSink {
 public:
  // Tries to open the ports at once; when it cannot (no JACK server, no ALSA sequencer, a named
  // port not there yet), it waits, and poll() tries again. `input` must outlive this object.
  MidiConnection(const MidiConfig& config, moodycamel::ConcurrentQueue<TimedMidi>& input,
                 std::string alsa_sequencer = "/dev/snd/seq");
  ~MidiConnection() override;
  MidiConnection(const MidiConnection&) = delete;
  MidiConnection& operator=(const MidiConnection&) = delete;

  void send(const std::uint8_t* bytes, std::size_t size) noexcept override;

  // What poll() noticed, as lines for the log. `silence` is true when every sounding note must end
  // (a port lost, or one back: a fresh connection gets the all-notes-off sequence too).
  struct Poll {
    std::vector<std::string> lines;
    bool silence = false;
  };
  // Call every poll_ms on the control thread: while waiting, tries to open the ports; once open,
  // polls them for a lost or returning port or server.
  Poll poll();

  bool open() const { return output_ != nullptr; }
  // One line for the status: "jack: in scorejam:in, out scorejam-out:out", or "waiting: <why>".
  std::string state() const;
  // Why the ports are not open yet ("" once they are), and how to start what is missing.
  const std::string& waiting_for() const { return waiting_; }
  // The JACK sender thread's priority, applied now or when the ports open; false when refused.
  bool set_realtime_priority(int priority);
  std::int64_t dropped_while_waiting() const { return dropped_.load(std::memory_order_relaxed); }
  MidiOutput* output() { return output_.get(); }
  MidiInput* input() { return input_.get(); }

 private:
  bool try_open(std::vector<std::string>& lines);

  MidiConfig config_;
  moodycamel::ConcurrentQueue<TimedMidi>& queue_;
  std::string alsa_sequencer_;
  std::unique_ptr<MidiOutput> output_;
  std::unique_ptr<MidiInput> input_;
  std::atomic<MidiOutput*> sink_{nullptr};  // what send() forwards to; set once, when the ports open
  std::atomic<std::int64_t> dropped_{0};
  std::string waiting_;
  std::string api_;
  int priority_ = -1;  // -1: none asked for
};

}  // namespace scorejam
