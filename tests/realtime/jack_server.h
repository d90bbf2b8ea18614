// A real JACK server for one test: `jackd -n <unique name> --no-realtime -d dummy -r 48000 -p 128`,
// started on construction and stopped (SIGTERM, then reaped) on destruction, or when the test
// process dies. It points this process's JACK clients at it (JACK_DEFAULT_SERVER) and forbids them
// to start servers of their own (JACK_NO_START_SERVER), so two test processes never share or race
// for a server. jackd's output goes to a log file in a fresh temporary folder; failures name it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

class RtMidiOut;

namespace scorejam::testing {

// A test's own JACK MIDI output (a keyboard, a player), closed as scorejam closes its own: RtMidi 5
// frees an output's buffer before it closes the client, so a process cycle under way can read
// freed memory (realtime/midi_ports.cpp, close_jack_output). The port closes first, then 20 ms.
struct ClosePlayer {
  void operator()(RtMidiOut* player) const;
};
using Player = std::unique_ptr<RtMidiOut, ClosePlayer>;

class JackServer {
 public:
  // Fails the current test (ADD_FAILURE) when jackd is not on PATH or does not come up in 10 s;
  // check ok() before using it.
  JackServer();
  ~JackServer();
  JackServer(const JackServer&) = delete;
  JackServer& operator=(const JackServer&) = delete;

  bool ok() const { return ok_; }
  // Stops the server (SIGTERM, reaped), as when jackd dies on stage; start() brings a server of the
  // same name back (its output appended to the same log). Both fail the test when they cannot.
  void stop();
  void start();
  // Stalls the server (SIGSTOP), as a hung audio driver would: no client's process callback runs,
  // so nothing drains their MIDI buffers. A child process of its own sends SIGCONT after `length`,
  // so that the server goes on even when this test process crashes meanwhile.
  void stall_for(std::chrono::milliseconds length);
  void wait_until_resumed();  // waits for that child (the server has had its SIGCONT)
  const std::string& name() const { return name_; }
  const std::string& log_path() const { return log_path_; }
  std::string log() const;  // jackd's output so far
  // XRun reports in jackd's output so far. A non-real-time client that misses its cycle on a
  // loaded machine loses that cycle's MIDI, and jackd says so.
  int xruns() const;

 private:
  std::string name_;
  std::string folder_;
  std::string log_path_;
  std::string jackd_;
  pid_t pid_ = -1;
  pid_t resumer_ = -1;
  bool ok_ = false;
};

// Sets JACK_DEFAULT_SERVER to a name no server has (and JACK_NO_START_SERVER=1): for tests of
// what happens without JACK.
std::string point_jack_at_no_server();

}  // namespace scorejam::testing
