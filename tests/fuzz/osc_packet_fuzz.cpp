// libFuzzer target for the OSC packet validator. A refusal is the expected answer to bad input. For
// an accepted packet, each message visited must lie inside the packet, start with '/', and
// deserialise with liblo from an exact-size heap copy (so that ASan sees a read past its end in
// liblo's memcpy/strlen; liblo itself is not instrumented), its arguments must read back as the
// server reads them, and serialising it again must give the same bytes. liblo refusing an
// accepted message, or a different round trip, means the validator must be tightened: a finding.
#include <lo/lo.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/osc_packet.h"

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

void check_message(const std::uint8_t* message, std::size_t size) {
  const std::vector<std::uint8_t> copy(message, message + size);
  int result = 0;
  lo_message m = lo_message_deserialise(const_cast<std::uint8_t*>(copy.data()), copy.size(), &result);
  if (m == nullptr) {
    std::fprintf(stderr, "liblo refused a message the validator accepted (liblo error %d)\n", result);
    std::abort();
  }
  const char* types = lo_message_get_types(m);
  const int count = lo_message_get_argc(m);
  lo_arg** argv = lo_message_get_argv(m);
  check(count >= 0 && static_cast<std::size_t>(count) == std::strlen(types), "argument count matches the type tags");
  std::size_t text_bytes = 0;
  for (int i = 0; i < count; ++i) {
    switch (types[i]) {
      case 's': text_bytes += std::strlen(reinterpret_cast<const char*>(argv[i])); break;
      case 'S': text_bytes += std::strlen(reinterpret_cast<const char*>(argv[i])); break;
      case 'b': {
        std::int32_t blob_bytes = 0;  // lo_arg is 8-aligned in type only: liblo's pointers are 4-aligned
        std::memcpy(&blob_bytes, argv[i], sizeof blob_bytes);
        check(blob_bytes >= 0 && static_cast<std::size_t>(blob_bytes) < size, "blob inside the message");
        break;
      }
      default: break;
    }
  }
  check(text_bytes < size, "strings inside the message");

  const char* path = reinterpret_cast<const char*>(copy.data());
  std::size_t length = lo_message_length(m, path);
  check(length == size, "serialised length equals the received length");
  std::vector<std::uint8_t> again(length);
  lo_message_serialise(m, path, again.data(), &length);
  check(again == copy, "serialising the parsed message gives the received bytes");
  lo_message_free(m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (scorejam::validate_osc_packet(data, size)) return 0;
  scorejam::for_each_osc_message(data, size, [&](const std::uint8_t* message, std::size_t bytes) {
    check(message >= data && bytes > 0 && bytes <= size && message + bytes <= data + size,
          "message inside the packet");
    check(bytes % 4 == 0, "message size a multiple of 4");
    check(message[0] == '/', "message address starts with '/'");
    check_message(message, bytes);
  });
  return 0;
}
