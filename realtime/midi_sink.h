// Where the scheduler's messages go: a MIDI output port, or a recorder in replay and tests.
// send() runs on the scheduler thread: it must not lock, allocate, block or throw.
#pragma once

#include <cstddef>
#include <cstdint>

namespace scorejam {

class MidiSink {
 public:
  virtual ~MidiSink() = default;
  virtual void send(const std::uint8_t* bytes, std::size_t size) noexcept = 0;
};

}  // namespace scorejam
