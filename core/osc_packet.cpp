#include "core/osc_packet.h"

#include <cstring>
#include <string_view>

namespace scorejam {
namespace {

using Fault = std::optional<OscPacketError>;

constexpr std::size_t kBundleHeaderBytes = 16;  // "#bundle\0" and the time tag
constexpr char kBundleTag[8] = {'#', 'b', 'u', 'n', 'd', 'l', 'e', '\0'};

Fault fault(std::size_t offset, std::string what) { return OscPacketError{offset, std::move(what)}; }

std::uint32_t read_be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | static_cast<std::uint32_t>(p[3]);
}

std::string describe_tag(std::uint8_t tag) {
  if (tag >= 0x20 && tag < 0x7f) return std::string("'") + static_cast<char>(tag) + "'";
  constexpr char kHex[] = "0123456789abcdef";
  return std::string("0x") + kHex[tag >> 4] + kHex[tag & 0xf];
}

// An OSC string at `pos` inside [pos, end): advances `pos` past its NUL padding.
Fault read_string(const std::uint8_t* data, std::size_t& pos, std::size_t end, std::string_view what) {
  const std::size_t start = pos;
  const void* nul = start < end ? std::memchr(data + start, 0, end - start) : nullptr;
  if (nul == nullptr) return fault(start, std::string(what) + " has no terminating NUL inside the message");
  const std::size_t length = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - (data + start));
  const std::size_t padded = (length / 4 + 1) * 4;
  if (padded > end - start) return fault(start, std::string(what) + ": its NUL padding runs past the end of the message");
  for (std::size_t i = start + length + 1; i < start + padded; ++i) {
    if (data[i] != 0) return fault(i, std::string(what) + ": padding byte is not NUL");
  }
  pos = start + padded;
  return {};
}

Fault need_bytes(std::size_t pos, std::size_t end, std::size_t bytes, std::uint8_t tag) {
  if (end - pos >= bytes) return {};
  return fault(pos, "argument " + describe_tag(tag) + " needs " + std::to_string(bytes) + " bytes, " +
                        std::to_string(end - pos) + " left in the message");
}

Fault read_blob(const std::uint8_t* data, std::size_t& pos, std::size_t end) {
  if (auto f = need_bytes(pos, end, 4, 'b')) return f;
  const std::size_t start = pos;
  const std::uint64_t blob_bytes = read_be32(data + start);
  const std::size_t left = end - start - 4;
  if (blob_bytes > left) {
    return fault(start, "blob of " + std::to_string(blob_bytes) + " bytes runs past the end of the message (" +
                            std::to_string(left) + " left)");
  }
  const std::size_t padded = (static_cast<std::size_t>(blob_bytes) + 3) / 4 * 4;
  if (padded > left) return fault(start, "blob padding runs past the end of the message");
  for (std::size_t i = start + 4 + static_cast<std::size_t>(blob_bytes); i < start + 4 + padded; ++i) {
    if (data[i] != 0) return fault(i, "blob padding byte is not NUL");
  }
  pos = start + 4 + padded;
  return {};
}

Fault validate_message(const std::uint8_t* data, std::size_t begin, std::size_t end) {
  if (data[begin] != '/') return fault(begin, "address does not start with '/'");
  std::size_t pos = begin;
  if (auto f = read_string(data, pos, end, "address")) return f;
  if (pos == end) return fault(pos, "message has no type-tag string");
  if (data[pos] != ',') return fault(pos, "type-tag string does not start with ','");
  const std::size_t tags_begin = pos + 1;
  if (auto f = read_string(data, pos, end, "type-tag string")) return f;
  for (std::size_t t = tags_begin; data[t] != 0; ++t) {
    const std::uint8_t tag = data[t];
    switch (tag) {
      case 'i': case 'f': case 'c': case 'm':
        if (auto f = need_bytes(pos, end, 4, tag)) return f;
        pos += 4;
        break;
      case 'h': case 't': case 'd':
        if (auto f = need_bytes(pos, end, 8, tag)) return f;
        pos += 8;
        break;
      case 's': case 'S':
        if (auto f = read_string(data, pos, end, "string argument")) return f;
        break;
      case 'b':
        if (auto f = read_blob(data, pos, end)) return f;
        break;
      case 'T': case 'F': case 'N': case 'I':
        break;
      case '[': case ']':
        return fault(t, "arrays ('[' ']') are not supported");
      case 'r':
        return fault(t, "type tag 'r' (RGBA colour) is not supported");
      default:
        return fault(t, "unknown type tag " + describe_tag(tag));
    }
  }
  if (pos != end) {
    return fault(pos, std::to_string(end - pos) + " bytes after the last argument of the message");
  }
  return {};
}

Fault validate_element(const std::uint8_t* data, std::size_t begin, std::size_t end, int depth);

Fault validate_bundle(const std::uint8_t* data, std::size_t begin, std::size_t end, int depth) {
  if (depth > kMaxOscBundleDepth) {
    return fault(begin, "bundles nested deeper than " + std::to_string(kMaxOscBundleDepth));
  }
  if (end - begin < kBundleHeaderBytes) return fault(begin, "bundle shorter than its 16-byte header");
  if (std::memcmp(data + begin, kBundleTag, sizeof kBundleTag) != 0) {
    return fault(begin, "element starting with '#' is not a \"#bundle\"");
  }
  std::size_t pos = begin + kBundleHeaderBytes;
  while (pos < end) {
    if (end - pos < 4) return fault(pos, "bundle element size runs past the end of the bundle");
    const std::uint64_t element_bytes = read_be32(data + pos);
    if (element_bytes == 0) return fault(pos, "bundle element of size 0");
    if (element_bytes % 4 != 0) {
      return fault(pos, "bundle element size " + std::to_string(element_bytes) + " is not a multiple of 4");
    }
    const std::size_t left = end - pos - 4;
    if (element_bytes > left) {
      return fault(pos, "bundle element of " + std::to_string(element_bytes) + " bytes runs past the end (" +
                            std::to_string(left) + " left)");
    }
    const std::size_t element_begin = pos + 4;
    const std::size_t element_end = element_begin + static_cast<std::size_t>(element_bytes);
    if (auto f = validate_element(data, element_begin, element_end, depth + 1)) return f;
    pos = element_end;
  }
  return {};
}

Fault validate_element(const std::uint8_t* data, std::size_t begin, std::size_t end, int depth) {
  if (data[begin] == '#') return validate_bundle(data, begin, end, depth);
  return validate_message(data, begin, end);
}

void visit(const std::uint8_t* data, std::size_t begin, std::size_t end, int depth,
           const std::function<void(const std::uint8_t*, std::size_t)>& fn) {
  if (begin >= end) return;
  if (data[begin] != '#') {
    fn(data + begin, end - begin);
    return;
  }
  if (depth > kMaxOscBundleDepth || end - begin < kBundleHeaderBytes) return;
  std::size_t pos = begin + kBundleHeaderBytes;
  while (end - pos >= 4) {
    const std::uint64_t element_bytes = read_be32(data + pos);
    if (element_bytes == 0 || element_bytes > end - pos - 4) return;
    visit(data, pos + 4, pos + 4 + static_cast<std::size_t>(element_bytes), depth + 1, fn);
    pos += 4 + static_cast<std::size_t>(element_bytes);
  }
}

}  // namespace

std::string to_string(const OscPacketError& error) {
  return "byte " + std::to_string(error.offset) + ": " + error.what;
}

std::optional<OscPacketError> validate_osc_packet(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return fault(0, "empty packet");
  if (size % 4 != 0) return fault(size, "packet size " + std::to_string(size) + " is not a multiple of 4");
  return validate_element(data, 0, size, 1);
}

void for_each_osc_message(const std::uint8_t* data, std::size_t size,
                          const std::function<void(const std::uint8_t*, std::size_t)>& fn) {
  visit(data, 0, size, 1, fn);
}

}  // namespace scorejam
