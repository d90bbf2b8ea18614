// The /scorejam/... OSC address space: one table of commands (address, arguments, doc, handler),
// the dispatcher that runs one received message against it, and the help text printed from it.
// Runs on the OSC server's io_context thread; handlers call LiveControl, which hands work on.
// No sockets here: the server (daemon/osc_server.h) receives, parses and sends.
#pragma once

#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "realtime/live.h"

namespace scorejam {

inline constexpr std::string_view kOscDone = "/scorejam/done";            // <address>
inline constexpr std::string_view kOscFail = "/scorejam/fail";            // <address> <message>
inline constexpr std::string_view kOscStatusReply = "/scorejam/status.reply";  // key value ...
inline constexpr std::string_view kOscNote = "/scorejam/note";            // <pitch> <velocity>
// <bits per note> <bits per dimension> <notes> <seconds> <requested: 1 or 0>
inline constexpr std::string_view kOscSurpriseReply = "/scorejam/surprise.reply";

// A received argument. Numbers of every OSC type (i, f, d, h) arrive as `number`, strings and
// symbols (s, S) as `text`; any other type keeps only its tag, and every handler refuses it.
struct OscArgument {
  char tag = 0;
  double number = 0;
  std::string text;
  bool is_number() const { return tag == 'i' || tag == 'f' || tag == 'd' || tag == 'h'; }
  bool is_text() const { return tag == 's' || tag == 'S'; }
};

// Replies carry only int32, float32 and strings: the types Pd, Max and TouchDesigner all read.
using OscValue = std::variant<std::int32_t, float, std::string>;

struct OscMessage {
  std::string address;
  std::vector<OscValue> args;
};

// The message subscribers get for a surprise figure.
OscMessage surprise_message(const SurpriseReport& report);

// Where /scorejam/note and /scorejam/surprise.reply go. Filled by /scorejam/subscribe, emptied by /scorejam/unsubscribe.
struct OscSubscribers {
  std::vector<boost::asio::ip::udp::endpoint> endpoints;
  std::size_t max = 8;
  bool loopback_only = true;  // the server listens on a loopback address: it cannot reach others
};

// What the handlers act on.
struct OscTarget {
  LiveControl& live;
  OscSubscribers& subscribers;
};

// A refusal by a handler; its message goes back in /scorejam/fail.
class OscCommandError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct OscCommand {
  std::string address;    // /scorejam/...
  std::string arguments;  // as the help shows them: "<steps: int 1..1000>"
  std::string doc;
  // Checks the arguments, acts, and returns the reply (/scorejam/done <address> or a .reply).
  // Throws OscCommandError, or lets LiveControl's exceptions through, before changing anything.
  std::function<OscMessage(const std::vector<OscArgument>& args, OscTarget& target)> handler;
  // A slow command (one that reads files): the server runs it on its control worker thread, off
  // the io thread that answers the other commands and sends the notes, and replies when it is done
  // (scsynth's "sequenced commands" likewise). Its handler may use only target.live.
  bool slow = false;
};

// The table, in the order the help lists it.
const std::vector<OscCommand>& osc_commands();
// The command of `address`; nullptr for none.
const OscCommand* find_osc_command(std::string_view address);

struct OscOutcome {
  OscMessage reply;   // done, a .reply, or /scorejam/fail <address> <message>
  std::string error;  // empty on success
};

// Runs one message: finds its address in the table, calls the handler, and turns every refusal
// (unknown address, wrong count or type, out of range, unknown name, a LiveControl exception)
// into a /scorejam/fail reply with the reason in `error`.
OscOutcome run_osc_command(const std::string& address, const std::vector<OscArgument>& args, OscTarget& target);

// The addresses scorejam sends (done, fail, status.reply, note, surprise.reply). A message to one of them is
// ignored without a reply, so that two peers replying to each other cannot loop.
bool is_osc_reply_address(std::string_view address);

// The address space, its conventions and its ranges, printed from the table.
std::string osc_help();

}  // namespace scorejam
