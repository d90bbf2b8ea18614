// MIDI ports against a real JACK server started by each test, with test clients made of plain
// RtMidi JACK objects playing the keyboard and the synth.
//
// Two JACK facts shape these tests. A new connection becomes live at the start of a cycle, so what
// is sent in the cycle before it is lost: tests first wait until probes come through. And on a
// loaded machine a non-real-time client that misses its cycle loses that cycle's MIDI (an xrun,
// which jackd logs): a delivery that came out wrong is tried again only when jackd logged an xrun.
#include "realtime/midi_ports.h"

#include <rtmidi/RtMidi.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "realtime/midi_connection.h"
#include "tests/realtime/jack_server.h"
#include "tests/realtime/rt_guard.h"

namespace scorejam {
namespace {

using std::chrono::milliseconds;
using Queue = moodycamel::ConcurrentQueue<TimedMidi>;
using Bytes = std::vector<unsigned char>;
using Clock = std::chrono::steady_clock;

constexpr auto kWait = std::chrono::seconds(3);

const Bytes kNoteOn = {0x90, 60, 100};
const Bytes kPedalDown = {0xB0, 64, 127};
const Bytes kNoteOff = {0x80, 60, 0};
const Bytes kPedalUp = {0xB0, 64, 0};

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

unsigned index_of(RtMidi& midi, const std::string& name) {
  for (unsigned i = 0; i < midi.getPortCount(); ++i)
    if (midi.getPortName(i) == name) return i;
  ADD_FAILURE() << "no JACK port '" << name << "'";
  return 0;
}

Bytes bytes_of(const TimedMidi& event) { return Bytes(event.bytes, event.bytes + event.size); }

std::vector<Bytes> bytes_of(const std::vector<TimedMidi>& events) {
  std::vector<Bytes> out;
  for (const auto& event : events) out.push_back(bytes_of(event));
  return out;
}

// Takes up to `count` events from the queue, waiting up to `timeout` for them.
std::vector<TimedMidi> take(Queue& queue, std::size_t count, Clock::duration timeout = kWait) {
  std::vector<TimedMidi> events;
  const auto deadline = Clock::now() + timeout;
  TimedMidi event;
  while (events.size() < count && Clock::now() < deadline) {
    if (queue.try_dequeue(event))
      events.push_back(event);
    else
      std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return events;
}

void drain(Queue& queue) {
  std::this_thread::sleep_for(milliseconds(20));
  TimedMidi event;
  while (queue.try_dequeue(event)) {
  }
}

// A test client playing into scorejam: JACK client `client` with port "out", either virtual or
// connected to `target`.
testing::Player make_player(const std::string& client, const std::string& target = "") {
  testing::Player player(new RtMidiOut(RtMidi::UNIX_JACK, client));
  if (target.empty())
    player->openVirtualPort("out");
  else
    player->openPort(index_of(*player, target), "out");
  return player;
}

void play(RtMidiOut& player, const Bytes& message) { player.sendMessage(message.data(), message.size()); }

// Probes (CC 102 on `status`'s channel, a new value each time) until the latest one arrives;
// everything before it is discarded.
void wait_until_flowing(RtMidiOut& player, Queue& queue, unsigned char status = 0xB0) {
  const auto deadline = Clock::now() + kWait;
  for (unsigned char value = 0; Clock::now() < deadline; value = (value + 1) & 0x7F) {
    const Bytes probe = {status, 102, value};
    play(player, probe);
    const auto probe_deadline = Clock::now() + milliseconds(50);
    TimedMidi event;
    while (Clock::now() < probe_deadline) {
      if (!queue.try_dequeue(event)) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      } else if (bytes_of(event) == probe) {
        return;
      }
    }
  }
  FAIL() << "nothing came through the JACK connection";
}

// A test client that scorejam plays into: records every message it receives.
class Listener {
 public:
  // JACK client `client` with port "in", either virtual or connected to `source`.
  explicit Listener(const std::string& client, const std::string& source = "") : in_(RtMidi::UNIX_JACK, client) {
    in_.setCallback(&Listener::on_message, this);
    if (source.empty())
      in_.openVirtualPort("in");
    else
      in_.openPort(index_of(in_, source), "in");
  }

  std::vector<Bytes> wait_for(std::size_t count, Clock::duration timeout = kWait) {
    std::unique_lock lock(mutex_);
    arrived_.wait_for(lock, timeout, [&] { return messages_.size() >= count; });
    return messages_;
  }

  std::vector<Bytes> take_all() {
    std::lock_guard lock(mutex_);
    return std::exchange(messages_, {});
  }

  // As wait_until_flowing above, from scorejam's output; returns what arrived, probes included.
  std::vector<Bytes> wait_until_flowing(MidiOutput& output) {
    const auto deadline = Clock::now() + kWait;
    for (unsigned char value = 0; Clock::now() < deadline; value = (value + 1) & 0x7F) {
      const Bytes probe = {0xB0, 102, value};
      output.send(probe.data(), probe.size());
      std::unique_lock lock(mutex_);
      if (arrived_.wait_for(lock, milliseconds(50), [&] { return !messages_.empty() && messages_.back() == probe; }))
        return std::exchange(messages_, {});
    }
    ADD_FAILURE() << "nothing came through the JACK connection";
    return take_all();
  }

 private:
  static void on_message(double, Bytes* message, void* user) {
    auto& self = *static_cast<Listener*>(user);
    {
      std::lock_guard lock(self.mutex_);
      self.messages_.push_back(*message);
    }
    self.arrived_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<Bytes> messages_;
  RtMidiIn in_;  // last: stops calling back before the rest goes
};

// Calls poll() until it reports something, up to kWait.
template <typename Port>
PortEvent poll_until_event(Port& port) {
  const auto deadline = Clock::now() + kWait;
  while (Clock::now() < deadline) {
    const PortEvent event = port.poll();
    if (event != PortEvent::kNone) return event;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return PortEvent::kNone;
}

class MidiPortsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(jack_.ok()) << "no JACK server; log: " << jack_.log_path(); }

  // Runs `attempt` (send, then collect what arrived); again, up to three times, while the result
  // differs from `expected` and jackd logged an xrun during the attempt. `reset` clears what a
  // failed attempt left behind. Returns the last result.
  template <typename T>
  T deliver(const std::function<T()>& attempt, const T& expected, const std::function<void()>& reset) {
    T result;
    for (int tries = 0; tries < 3; ++tries) {
      const int xruns_before = jack_.xruns();
      result = attempt();
      if (result == expected || jack_.xruns() == xruns_before) break;
      std::cout << "jackd logged an xrun during the delivery: trying again\n";
      reset();
    }
    return result;
  }

  testing::JackServer jack_;  // first: outlives every client
  MidiConfig config_;
  Queue queue_{1024};
};

// ---------------------------------------------------------------------------------------------
// Choosing the API

TEST(MidiApiNames, RoundTrip) {
  for (auto api : {MidiApi::kAuto, MidiApi::kAlsa, MidiApi::kJack}) EXPECT_EQ(midi_api_from_string(to_string(api)), api);
}

TEST(MidiApiNames, UnknownNameIsAnErrorThatNamesIt) {
  try {
    midi_api_from_string("coremidi");
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'coremidi'"), std::string::npos) << e.what();
  }
}

TEST_F(MidiPortsTest, AutoPicksJackWhenAServerIsRunning) {
  std::string why;
  EXPECT_EQ(resolve_midi_api(MidiApi::kAuto, &why), MidiApi::kJack);
  EXPECT_NE(why.find("picked jack"), std::string::npos) << why;
  EXPECT_NE(why.find(jack_.name()), std::string::npos) << why;
}

TEST(MidiApiResolve, AutoWithNeitherJackNorAlsaSaysBothAreMissing) {
  const std::string server = testing::point_jack_at_no_server();
  try {
    resolve_midi_api(MidiApi::kAuto, nullptr, "/nonexistent/snd/seq");
    FAIL() << "expected a MidiError";
  } catch (const MidiError& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find("no JACK server '" + server + "'"), std::string::npos) << text;
    EXPECT_NE(text.find("ALSA sequencer /nonexistent/snd/seq is not there"), std::string::npos) << text;
  }
}

TEST(MidiApiResolve, JackAskedForWithoutAServerIsAnError) {
  testing::point_jack_at_no_server();
  EXPECT_THROW(resolve_midi_api(MidiApi::kJack), MidiError);
}

TEST(MidiApiResolve, AlsaAskedForWithoutTheSequencerIsAnError) {
  try {
    resolve_midi_api(MidiApi::kAlsa, nullptr, "/nonexistent/snd/seq");
    FAIL() << "expected a MidiError";
  } catch (const MidiError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/snd/seq is not there"), std::string::npos) << e.what();
  }
}

TEST(MidiApiResolve, InputOnJackWithoutAServerSaysSo) {
  const std::string server = testing::point_jack_at_no_server();
  Queue queue(64);
  try {
    MidiInput input(MidiConfig{}, MidiApi::kJack, queue);
    FAIL() << "expected a MidiError";
  } catch (const MidiError& e) {
    EXPECT_NE(std::string(e.what()).find("no JACK server '" + server + "' is running"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// Matching a configured port name

TEST(FindMidiPort, MatchesAnAlsaPortAfterReplugUnderNewIds) {
  const std::vector<std::string> names = {"Midi Through:Midi Through Port-0 14:0",
                                          "Keystation 49:Keystation 49 MIDI 1 28:0"};
  const auto match = find_midi_port(names, "Keystation 49:Keystation 49 MIDI 1", "input");
  EXPECT_EQ(match.index, 1);
  EXPECT_EQ(match.name, "Keystation 49:Keystation 49 MIDI 1 28:0");
}

TEST(FindMidiPort, PrefersAnExactNameToASubstring) {
  const std::vector<std::string> names = {"synth:in-2", "synth:in"};
  EXPECT_EQ(find_midi_port(names, "synth:in", "output").index, 1);
}

TEST(FindMidiPort, AmbiguousSubstringNamesTheCandidates) {
  const auto match = find_midi_port({"a:midi 20:0", "b:midi 24:0"}, "midi", "input");
  EXPECT_EQ(match.index, -1);
  EXPECT_NE(match.problem.find("'a:midi 20:0', 'b:midi 24:0'"), std::string::npos) << match.problem;
}

// ---------------------------------------------------------------------------------------------
// The input callback, called directly

TEST(MidiInputCallback, KeepsChannelMessagesAndIgnoresSystemMessages) {
  Queue queue(64);
  MidiInputState state(queue, 0);
  for (Bytes message : {Bytes{0xF8}, Bytes{0xFE}, Bytes{0xF0, 0x7E, 0x01, 0xF7}, Bytes{0xC3, 5}, Bytes{0xE0, 0, 64},
                        Bytes{0x90, 60}, Bytes{}})
    midi_input_callback(0, &message, &state);
  EXPECT_EQ(bytes_of(take(queue, 2)), (std::vector<Bytes>{{0xC3, 5}, {0xE0, 0, 64}}));
  TimedMidi extra;
  EXPECT_FALSE(queue.try_dequeue(extra)) << "a system or malformed message got through";
}

TEST(MidiInputCallback, StampsWithTheSteadyClockOnArrival) {
  Queue queue(64);
  MidiInputState state(queue, 0);
  Bytes message = kNoteOn;
  const std::int64_t before_ns = now_ns();
  midi_input_callback(123.0, &message, &state);  // RtMidi's delta time is not used
  const std::int64_t after_ns = now_ns();
  const auto events = take(queue, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_GE(events[0].time_ns, before_ns);
  EXPECT_LE(events[0].time_ns, after_ns);
}

TEST(MidiInputCallback, CountsWhatTheFullQueueDrops) {
  Queue queue(1);  // one block of 32
  MidiInputState state(queue, 0);
  Bytes message = kNoteOn;
  for (int i = 0; i < 100; ++i) midi_input_callback(0, &message, &state);
  EXPECT_EQ(state.received.load(), 100);
  EXPECT_GT(state.dropped.load(), 0);
  EXPECT_EQ(static_cast<std::int64_t>(queue.size_approx()), 100 - state.dropped.load());
}

TEST(MidiInputCallback, AllocatesNothingAndTakesNoLock) {
  Queue queue(64);
  MidiInputState state(queue, 2);
  std::vector<Bytes> messages = {{0x91, 60, 100}, {0xB1, 64, 127}, {0x90, 60, 100}, {0xF8}, {0xF0, 0x01, 0xF7}};
  const auto counts = rt_guard::counts_on_a_watched_thread([&] {
    for (int i = 0; i < 100; ++i)
      for (auto& message : messages) midi_input_callback(0, &message, &state);
  });
  ASSERT_EQ(counts.watched_threads, 1);
  EXPECT_EQ(counts.allocations, 0);
  EXPECT_EQ(counts.frees, 0);
  EXPECT_EQ(counts.locks, 0);
  EXPECT_GT(state.dropped.load(), 0) << "the full-queue path should have run too";
}

// ---------------------------------------------------------------------------------------------
// Virtual ports

TEST_F(MidiPortsTest, VirtualPortsAppearUnderTheClientName) {
  MidiInput input(config_, MidiApi::kJack, queue_);
  MidiOutput output(config_, MidiApi::kJack);
  EXPECT_EQ(input.port_name(), "scorejam:in");
  EXPECT_EQ(output.port_name(), "scorejam-out:out");
  const MidiPortList ports = list_midi_ports(MidiApi::kJack);
  EXPECT_TRUE(contains(ports.outputs, "scorejam:in")) << "ports scorejam can send to list its own input";
  EXPECT_TRUE(contains(ports.inputs, "scorejam-out:out"));
}

TEST_F(MidiPortsTest, InputDeliversNotesAndPedalInOrderWithSteadyClockStamps) {
  MidiInput input(config_, MidiApi::kJack, queue_);
  auto player = make_player("player", "scorejam:in");
  wait_until_flowing(*player, queue_);
  const std::vector<Bytes> played = {kNoteOn, kPedalDown, kNoteOff, kPedalUp};
  std::int64_t before_ns = 0, after_ns = 0;
  std::vector<TimedMidi> events;
  const std::function<std::vector<Bytes>()> attempt = [&] {
    before_ns = now_ns();
    for (const auto& message : played) play(*player, message);
    events = take(queue_, played.size());
    after_ns = now_ns();
    return bytes_of(events);
  };
  ASSERT_EQ(deliver(attempt, played, [&] { drain(queue_); }), played);
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_GE(events[i].time_ns, before_ns);
    EXPECT_LE(events[i].time_ns, after_ns);
    if (i > 0) EXPECT_GE(events[i].time_ns, events[i - 1].time_ns);
  }
  EXPECT_EQ(input.dropped(), 0);
}

TEST_F(MidiPortsTest, InputChannelFilterDropsOtherChannels) {
  config_.input_channel = 2;
  MidiInput input(config_, MidiApi::kJack, queue_);
  auto player = make_player("player", "scorejam:in");
  wait_until_flowing(*player, queue_, 0xB1);
  const Bytes marker = {0x81, 127, 0};  // channel 2, sent last: everything before it has arrived
  const std::vector<Bytes> played = {{0x90, 60, 100}, {0x91, 62, 90}, {0xB2, 64, 127}, {0xB1, 64, 127}, {0xE3, 0, 64},
                                     marker};
  const std::vector<Bytes> expected = {{0x91, 62, 90}, {0xB1, 64, 127}, marker};
  const std::function<std::vector<Bytes>()> attempt = [&] {
    for (const auto& message : played) play(*player, message);
    auto events = bytes_of(take(queue_, expected.size()));
    events.push_back({});  // an end mark, then whatever came after the marker
    for (const auto& event : take(queue_, 1, milliseconds(20))) events.push_back(bytes_of(event));
    return events;
  };
  auto with_end = expected;
  with_end.push_back({});
  EXPECT_EQ(deliver(attempt, with_end, [&] { drain(queue_); }), with_end);
}

TEST_F(MidiPortsTest, OutputSendReachesAClientConnectedToItsPort) {
  MidiOutput output(config_, MidiApi::kJack);
  Listener synth("synth", "scorejam-out:out");
  synth.wait_until_flowing(output);
  const std::vector<Bytes> sent = {kNoteOn, kPedalDown, kNoteOff, kPedalUp};
  const std::int64_t sent_before = output.sent();
  const std::function<std::vector<Bytes>()> attempt = [&] {
    for (const auto& message : sent) output.send(message.data(), message.size());
    synth.wait_for(sent.size());
    return synth.take_all();
  };
  EXPECT_EQ(deliver(attempt, sent, [] {}), sent);
  EXPECT_GE(output.sent() - sent_before, 4);
  EXPECT_EQ(output.dropped(), 0);
}

// jackd dying on stage: the ports say so, sending drops (and counts) instead of calling into a dead
// client, and when a server comes back the virtual ports are made again and carry MIDI both ways.
TEST_F(MidiPortsTest, ServerThatGoesAndComesBackGetsItsPortsBack) {
  MidiInput input(config_, MidiApi::kJack, queue_);
  MidiOutput output(config_, MidiApi::kJack);
  auto poll_until = [](auto& port, PortEvent wanted, std::chrono::seconds timeout) {
    const auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      if (port.poll() == wanted) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  };
  jack_.stop();
  ASSERT_TRUE(poll_until(input, PortEvent::kLost, std::chrono::seconds(5))) << "the input never noticed the server go";
  ASSERT_TRUE(poll_until(output, PortEvent::kLost, std::chrono::seconds(5))) << "the output never noticed the server go";
  EXPECT_FALSE(input.connected());
  EXPECT_FALSE(output.connected());
  EXPECT_NE(input.last_error().find("JACK server went away"), std::string::npos) << input.last_error();
  const auto dropped = output.dropped();
  output.send(kNoteOn.data(), kNoteOn.size());
  EXPECT_EQ(output.dropped(), dropped + 1);
  EXPECT_EQ(input.poll(), PortEvent::kNone) << "no server yet";

  jack_.start();
  ASSERT_TRUE(jack_.ok()) << jack_.log();
  ASSERT_TRUE(poll_until(input, PortEvent::kReconnected, std::chrono::seconds(10))) << input.last_error();
  ASSERT_TRUE(poll_until(output, PortEvent::kReconnected, std::chrono::seconds(10))) << output.last_error();
  EXPECT_TRUE(input.connected());
  EXPECT_EQ(output.port_name(), "scorejam-out:out");
  auto player = make_player("player", "scorejam:in");
  wait_until_flowing(*player, queue_);
  Listener synth("synth", "scorejam-out:out");
  synth.wait_until_flowing(output);
}

TEST_F(MidiPortsTest, OutputSendAllocatesNothingAndTakesNoLock) {
  MidiOutput output(config_, MidiApi::kJack);
  Listener synth("synth", "scorejam-out:out");
  synth.wait_until_flowing(output);
  const auto counts = rt_guard::counts_on_a_watched_thread([&] {
    for (int i = 0; i < 50; ++i) {
      output.send(kNoteOn.data(), kNoteOn.size());
      output.send(kNoteOff.data(), kNoteOff.size());
    }
  });
  ASSERT_EQ(counts.watched_threads, 1);
  EXPECT_EQ(counts.allocations, 0);
  EXPECT_EQ(counts.frees, 0);
  EXPECT_EQ(counts.locks, 0);
  EXPECT_GE(synth.wait_for(100).size(), 1u) << "the sends should have gone out through RtMidi";
}

// ---------------------------------------------------------------------------------------------
// Waiting for the MIDI system (the daemon started before JACK)

// No JACK server yet: the connection waits and says what for and how to start it; what the
// scheduler sends meanwhile is dropped and counted, without a lock or an allocation; once a server
// runs, poll() makes the ports, asks for silence, and messages go out.
TEST_F(MidiPortsTest, AConnectionMadeBeforeTheServerWaitsThenMakesItsPortsAndSends) {
  jack_.stop();
  config_.api = "jack";
  MidiConnection midi(config_, queue_);
  EXPECT_FALSE(midi.open());
  EXPECT_NE(midi.state().find("waiting for a MIDI system: MIDI api 'jack': no JACK server"), std::string::npos)
      << midi.state();
  EXPECT_NE(midi.state().find("jackd --no-realtime -d dummy"), std::string::npos) << midi.state();
  const auto counts = rt_guard::counts_on_a_watched_thread([&] {
    midi.send(kNoteOn.data(), kNoteOn.size());
    midi.send(kNoteOff.data(), kNoteOff.size());
  });
  EXPECT_EQ(counts.allocations, 0);
  EXPECT_EQ(counts.locks, 0);
  EXPECT_EQ(midi.dropped_while_waiting(), 2);
  const auto still = midi.poll();
  EXPECT_TRUE(still.lines.empty()) << "the same reason is said once, not at every poll";
  EXPECT_FALSE(still.silence);

  jack_.start();
  ASSERT_TRUE(jack_.ok()) << jack_.log();
  MidiConnection::Poll opened;
  const auto deadline = Clock::now() + kWait;
  while (!midi.open() && Clock::now() < deadline) {
    opened = midi.poll();
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_TRUE(midi.open()) << midi.state();
  EXPECT_TRUE(opened.silence);
  ASSERT_FALSE(opened.lines.empty());
  EXPECT_NE(opened.lines.front().find("(it was waited for)"), std::string::npos) << opened.lines.front();
  EXPECT_EQ(midi.state().rfind("jack: in scorejam:in, out scorejam-out:out", 0), 0u) << midi.state();
  EXPECT_TRUE(midi.waiting_for().empty());

  Listener synth("synth", "scorejam-out:out");
  synth.wait_until_flowing(*midi.output());
  const std::function<std::vector<Bytes>()> attempt = [&] {
    midi.send(kNoteOn.data(), kNoteOn.size());
    midi.send(kNoteOff.data(), kNoteOff.size());
    synth.wait_for(2);
    return synth.take_all();
  };
  EXPECT_EQ(deliver(attempt, std::vector<Bytes>{kNoteOn, kNoteOff}, [] {}), (std::vector<Bytes>{kNoteOn, kNoteOff}));
  EXPECT_EQ(midi.dropped_while_waiting(), 2);
}

// ---------------------------------------------------------------------------------------------
// Named ports, lost and found

TEST_F(MidiPortsTest, InputReconnectsToANamedPortThatComesBack) {
  auto keyboard = make_player("keyboard");
  config_.input = "keyboard:out";
  MidiInput input(config_, MidiApi::kJack, queue_);
  EXPECT_TRUE(input.connected());
  EXPECT_EQ(input.port_name(), "keyboard:out");
  wait_until_flowing(*keyboard, queue_);

  keyboard.reset();  // unplugged
  EXPECT_EQ(poll_until_event(input), PortEvent::kLost);
  EXPECT_FALSE(input.connected());
  EXPECT_EQ(input.poll(), PortEvent::kNone) << "still away";

  keyboard = make_player("keyboard");  // plugged in again
  EXPECT_EQ(poll_until_event(input), PortEvent::kReconnected);
  EXPECT_TRUE(input.connected());
  wait_until_flowing(*keyboard, queue_);
}

// Unplugged and plugged in again between two polls: the name never went missing from the list, but
// JACK dropped the connection with the old port; poll() notices and connects again.
TEST_F(MidiPortsTest, NamedPortsThatLeaveAndComeBackBetweenPollsAreReconnected) {
  auto keyboard = make_player("keyboard");
  auto synth = std::make_unique<Listener>("synth");
  config_.input = "keyboard:out";
  config_.output = "synth:in";
  MidiInput input(config_, MidiApi::kJack, queue_);
  MidiOutput output(config_, MidiApi::kJack);
  EXPECT_EQ(input.poll(), PortEvent::kNone);
  EXPECT_EQ(output.poll(), PortEvent::kNone);
  keyboard.reset();  // unplugged and plugged in again, with no poll between
  keyboard = make_player("keyboard");
  synth.reset();
  synth = std::make_unique<Listener>("synth");
  EXPECT_EQ(input.poll(), PortEvent::kLost);
  EXPECT_EQ(output.poll(), PortEvent::kLost);
  EXPECT_EQ(input.poll(), PortEvent::kReconnected);
  EXPECT_EQ(output.poll(), PortEvent::kReconnected);
  wait_until_flowing(*keyboard, queue_);
  synth->wait_until_flowing(output);
}

TEST_F(MidiPortsTest, OutputReconnectsToANamedPortThatComesBack) {
  auto synth = std::make_unique<Listener>("synth");
  config_.output = "synth:in";
  MidiOutput output(config_, MidiApi::kJack);
  EXPECT_TRUE(output.connected());
  EXPECT_EQ(output.port_name(), "synth:in");
  synth->wait_until_flowing(output);

  synth.reset();
  EXPECT_EQ(poll_until_event(output), PortEvent::kLost);
  EXPECT_FALSE(output.connected());

  synth = std::make_unique<Listener>("synth");
  EXPECT_EQ(poll_until_event(output), PortEvent::kReconnected);
  EXPECT_TRUE(output.connected());
  synth->wait_until_flowing(output);
}

TEST_F(MidiPortsTest, OutputDropsAndCountsWhatIsSentWhileItsPortIsLost) {
  auto synth = std::make_unique<Listener>("synth");
  config_.output = "synth:in";
  MidiOutput output(config_, MidiApi::kJack);
  synth.reset();
  ASSERT_EQ(poll_until_event(output), PortEvent::kLost);
  output.send(kNoteOff.data(), kNoteOff.size());
  EXPECT_EQ(output.dropped(), 1);

  synth = std::make_unique<Listener>("synth");
  ASSERT_EQ(poll_until_event(output), PortEvent::kReconnected);
  const auto arrived = synth->wait_until_flowing(output);
  synth->wait_for(1, milliseconds(50));
  EXPECT_EQ(std::count(arrived.begin(), arrived.end(), kNoteOff), 0) << "the dropped note-off came out late";
  EXPECT_EQ(synth->take_all(), std::vector<Bytes>{}) << "the dropped note-off came out late";
}

// A server that stalls (SIGSTOP, as a hung driver would) stops draining the output's buffer, and
// RtMidi's JACK send then spins until there is room. Before the sender thread this test hung for
// good, and on stage so would the scheduler thread with every note-off behind it. Now the sending
// thread never waits: what cannot be taken is dropped and counted, poll() says the server is
// stalled, and when it goes on poll() says the output is back and messages flow again; what was
// queued during the stall is dropped, not played late.
TEST_F(MidiPortsTest, AStalledServerNeverHoldsTheSendingThread) {
  Listener synth("synth");
  config_.output = "synth:in";
  MidiOutput output(config_, MidiApi::kJack);
  synth.wait_until_flowing(output);
  synth.take_all();
  const auto dropped_before = output.dropped();
  jack_.stall_for(milliseconds(4000));
  // Sends in bursts, polling between them, until poll() finds the stall: RtMidi's buffer (16 kB,
  // about 2,300 note-ons) fills, its send waits, the sender's ring (1,024) fills, the rest drop.
  const auto stall_began = Clock::now();
  Clock::duration longest{};
  PortEvent event = PortEvent::kNone;
  int sent = 0;  // each note-on carries its number in its two data bytes, to tell them apart
  while (event == PortEvent::kNone && Clock::now() - stall_began < std::chrono::seconds(3)) {
    for (int i = 0; i < 200; ++i, ++sent) {
      const std::array<std::uint8_t, 3> note_on = {0x90, static_cast<std::uint8_t>((sent >> 7) & 0x7F),
                                                   static_cast<std::uint8_t>(sent & 0x7F)};
      const auto before = Clock::now();
      output.send(note_on.data(), note_on.size());
      longest = std::max(longest, Clock::now() - before);
    }
    std::this_thread::sleep_for(milliseconds(5));
    event = output.poll();
  }
  ASSERT_EQ(event, PortEvent::kLost) << "no stall found in 3 s of sends into a stopped server";
  ASSERT_LT(sent, 128 * 128) << "the note-ons' numbers wrapped round";
  EXPECT_LT(longest, milliseconds(200)) << "send() waited for the stalled server";
  EXPECT_NE(output.last_error().find("stalled"), std::string::npos) << output.last_error();
  EXPECT_GT(output.dropped() - dropped_before, 0) << "the sends a stalled server cannot take were not dropped";
  const auto refused_before = output.dropped();
  output.send(kNoteOff.data(), kNoteOff.size());
  EXPECT_EQ(output.dropped(), refused_before + 1) << "a send during a known stall is dropped at once";

  jack_.wait_until_resumed();
  EXPECT_EQ(poll_until_event(output), PortEvent::kReconnected) << output.last_error();
  EXPECT_EQ(output.last_error(), "");
  // Before the probes, at most what was still queued inside RtMidi may arrive: the first note-ons,
  // as many as its buffer takes (16 kB: 2,340 with their lengths), and the one send that waited for
  // room. Nothing of the sender's stale ring (the next 1,024) nor the refused note-off may follow.
  // Mostly all 2,341 arrive, numbered 0 to 2,340. JACK has been seen to lose them all, and under
  // ThreadSanitizer to deliver 2,342 messages that repeat one early number, so it is the numbers
  // that are checked, not the count: a stale note-on carries a number above 2,340.
  const auto arrived = synth.wait_until_flowing(output);
  int played = 0, last_played = -1;
  for (const auto& message : arrived) {
    if (message.size() != 3 || message[0] != 0x90) continue;
    ++played;
    last_played = std::max(last_played, message[1] * 128 + message[2]);
  }
  std::cout << sent << " note-ons sent, " << played << " played after the stall, the last one number " << last_played
            << "\n";
  EXPECT_LE(last_played, 16384 / 7) << "the stale queue was played late";
  EXPECT_EQ(std::count(arrived.begin(), arrived.end(), kNoteOff), 0) << "the refused note-off came out late";
}

TEST_F(MidiPortsTest, NamedPortMatchesAUniqueSubstring) {
  auto keyboard = make_player("Keystation 49");
  config_.input = "Keystation";
  MidiInput input(config_, MidiApi::kJack, queue_);
  EXPECT_EQ(input.port_name(), "Keystation 49:out");
}

TEST_F(MidiPortsTest, NamedPortThatIsNotThereIsAnErrorListingThePorts) {
  auto keyboard = make_player("keyboard");
  config_.input = "nanoKEY";
  try {
    MidiInput input(config_, MidiApi::kJack, queue_);
    FAIL() << "expected a MidiError";
  } catch (const MidiError& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find("'nanoKEY' is not there"), std::string::npos) << text;
    EXPECT_NE(text.find("'keyboard:out'"), std::string::npos) << text;
  }
}

TEST_F(MidiPortsTest, NamedPortMatchingSeveralPortsIsAnError) {
  auto left = make_player("keyboard-left");
  auto right = make_player("keyboard-right");
  config_.input = "keyboard";
  try {
    MidiInput input(config_, MidiApi::kJack, queue_);
    FAIL() << "expected a MidiError";
  } catch (const MidiError& e) {
    EXPECT_NE(std::string(e.what()).find("matches more than one port"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// From a test client's sendMessage to the stamp in the queue: measured and reported, not asserted.
// JACK emits the client's message at the start of the next period (128 frames = 2.7 ms).

TEST_F(MidiPortsTest, InputDeliversARunInOrderLosingOnlyToXrunsAndReportsTheDelay) {
  MidiInput input(config_, MidiApi::kJack, queue_);
  auto player = make_player("player", "scorejam:in");
  wait_until_flowing(*player, queue_);
  constexpr int kMessages = 200;
  const int xruns_before = jack_.xruns();
  std::vector<double> delays_ms;
  int lost = 0;
  for (int i = 0; i < kMessages; ++i) {
    const Bytes message = {0x90, static_cast<unsigned char>(i % 128), static_cast<unsigned char>(1 + i / 128)};
    const std::int64_t sent_ns = now_ns();
    play(*player, message);
    const auto events = take(queue_, 1, milliseconds(500));
    if (events.empty()) {
      ++lost;
      continue;
    }
    ASSERT_EQ(bytes_of(events[0]), message) << "message " << i << " out of order or changed";
    ASSERT_GE(events[0].time_ns, sent_ns);
    delays_ms.push_back(static_cast<double>(events[0].time_ns - sent_ns) / 1e6);
    std::this_thread::sleep_for(milliseconds(1));
  }
  const int xruns = jack_.xruns() - xruns_before;
  EXPECT_TRUE(lost == 0 || xruns > 0) << lost << " messages lost without an xrun";
  EXPECT_EQ(input.dropped(), 0);
  ASSERT_FALSE(delays_ms.empty());
  std::sort(delays_ms.begin(), delays_ms.end());
  const double p50 = delays_ms[delays_ms.size() / 2];
  const double max = delays_ms.back();
  std::cout << "JACK send -> stamped arrival over " << delays_ms.size() << " messages: p50 " << p50 << " ms, max "
            << max << " ms (period 128 frames at 48 kHz = 2.67 ms); lost " << lost << ", xruns " << xruns << "\n";
  RecordProperty("delay_ms_p50", std::to_string(p50));
  RecordProperty("delay_ms_max", std::to_string(max));
}

}  // namespace
}  // namespace scorejam
