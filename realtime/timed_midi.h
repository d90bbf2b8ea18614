// A MIDI channel message stamped with a steady-clock time: what flows between the MIDI input, the
// generator and the scheduler. Fixed size and trivially copyable, so that the lock-free queues and
// the real-time threads pass it by value without allocating.
#pragma once

#include <chrono>
#include <cstdint>

namespace scorejam {

using SteadyClock = std::chrono::steady_clock;

struct TimedMidi {
  std::int64_t time_ns = 0;         // SteadyClock time since its epoch
  std::uint8_t bytes[3] = {0, 0, 0};
  std::uint8_t size = 0;            // 1..3
};

inline std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

inline TimedMidi note_on(std::int64_t time_ns, int channel, int pitch, int velocity) noexcept {
  return {time_ns, {static_cast<std::uint8_t>(0x90 | (channel & 0x0F)), static_cast<std::uint8_t>(pitch & 0x7F),
                    static_cast<std::uint8_t>(velocity & 0x7F)}, 3};
}

inline TimedMidi note_off(std::int64_t time_ns, int channel, int pitch) noexcept {
  return {time_ns, {static_cast<std::uint8_t>(0x80 | (channel & 0x0F)), static_cast<std::uint8_t>(pitch & 0x7F), 0}, 3};
}

inline TimedMidi control_change(std::int64_t time_ns, int channel, int controller, int value) noexcept {
  return {time_ns, {static_cast<std::uint8_t>(0xB0 | (channel & 0x0F)), static_cast<std::uint8_t>(controller & 0x7F),
                    static_cast<std::uint8_t>(value & 0x7F)}, 3};
}

// A note-on with velocity 0 is a note-off (running-status keyboards send it that way).
inline bool is_note_on(const TimedMidi& m) noexcept { return m.size == 3 && (m.bytes[0] & 0xF0) == 0x90 && m.bytes[2] > 0; }
inline bool is_note_off(const TimedMidi& m) noexcept {
  return m.size == 3 && ((m.bytes[0] & 0xF0) == 0x80 || ((m.bytes[0] & 0xF0) == 0x90 && m.bytes[2] == 0));
}
inline int channel_of(const TimedMidi& m) noexcept { return m.bytes[0] & 0x0F; }

}  // namespace scorejam
