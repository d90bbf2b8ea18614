// One received OSC datagram, from bytes to commands: scorejam's validator (core/osc_packet.h)
// first, then liblo for each message it holds, then the command table (daemon/osc_commands.h).
// Socket-free, so that the OSC server and its fuzzer (tests/fuzz/osc_dispatch_fuzz.cpp) run the
// same path. Runs on the OSC server's io_context thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "daemon/osc_commands.h"

namespace scorejam {

struct OscDispatched {
  enum class Kind {
    kRan,        // looked up in the table: outcome.error says whether it was refused
    kIgnored,    // addressed to one of scorejam's reply addresses: no reply, no change
    kMalformed,  // refused by the validator (the whole datagram) or by liblo (one message)
    kDeferred,   // a slow command (OscCommand::slow): not run yet; `run` runs it, on any thread
  };
  Kind kind = Kind::kRan;
  std::string address;  // "(malformed)" for a datagram the validator refused
  OscOutcome outcome;   // the reply to send (empty address for kIgnored) and the error, if any
  std::function<OscOutcome(LiveControl& live)> run;  // kDeferred only
};

// What each message of the datagram did, in order. A slow command is returned as kDeferred, with
// its arguments already read: the caller runs it where it likes.
std::vector<OscDispatched> dispatch_osc_datagram(const std::uint8_t* data, std::size_t size, OscTarget& target);

}  // namespace scorejam
