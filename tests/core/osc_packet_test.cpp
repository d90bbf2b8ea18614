// The OSC packet validator, one rule per test, on packets built here byte by byte.
#include "core/osc_packet.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace scorejam {
namespace {

using Bytes = std::vector<std::uint8_t>;

void append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

// An OSC string: the characters, a NUL, NULs up to a multiple of 4.
Bytes osc_string(std::string_view text) {
  Bytes out(text.begin(), text.end());
  out.push_back(0);
  while (out.size() % 4 != 0) out.push_back(0);
  return out;
}

Bytes be32(std::uint32_t value) {
  return {static_cast<std::uint8_t>(value >> 24), static_cast<std::uint8_t>(value >> 16),
          static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value)};
}

Bytes message(std::string_view address, std::string_view tags, const Bytes& payload = {}) {
  Bytes out = osc_string(address);
  append(out, osc_string(tags));
  append(out, payload);
  return out;
}

Bytes bundle(std::initializer_list<Bytes> elements) {
  Bytes out = osc_string("#bundle");
  append(out, {0, 0, 0, 0, 0, 0, 0, 1});  // time tag: immediately
  for (const auto& element : elements) {
    append(out, be32(static_cast<std::uint32_t>(element.size())));
    append(out, element);
  }
  return out;
}

std::optional<OscPacketError> validate(const Bytes& packet) { return validate_osc_packet(packet.data(), packet.size()); }

std::string what(const Bytes& packet) {
  const auto error = validate(packet);
  return error ? error->what : "(valid)";
}

TEST(OscPacket, AcceptsMessageWithoutArguments) { EXPECT_FALSE(validate(message("/scorejam/start", ","))); }

TEST(OscPacket, AcceptsEveryArgumentTypeLibloKnows) {
  Bytes payload;
  append(payload, be32(7));                        // i
  append(payload, be32(0x3f800000));               // f
  append(payload, be32('x'));                      // c
  append(payload, {0, 0x90, 60, 100});             // m
  append(payload, Bytes(8, 1));                    // h
  append(payload, Bytes(8, 2));                    // t
  append(payload, Bytes(8, 3));                    // d
  append(payload, osc_string("abcd"));             // s
  append(payload, osc_string("sym"));              // S
  append(payload, be32(5));                        // b: 5 bytes and 3 of padding
  append(payload, {1, 2, 3, 4, 5, 0, 0, 0});
  EXPECT_FALSE(validate(message("/a", ",ifcmhtdsSbTFNI", payload)));
}

TEST(OscPacket, RejectsEmptyPacket) { EXPECT_EQ(what({}), "empty packet"); }

TEST(OscPacket, RejectsSizeNotMultipleOfFour) {
  Bytes packet = message("/a", ",");
  packet.push_back(0);
  EXPECT_EQ(what(packet), "packet size 9 is not a multiple of 4");
}

TEST(OscPacket, RejectsAddressWithoutSlash) {
  const auto error = validate(message("scorejam", ","));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->offset, 0u);
  EXPECT_EQ(error->what, "address does not start with '/'");
}

TEST(OscPacket, RejectsStringWithoutTerminator) {
  const Bytes packet = {'/', 'a', 'b', 'c'};
  EXPECT_EQ(what(packet), "address has no terminating NUL inside the message");
}

TEST(OscPacket, RejectsStringPaddingThatIsNotNul) {
  Bytes packet = message("/a", ",");
  packet[3] = 'x';  // "/a\0x"
  const auto error = validate(packet);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->offset, 3u);
  EXPECT_EQ(error->what, "address: padding byte is not NUL");
}

TEST(OscPacket, RejectsMessageWithoutTypeTagString) {
  const auto error = validate(osc_string("/scorejam/start"));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->offset, 16u);
  EXPECT_EQ(error->what, "message has no type-tag string");
}

TEST(OscPacket, RejectsTypeTagStringWithoutComma) {
  EXPECT_EQ(what(message("/a", "i", be32(1))), "type-tag string does not start with ','");
}

TEST(OscPacket, RejectsNumberArgumentPastTheEnd) {
  const auto error = validate(message("/a", ",id", be32(1)));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->offset, 12u);
  EXPECT_EQ(error->what, "argument 'd' needs 8 bytes, 0 left in the message");
}

TEST(OscPacket, RejectsStringArgumentWithoutTerminator) {
  EXPECT_EQ(what(message("/a", ",s", {'a', 'b', 'c', 'd'})),
            "string argument has no terminating NUL inside the message");
}

TEST(OscPacket, RejectsBlobSizePastTheEnd) {
  Bytes payload = be32(9);
  append(payload, Bytes(8, 1));
  EXPECT_EQ(what(message("/a", ",b", payload)), "blob of 9 bytes runs past the end of the message (8 left)");
}

TEST(OscPacket, RejectsBlobSizeWithTopBitSet) {
  Bytes payload = be32(0xfffffffc);
  append(payload, Bytes(8, 1));
  EXPECT_EQ(what(message("/a", ",b", payload)), "blob of 4294967292 bytes runs past the end of the message (8 left)");
}

TEST(OscPacket, RejectsBlobPaddingThatIsNotNul) {
  Bytes payload = be32(1);
  append(payload, {7, 0, 1, 0});
  EXPECT_EQ(what(message("/a", ",b", payload)), "blob padding byte is not NUL");
}

TEST(OscPacket, RejectsBytesAfterTheLastArgument) {
  Bytes payload = be32(1);
  append(payload, be32(2));
  EXPECT_EQ(what(message("/a", ",i", payload)), "4 bytes after the last argument of the message");
}

TEST(OscPacket, RejectsUnknownTypeTag) { EXPECT_EQ(what(message("/a", ",x")), "unknown type tag 'x'"); }

TEST(OscPacket, NamesAnUnprintableTypeTagInHex) { EXPECT_EQ(what(message("/a", ",\x07")), "unknown type tag 0x07"); }

TEST(OscPacket, RejectsArrays) { EXPECT_EQ(what(message("/a", ",[i]", be32(1))), "arrays ('[' ']') are not supported"); }

TEST(OscPacket, RejectsRgbaWhichLibloDoesNotKnow) {
  EXPECT_EQ(what(message("/a", ",r", be32(0xff0000ff))), "type tag 'r' (RGBA colour) is not supported");
}

TEST(OscPacket, AcceptsEmptyBundle) { EXPECT_FALSE(validate(bundle({}))); }

TEST(OscPacket, AcceptsBundleWithTwoMessages) {
  EXPECT_FALSE(validate(bundle({message("/a", ",i", be32(1)), message("/b", ",")})));
}

TEST(OscPacket, RejectsBundleShorterThanItsHeader) {
  EXPECT_EQ(what(osc_string("#bundle")), "bundle shorter than its 16-byte header");
}

TEST(OscPacket, RejectsElementStartingWithHashThatIsNotABundle) {
  Bytes packet = bundle({});
  packet[1] = 'B';
  EXPECT_EQ(what(packet), "element starting with '#' is not a \"#bundle\"");
}

// The datagram that makes liblo 0.31 read past its buffer.
TEST(OscPacket, RejectsBundleElementOfSizeZero) {
  const Bytes crafted = {0x23, 0x62, 0x75, 0x6e, 0x64, 0x6c, 0x65, 0x00, 0x00, 0x00,
                         0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00};
  const auto error = validate(crafted);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->offset, 16u);
  EXPECT_EQ(error->what, "bundle element of size 0");
  EXPECT_EQ(to_string(*error), "byte 16: bundle element of size 0");
}

TEST(OscPacket, RejectsBundleElementSizeNotMultipleOfFour) {
  Bytes packet = bundle({message("/a", ",")});
  packet[19] = 6;
  EXPECT_EQ(what(packet), "bundle element size 6 is not a multiple of 4");
}

TEST(OscPacket, RejectsBundleElementPastTheEnd) {
  Bytes packet = bundle({message("/a", ",")});
  packet[19] = 12;
  EXPECT_EQ(what(packet), "bundle element of 12 bytes runs past the end (8 left)");
}

TEST(OscPacket, RejectsInvalidMessageInsideABundle) {
  const auto error = validate(bundle({message("/a", ","), message("a", ",")}));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->offset, 32u);
  EXPECT_EQ(error->what, "address does not start with '/'");
}

TEST(OscPacket, AcceptsNestedBundle) {
  EXPECT_FALSE(validate(bundle({message("/a", ","), bundle({message("/b", ",")})})));
}

Bytes nested(int depth) {
  Bytes packet = bundle({message("/deep", ",")});
  for (int i = 1; i < depth; ++i) packet = bundle({packet});
  return packet;
}

TEST(OscPacket, AcceptsBundlesNestedToTheLimit) { EXPECT_FALSE(validate(nested(kMaxOscBundleDepth))); }

TEST(OscPacket, RejectsBundlesNestedPastTheLimit) {
  EXPECT_EQ(what(nested(kMaxOscBundleDepth + 1)), "bundles nested deeper than 8");
}

std::vector<std::string> visited_addresses(const Bytes& packet) {
  std::vector<std::string> addresses;
  for_each_osc_message(packet.data(), packet.size(), [&](const std::uint8_t* data, std::size_t size) {
    EXPECT_GE(data, packet.data());
    EXPECT_LE(data + size, packet.data() + packet.size());
    addresses.emplace_back(reinterpret_cast<const char*>(data));
  });
  return addresses;
}

TEST(OscPacket, VisitsASingleMessage) {
  EXPECT_EQ(visited_addresses(message("/a", ",i", be32(1))), std::vector<std::string>{"/a"});
}

TEST(OscPacket, VisitsEveryMessageOfNestedBundlesInOrder) {
  const Bytes packet = bundle({message("/a", ","), bundle({message("/b", ","), message("/c", ",")}), message("/d", ",")});
  ASSERT_FALSE(validate(packet));
  EXPECT_EQ(visited_addresses(packet), (std::vector<std::string>{"/a", "/b", "/c", "/d"}));
}

}  // namespace
}  // namespace scorejam
