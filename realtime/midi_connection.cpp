#include "realtime/midi_connection.h"

#include <utility>

namespace scorejam {
namespace {

// What to do about a MIDI system that is not there, after what resolve_midi_api said is missing.
std::string how_to_start(const std::string& requested) {
  const std::string jack = "start JACK (`jackd -d alsa`, or `jackd --no-realtime -d dummy -r 48000 -p 128` without a sound card)";
  const std::string alsa = "load the ALSA sequencer (`sudo modprobe snd-seq`)";
  if (requested == "jack") return jack;
  if (requested == "alsa") return alsa;
  return jack + " or " + alsa;
}

}  // namespace

MidiConnection::MidiConnection(const MidiConfig& config, moodycamel::ConcurrentQueue<TimedMidi>& input,
                               std::string alsa_sequencer)
    : config_(config), queue_(input), alsa_sequencer_(std::move(alsa_sequencer)) {
  midi_api_from_string(config_.api);  // a misspelt api is a configuration error, not something to wait for
  std::vector<std::string> ignored;
  try_open(ignored);
}

MidiConnection::~MidiConnection() = default;

void MidiConnection::send(const std::uint8_t* bytes, std::size_t size) noexcept {
  if (MidiOutput* out = sink_.load(std::memory_order_acquire)) {
    out->send(bytes, size);
  } else {
    dropped_.fetch_add(1, std::memory_order_relaxed);
  }
}

bool MidiConnection::try_open(std::vector<std::string>& lines) {
  std::string why;
  try {
    const auto api = resolve_midi_api(midi_api_from_string(config_.api), &why, alsa_sequencer_);
    auto out = std::make_unique<MidiOutput>(config_, api);
    auto in = std::make_unique<MidiInput>(config_, api, queue_);
    if (priority_ >= 0 && !out->set_realtime_priority(priority_))
      lines.push_back("MIDI out: real-time priority for the JACK sender thread refused");
    api_ = to_string(api);
    output_ = std::move(out);
    input_ = std::move(in);
    sink_.store(output_.get(), std::memory_order_release);
    const bool waited = !waiting_.empty();
    waiting_.clear();
    lines.push_back("MIDI: " + why + (waited ? " (it was waited for)" : ""));
    lines.push_back("MIDI in: " + input_->port_name() + "; MIDI out: " + output_->port_name());
    return true;
  } catch (const MidiError& e) {
    const std::string missing = e.what();
    const bool no_system = missing.rfind("MIDI api", 0) == 0;
    std::string now = "waiting for " + std::string(no_system ? "a MIDI system: " : "a MIDI port: ") + missing + "; " +
                      (no_system ? how_to_start(config_.api) + ", and scorejam makes its ports as soon as it is there"
                                 : "scorejam connects as soon as it is there");
    if (now != waiting_) lines.push_back(now);
    waiting_ = std::move(now);
    return false;
  }
}

MidiConnection::Poll MidiConnection::poll() {
  Poll result;
  if (!open()) {
    if (try_open(result.lines)) result.silence = true;
    return result;
  }
  for (auto [event, what, why] : {std::tuple{input_->poll(), std::string("input"), input_->last_error()},
                                  std::tuple{output_->poll(), std::string("output"), output_->last_error()}}) {
    if (event == PortEvent::kLost) {
      result.lines.push_back("MIDI " + what + " port lost" + (why.empty() ? "" : " (" + why + ")") +
                             "; notes ended, waiting for it to come back");
      result.silence = true;
    } else if (event == PortEvent::kReconnected) {
      result.lines.push_back("MIDI " + what + " port back; reconnected");
      result.silence = true;
    }
  }
  return result;
}

std::string MidiConnection::state() const {
  if (!open()) return waiting_;
  const bool up = input_->connected() && output_->connected();
  return api_ + (up ? "" : " (a port is lost, waiting for it)") + ": in " + input_->port_name() + ", out " +
         output_->port_name();
}

bool MidiConnection::set_realtime_priority(int priority) {
  priority_ = priority;
  return !output_ || output_->set_realtime_priority(priority);
}

}  // namespace scorejam
