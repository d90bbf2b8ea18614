// The timed MIDI scheduler: its own thread ("scorejam-sched") takes events from a lock-free queue,
// keeps them ordered by time, sleeps until each is due and sends it to a MidiSink. It keeps a
// ledger of sounding notes so that every stop path (silence(), stop(), the destructor) ends them.
// Public calls run on other threads (schedule: any; the rest: the control thread); the scheduler
// thread never locks, allocates, throws, logs or blocks on anything but the clock and the queue.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "realtime/midi_sink.h"
#include "realtime/timed_midi.h"

namespace scorejam {

struct SchedulerConfig {
  std::size_t capacity = 8192;          // events held at once (1..32768); all storage preallocated
  bool realtime_priority = true;        // try SCHED_FIFO
  int priority = 70;                    // SCHED_FIFO priority when allowed
  bool lock_memory = true;              // mlock the scheduler's own buffers and stack (never mlockall: LibTorch shares the process)
  std::chrono::microseconds spin{300};  // sleep until due - spin, then spin
  std::chrono::microseconds poll{1000}; // longest sleep before looking at the queue again
  // Called once on the scheduler thread before its loop and once after it (after the final
  // silence), with on_thread_arg. For pinning, watchdogs and the tests' allocation guard; they
  // run on the real-time thread, so they obey its rules outside their own call.
  void (*on_thread_start)(void*) = nullptr;
  void (*on_thread_exit)(void*) = nullptr;
  void* on_thread_arg = nullptr;
};

struct SchedulerStats {
  std::int64_t sent = 0, dropped_full = 0, dropped_stale = 0, silences = 0;
  std::int64_t rejected = 0;            // schedule() given a size outside 1..3
  std::int64_t sent_log_dropped = 0;    // sent events nobody took with pop_sent() in time
  double lateness_us_p50 = 0, lateness_us_p99 = 0, lateness_us_max = 0;
  bool realtime_priority = false;       // SCHED_FIFO granted
  bool memory_locked = false;
  int sounding_notes = 0;               // in the ledger now
};

// dropped_full: schedule() refused because `capacity` events were already held.
// dropped_stale: events a silence() dropped (scheduled before it and not yet sent).
// Lateness: sent time (taken just before MidiSink::send) minus due time, in 1 µs buckets up to
// 20 ms; p50/p99 read a bucket's lower edge (the max above 20 ms), the max is exact. Only scheduled
// events count; the messages a silence sends have no due time.
class Scheduler {
 public:
  Scheduler(MidiSink& sink, const SchedulerConfig& config);  // throws std::invalid_argument on a bad config
  ~Scheduler();                 // stop()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Starts the thread and returns once it runs (priority and memory lock settled). Once per
  // Scheduler: a second call throws std::logic_error. Throws std::runtime_error when the thread
  // cannot be created.
  void start();
  void stop();                  // silences, sends what that needs, joins; idempotent
  // Any thread; never blocks. False (and counted) when full or when the size is not 1..3.
  // A thread's first call allocates its producer slot in the queue: call it once off stage.
  bool schedule(const TimedMidi& event);
  // Any thread: drops every pending event scheduled before this call, then sends the ledger's
  // note-offs, then CC 64 = 0, CC 123 and CC 120 on every channel used so far. Carried out by the
  // thread within about `poll`; events scheduled after this returns play normally.
  void silence();
  bool wait_silent(std::chrono::milliseconds timeout);  // control thread: the last silence() was carried out
  // One consumer thread (not real-time): the messages as they were sent, silences' included,
  // time_ns = sent time. A bounded ring; what overflows it is counted in sent_log_dropped.
  bool pop_sent(TimedMidi& sent);
  SchedulerStats stats() const;  // control thread
  void reset_lateness();         // control thread

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace scorejam
