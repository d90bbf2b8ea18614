// A bounds-checked validator of OSC 1.0 packets (messages and nested bundles), and a visitor over
// the messages of a validated packet. Torch-free and allocation-free on valid input; runs on
// whichever thread received the datagram. liblo is handed a datagram only after this validator
// accepted it: liblo 0.31 reads past the end of crafted bundles (see FIELD-NOTES.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace scorejam {

struct OscPacketError {
  std::size_t offset = 0;  // byte offset in the packet where the fault lies
  std::string what;
};

// "byte 16: bundle element of size 0"
std::string to_string(const OscPacketError& error);

// Bundles nested deeper than this are refused (the top-level bundle is depth 1).
inline constexpr int kMaxOscBundleDepth = 8;

// Accepts a packet when every byte lies where OSC 1.0 puts it, and liblo 0.31 can deserialise each
// message:
// - packet and bundle elements: size > 0 and a multiple of 4; element sizes inside the packet;
// - bundles: "#bundle\0", an 8-byte time tag, then elements; at most kMaxOscBundleDepth deep;
// - messages: an address starting with '/', a type-tag string starting with ',', arguments
//   that end exactly at the end of the message;
// - strings: NUL-terminated inside the packet, padded with NULs to a multiple of 4;
// - type tags i f c m (4 bytes), h t d (8), s S (string), b (blob: size, data, NUL padding),
//   T F N I (no data). Arrays ('[' ']'), 'r' (RGBA, which liblo 0.31 does not know) and any other
//   tag are refused by name.
// Returns the first fault found, or nothing when the packet is valid.
std::optional<OscPacketError> validate_osc_packet(const std::uint8_t* data, std::size_t size);

// Calls fn(message, size) for each message of a packet accepted by validate_osc_packet, in order,
// descending into nested bundles. Bundle time tags are not interpreted.
void for_each_osc_message(const std::uint8_t* data, std::size_t size,
                          const std::function<void(const std::uint8_t*, std::size_t)>& fn);

}  // namespace scorejam
