#include "daemon/osc_dispatch.h"

#include <lo/lo.h>
#include <spdlog/fmt/fmt.h>

#include <cstring>

#include "core/osc_packet.h"

namespace scorejam {
namespace {

// liblo's argument pointers are 4-aligned in the message, lo_arg's members up to 8: copy, do not
// dereference.
template <typename T>
T read_arg(const lo_arg* arg) {
  T value;
  std::memcpy(&value, arg, sizeof value);
  return value;
}

std::vector<OscArgument> arguments_of(lo_message message) {
  const char* types = lo_message_get_types(message);
  const int count = lo_message_get_argc(message);
  lo_arg** argv = lo_message_get_argv(message);
  std::vector<OscArgument> args(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    OscArgument& arg = args[static_cast<std::size_t>(i)];
    arg.tag = types[i];
    switch (arg.tag) {
      case LO_INT32: arg.number = read_arg<std::int32_t>(argv[i]); break;
      case LO_FLOAT: arg.number = read_arg<float>(argv[i]); break;
      case LO_DOUBLE: arg.number = read_arg<double>(argv[i]); break;
      case LO_INT64: arg.number = static_cast<double>(read_arg<std::int64_t>(argv[i])); break;
      case LO_STRING: arg.text = reinterpret_cast<const char*>(argv[i]); break;
      case LO_SYMBOL: arg.text = reinterpret_cast<const char*>(argv[i]); break;
      default: break;
    }
  }
  return args;
}

OscDispatched malformed(const std::string& address, std::string error) {
  OscDispatched d;
  d.kind = OscDispatched::Kind::kMalformed;
  d.address = address;
  d.outcome.reply = {std::string(kOscFail), {address, error}};
  d.outcome.error = std::move(error);
  return d;
}

}  // namespace

std::vector<OscDispatched> dispatch_osc_datagram(const std::uint8_t* data, std::size_t size, OscTarget& target) {
  if (const auto error = validate_osc_packet(data, size))
    return {malformed("(malformed)", fmt::format("not a valid OSC packet of {} bytes: {}", size, to_string(*error)))};
  std::vector<OscDispatched> out;
  for_each_osc_message(data, size, [&](const std::uint8_t* message, std::size_t bytes) {
    const std::string address(reinterpret_cast<const char*>(message));  // validated: NUL-terminated inside
    if (is_osc_reply_address(address)) {
      out.push_back({OscDispatched::Kind::kIgnored, address, {}, {}});
      return;
    }
    int result = 0;
    lo_message parsed = lo_message_deserialise(const_cast<std::uint8_t*>(message), bytes, &result);
    if (parsed == nullptr) {
      out.push_back(malformed(address, fmt::format("liblo cannot parse the message (liblo error {})", result)));
      return;
    }
    const std::vector<OscArgument> args = arguments_of(parsed);
    lo_message_free(parsed);
    if (const OscCommand* command = find_osc_command(address); command != nullptr && command->slow) {
      out.push_back({OscDispatched::Kind::kDeferred, address, {}, [address, args](LiveControl& live) {
                       OscSubscribers none;  // a slow command acts on the live control alone
                       OscTarget alone{live, none};
                       return run_osc_command(address, args, alone);
                     }});
      return;
    }
    out.push_back({OscDispatched::Kind::kRan, address, run_osc_command(address, args, target), {}});
  });
  return out;
}

}  // namespace scorejam
