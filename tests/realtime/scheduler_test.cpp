// Scheduler tests, with a sink that records into a preallocated buffer (it runs on the scheduler
// thread and must not allocate or lock either) and rt_guard watching the scheduler thread.
#include "realtime/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/types.h>

#include "tests/realtime/rt_guard.h"

namespace scorejam {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kUs = 1'000;

class RecordingSink final : public MidiSink {
 public:
  explicit RecordingSink(std::size_t capacity = 4096) : records_(capacity) {}

  void send(const std::uint8_t* bytes, std::size_t size) noexcept override {
    const std::size_t i = count_.load(std::memory_order_relaxed);
    if (i == records_.size()) return;
    TimedMidi& record = records_[i];
    record.time_ns = now_ns();
    std::memcpy(record.bytes, bytes, std::min<std::size_t>(size, 3));
    record.size = static_cast<std::uint8_t>(size);
    count_.store(i + 1, std::memory_order_release);
  }

  std::size_t count() const { return count_.load(std::memory_order_acquire); }
  std::vector<TimedMidi> records() const { return {records_.begin(), records_.begin() + static_cast<std::ptrdiff_t>(count())}; }

  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = 5000ms) const {
    const auto deadline = SteadyClock::now() + timeout;
    while (count() < n) {
      if (SteadyClock::now() > deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }

 private:
  std::vector<TimedMidi> records_;
  std::atomic<std::size_t> count_{0};
};

bool same_message(const TimedMidi& a, const TimedMidi& b) {
  return a.size == b.size && std::memcmp(a.bytes, b.bytes, a.size) == 0;
}

std::string describe(const TimedMidi& m) {
  char text[32];
  std::snprintf(text, sizeof text, "%02X %02X %02X", m.bytes[0], m.bytes[1], m.bytes[2]);
  return text;
}

std::vector<std::string> describe(const std::vector<TimedMidi>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(describe(m));
  return out;
}

// What every silence sends on one used channel after the ledger's note-offs.
std::vector<std::string> controller_reset(int channel) {
  return {describe(control_change(0, channel, 64, 0)), describe(control_change(0, channel, 123, 0)),
          describe(control_change(0, channel, 120, 0))};
}

void sleep_until_ns(std::int64_t time_ns) {
  const std::int64_t left = time_ns - now_ns();
  if (left > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(left));
}

bool wait_until_sent(const Scheduler& scheduler, std::int64_t n, std::chrono::milliseconds timeout = 5000ms) {
  const auto deadline = SteadyClock::now() + timeout;
  while (scheduler.stats().sent < n) {
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// ---- the guard itself ----

TEST(RtGuard, CountsAllocationsAndLocksOnAWatchedThread) {
  rt_guard::reset();
  std::mutex mutex;
  std::thread([&] {
    rt_guard::watch_this_thread();
    auto* numbers = new std::vector<int>(1000, 7);
    asm volatile("" : : "g"(numbers->data()) : "memory");  // keep the allocation observable
    void* raw = std::malloc(64);
    asm volatile("" : : "g"(raw) : "memory");
    std::free(raw);
    delete numbers;
    { std::lock_guard<std::mutex> lock(mutex); }
    rt_guard::unwatch_this_thread();
  }).join();
  const auto counts = rt_guard::counts();
  EXPECT_GE(counts.allocations, 3);  // the vector object, its buffer, malloc
  EXPECT_GE(counts.frees, 3);
  EXPECT_GE(counts.locks, 1);
  EXPECT_EQ(counts.watched_threads, 1);
}

TEST(RtGuard, IgnoresThreadsThatAreNotWatched) {
  rt_guard::reset();
  std::mutex mutex;
  std::thread([&] {
    auto* numbers = new std::vector<int>(1000, 7);
    asm volatile("" : : "g"(numbers->data()) : "memory");
    delete numbers;
    std::lock_guard<std::mutex> lock(mutex);
  }).join();
  const auto counts = rt_guard::counts();
  EXPECT_EQ(counts.allocations, 0);
  EXPECT_EQ(counts.frees, 0);
  EXPECT_EQ(counts.locks, 0);
}

// ---- the real-time rules ----

TEST(Scheduler, ThreadNeitherAllocatesNorLocksWhilePlayingSilencingAndStopping) {
  RecordingSink sink;
  SchedulerConfig config;  // SCHED_FIFO and mlock attempted, as on stage
  config.on_thread_start = rt_guard::watch_hook;
  config.on_thread_exit = rt_guard::unwatch_hook;
  Scheduler scheduler(sink, config);
  ASSERT_TRUE(scheduler.schedule(control_change(now_ns(), 0, 7, 100)));  // this thread's producer slot
  rt_guard::reset();
  scheduler.start();
  ASSERT_EQ(rt_guard::counts().watched_threads, 1) << "the hook did not run: the guard would count nothing";

  // 150 note-ons over 4 channels, 140 of them ended, plus 20 far-future events for silence() to drop.
  std::int64_t t = now_ns() + 5 * kMs;
  for (int i = 0; i < 150; ++i, t += 200 * kUs) {
    ASSERT_TRUE(scheduler.schedule(note_on(t, i % 4, 40 + i % 40, 100)));
    if (i < 140) ASSERT_TRUE(scheduler.schedule(note_off(t + 100 * kUs, i % 4, 40 + i % 40)));
  }
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(scheduler.schedule(note_on(now_ns() + 10'000 * kMs, 5, 60, 100)));
  ASSERT_TRUE(wait_until_sent(scheduler, 1 + 290));
  scheduler.silence();
  ASSERT_TRUE(scheduler.wait_silent(1000ms));

  t = now_ns() + 2 * kMs;
  for (int i = 0; i < 50; ++i, t += 200 * kUs) {
    ASSERT_TRUE(scheduler.schedule(note_on(t, i % 2, 60 + i % 12, 90)));
    ASSERT_TRUE(scheduler.schedule(note_off(t + 50 * kUs, i % 2, 60 + i % 12)));
  }
  ASSERT_TRUE(scheduler.schedule(note_on(t, 1, 30, 90)));  // left sounding for stop()
  ASSERT_TRUE(wait_until_sent(scheduler, 1 + 290 + 101));
  scheduler.stop();

  const auto counts = rt_guard::counts();
  EXPECT_EQ(counts.allocations, 0);
  EXPECT_EQ(counts.frees, 0);
  EXPECT_EQ(counts.locks, 0);
  EXPECT_EQ(scheduler.stats().silences, 2);
  EXPECT_EQ(scheduler.stats().dropped_stale, 20);
}

TEST(Scheduler, ThreadIsNamedAndRunsUnderSchedFifoExactlyWhenItReportsSo) {
  RecordingSink sink;
  Scheduler scheduler(sink, SchedulerConfig{});
  scheduler.start();
  pid_t tid = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name == "scorejam-sched") tid = static_cast<pid_t>(std::stol(task.path().filename().string()));
  }
  ASSERT_NE(tid, 0) << "no thread named scorejam-sched";
  EXPECT_EQ(sched_getscheduler(tid) == SCHED_FIFO, scheduler.stats().realtime_priority);
  std::cout << "SCHED_FIFO granted here: " << scheduler.stats().realtime_priority
            << ", memory locked: " << scheduler.stats().memory_locked << "\n";
}

TEST(Scheduler, KeepsNormalPriorityWhenRealtimeIsNotAsked) {
  RecordingSink sink;
  SchedulerConfig config;
  config.realtime_priority = false;
  config.lock_memory = false;
  Scheduler scheduler(sink, config);
  scheduler.start();
  EXPECT_FALSE(scheduler.stats().realtime_priority);
  EXPECT_FALSE(scheduler.stats().memory_locked);
}

// ---- order ----

TEST(Scheduler, SendsEventsInTimeOrderWhateverTheScheduleOrder) {
  RecordingSink sink;
  Scheduler scheduler(sink, SchedulerConfig{});
  scheduler.start();
  std::vector<int> order(50);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  const std::int64_t base = now_ns() + 100 * kMs;
  for (int k : order) ASSERT_TRUE(scheduler.schedule(note_on(base + k * 300 * kUs, 0, 20 + k, 100)));
  ASSERT_TRUE(sink.wait_for(50));
  const auto records = sink.records();
  for (int k = 0; k < 50; ++k) EXPECT_EQ(records[static_cast<std::size_t>(k)].bytes[1], 20 + k) << "at " << k;
}

TEST(Scheduler, SendsNoteOffBeforeNoteOnOfOnePitchAtOneTime) {
  RecordingSink sink;
  Scheduler scheduler(sink, SchedulerConfig{});
  scheduler.start();
  const std::int64_t t = now_ns() + 20 * kMs;
  ASSERT_TRUE(scheduler.schedule(note_on(t, 0, 60, 100)));
  ASSERT_TRUE(scheduler.schedule(note_on(t + 10 * kMs, 0, 60, 90)));  // scheduled before the off it follows
  ASSERT_TRUE(scheduler.schedule(note_off(t + 10 * kMs, 0, 60)));
  ASSERT_TRUE(sink.wait_for(3));
  EXPECT_EQ(describe(sink.records()), describe(std::vector<TimedMidi>{note_on(0, 0, 60, 100), note_off(0, 0, 60),
                                                                      note_on(0, 0, 60, 90)}));
  EXPECT_EQ(scheduler.stats().sounding_notes, 1);
}

TEST(Scheduler, KeepsArrivalOrderOfOtherMessagesAtOneTime) {
  RecordingSink sink;
  Scheduler scheduler(sink, SchedulerConfig{});
  scheduler.start();
  const std::int64_t t = now_ns() + 20 * kMs;
  const std::vector<TimedMidi> messages{note_on(t, 0, 62, 80), control_change(t, 0, 64, 127), note_on(t, 0, 60, 80),
                                        control_change(t, 0, 1, 5), note_on(t, 1, 40, 70)};
  for (const auto& m : messages) ASSERT_TRUE(scheduler.schedule(m));
  ASSERT_TRUE(sink.wait_for(messages.size()));
  EXPECT_EQ(describe(sink.records()), describe(messages));
}

// ---- lateness ----

TEST(Scheduler, SendsNoEventBeforeItIsDueAndReportsLateness) {
  RecordingSink sink;
  Scheduler scheduler(sink, SchedulerConfig{});
  scheduler.start();
  std::vector<std::int64_t> due;
  const std::int64_t base = now_ns() + 10 * kMs;
  for (int k = 0; k < 100; ++k) {
    due.push_back(base + k * kMs);
    ASSERT_TRUE(scheduler.schedule(note_on(due.back(), 0, k, 100)));
  }
  ASSERT_TRUE(sink.wait_for(100));
  for (const auto& record : sink.records()) EXPECT_GE(record.time_ns, due[record.bytes[1]]) << "pitch " << int{record.bytes[1]};
  const auto stats = scheduler.stats();
  EXPECT_EQ(stats.sent, 100);
  EXPECT_GE(stats.lateness_us_p50, 0);
  EXPECT_LE(stats.lateness_us_p50, stats.lateness_us_p99);
  EXPECT_LE(stats.lateness_us_p99, stats.lateness_us_max);
  EXPECT_GT(stats.lateness_us_max, 0);
  std::cout << "lateness us p50/p99/max: " << stats.lateness_us_p50 << " / " << stats.lateness_us_p99 << " / "
            << stats.lateness_us_max << " (100 events, 1 ms apart)\n";
}

TEST(Scheduler, ResetLatenessClearsThePercentilesButNotTheCounts) {
  RecordingSink sink;
  Scheduler scheduler(sink, SchedulerConfig{});
  scheduler.start();
  for (int k = 0; k < 10; ++k) ASSERT_TRUE(scheduler.schedule(note_on(now_ns() + k * kMs, 0, k, 100)));
  ASSERT_TRUE(wait_until_sent(scheduler, 10));
  ASSERT_GT(scheduler.stats().lateness_us_max, 0);
  scheduler.reset_lateness();
  const auto stats = scheduler.stats();
  EXPECT_EQ(stats.lateness_us_p50, 0);
  EXPECT_EQ(stats.lateness_us_p99, 0);
  EXPECT_EQ(stats.lateness_us_max, 0);
  EXPECT_EQ(stats.sent, 10);
}

// ---- silence ----

TEST(Scheduler, SilenceDropsPendingEvents) {
  RecordingSink sink;
  Scheduler scheduler(sink, SchedulerConfig{});
  scheduler.start();
  const std::int64_t t = now_ns();
  ASSERT_TRUE(scheduler.schedule(note_on(t + 2 * kMs, 0, 60, 100)));
  ASSERT_TRUE(scheduler.schedule(note_off(t + 150 * kMs, 0, 60)));
  for (int p = 61; p <= 70; ++p) ASSERT_TRUE(scheduler.schedule(note_on(t + 150 * kMs, 0, p, 100)));
  ASSERT_TRUE(sink.wait_for(1));
  scheduler.silence();
  ASSERT_TRUE(scheduler.wait_silent(1000ms));
  sleep_until_ns(t + 250 * kMs);
  std::vector<std::string> expected{describe(note_on(0, 0, 60, 100)), describe(note_off(0, 0, 60))};
  for (const auto& cc : controller_reset(0)) expected.push_back(cc);
  EXPECT_EQ(describe(sink.records()), expected);
  EXPECT_EQ(scheduler.stats().dropped_stale, 11);
  EXPECT_EQ(scheduler.stats().silences, 1);
}

TEST(Scheduler, SilenceDropsEventsScheduledJustBeforeIt) {
  RecordingSink sink;
  Scheduler scheduler(sink, SchedulerConfig{});
  scheduler.start();
  const std::int64_t t = now_ns() + 20 * kMs;
  for (int k = 0; k < 100; ++k) ASSERT_TRUE(scheduler.schedule(note_on(t + k * kUs, 0, k, 100)));
  scheduler.silence();  // most are still in the queue, not yet taken by the thread
  ASSERT_TRUE(scheduler.wait_silent(1000ms));
  sleep_until_ns(t + 50 * kMs);
  EXPECT_EQ(sink.count(), 0u) << "nothing was ever sent, so the silence has nothing to end either";
  EXPECT_EQ(scheduler.stats().dropped_stale, 100);
}

TEST(Scheduler, SilenceEndsEverySoundingNoteThenResetsControllersPerUsedChannel) {
  RecordingSink sink;
  Scheduler scheduler(sink, SchedulerConfig{});
  scheduler.start();
  const std::int64_t t = now_ns() + 2 * kMs;
  const std::vector<TimedMidi> played{note_on(t, 0, 60, 100), note_on(t, 0, 60, 90),  // struck twice: two offs
                                      note_on(t, 3, 64, 100), note_on(t, 0, 62, 100),
                                      note_off(t + kMs, 0, 62), control_change(t, 5, 7, 100)};
  for (const auto& m : played) ASSERT_TRUE(scheduler.schedule(m));
  ASSERT_TRUE(sink.wait_for(played.size()));
  EXPECT_EQ(scheduler.stats().sounding_notes, 3);
  scheduler.silence();
  ASSERT_TRUE(scheduler.wait_silent(1000ms));

  const auto records = sink.records();
  const std::vector<TimedMidi> after(records.begin() + static_cast<std::ptrdiff_t>(played.size()), records.end());
  std::vector<std::string> expected{describe(note_off(0, 0, 60)), describe(note_off(0, 0, 60)), describe(note_off(0, 3, 64))};
  for (int channel : {0, 3, 5})
    for (const auto& cc : controller_reset(channel)) expected.push_back(cc);
  EXPECT_EQ(describe(after), expected);
  EXPECT_EQ(scheduler.stats().sounding_notes, 0);
}

TEST(Scheduler, EventsScheduledAfterSilenceReturnsPlay) {
  RecordingSink sink;
  Scheduler scheduler(sink, SchedulerConfig{});
  scheduler.start();
  // Each round's new events are scheduled right after silence() returns, usually before the thread
  // has carried it out; they must survive it. (The next round's silence would rightly drop them,
  // so each round waits for them to play.)
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(scheduler.schedule(note_on(now_ns() + 30 * kMs, 1, 100, 100)));  // must never sound
    scheduler.silence();
    const std::int64_t t = now_ns();
    ASSERT_TRUE(scheduler.schedule(note_on(t + round * 50 * kUs, 0, 20 + round, 100)));
    ASSERT_TRUE(scheduler.schedule(note_off(t + round * 50 * kUs + kMs, 0, 20 + round)));
    ASSERT_TRUE(wait_until_sent(scheduler, 2 * (round + 1), 2000ms)) << "round " << round;
  }
  std::this_thread::sleep_for(40ms);
  int new_notes = 0;
  for (const auto& m : sink.records()) {
    EXPECT_FALSE(is_note_on(m) && channel_of(m) == 1) << "an event scheduled before a silence played";
    if (is_note_on(m) && channel_of(m) == 0) ++new_notes;
  }
  EXPECT_EQ(new_notes, 20);
  EXPECT_EQ(scheduler.stats().dropped_stale, 20);
}

// ---- stop ----

TEST(Scheduler, StopEndsSoundingNotesAndIsIdempotent) {
  RecordingSink sink;
  Scheduler scheduler(sink, SchedulerConfig{});
  scheduler.start();
  ASSERT_TRUE(scheduler.schedule(note_on(now_ns() + kMs, 0, 60, 100)));
  ASSERT_TRUE(scheduler.schedule(note_on(now_ns() + kMs, 2, 48, 100)));
  ASSERT_TRUE(sink.wait_for(2));
  scheduler.stop();
  scheduler.stop();
  std::vector<std::string> expected{describe(note_on(0, 0, 60, 100)), describe(note_on(0, 2, 48, 100)),
                                    describe(note_off(0, 0, 60)), describe(note_off(0, 2, 48))};
  for (int channel : {0, 2})
    for (const auto& cc : controller_reset(channel)) expected.push_back(cc);
  EXPECT_EQ(describe(sink.records()), expected);
}

TEST(Scheduler, DestructorWithoutStopEndsSoundingNotes) {
  RecordingSink sink;
  {
    Scheduler scheduler(sink, SchedulerConfig{});
    scheduler.start();
    ASSERT_TRUE(scheduler.schedule(note_on(now_ns(), 9, 36, 100)));
    ASSERT_TRUE(sink.wait_for(1));
  }
  std::vector<std::string> expected{describe(note_on(0, 9, 36, 100)), describe(note_off(0, 9, 36))};
  for (const auto& cc : controller_reset(9)) expected.push_back(cc);
  EXPECT_EQ(describe(sink.records()), expected);
}

TEST(Scheduler, DestructorOfAnUnstartedSchedulerSendsNothing) {
  RecordingSink sink;
  {
    Scheduler scheduler(sink, SchedulerConfig{});
    ASSERT_TRUE(scheduler.schedule(note_on(now_ns(), 0, 60, 100)));
    scheduler.silence();
    EXPECT_FALSE(scheduler.wait_silent(10ms)) << "no thread carries it out";
  }
  EXPECT_EQ(sink.count(), 0u);
}

// ---- limits and errors ----

TEST(Scheduler, ScheduleReturnsFalseAndCountsWhenFull) {
  RecordingSink sink;
  SchedulerConfig config;
  config.capacity = 64;
  Scheduler scheduler(sink, config);
  scheduler.start();
  const std::int64_t far = now_ns() + 60'000 * kMs;
  for (int i = 0; i < 64; ++i) ASSERT_TRUE(scheduler.schedule(note_on(far, 0, 60, 100))) << "at " << i;
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(scheduler.schedule(note_on(far, 0, 60, 100)));
  EXPECT_EQ(scheduler.stats().dropped_full, 10);
  scheduler.silence();
  ASSERT_TRUE(scheduler.wait_silent(1000ms));
  EXPECT_TRUE(scheduler.schedule(note_on(far, 0, 60, 100))) << "a silence frees the room its dropped events held";
}

TEST(Scheduler, RejectsMessagesOfNoOrTooManyBytes) {
  RecordingSink sink;
  Scheduler scheduler(sink, SchedulerConfig{});
  TimedMidi empty = note_on(now_ns(), 0, 60, 100);
  empty.size = 0;
  TimedMidi oversized = empty;
  oversized.size = 4;
  EXPECT_FALSE(scheduler.schedule(empty));
  EXPECT_FALSE(scheduler.schedule(oversized));
  EXPECT_EQ(scheduler.stats().rejected, 2);
}

TEST(Scheduler, RejectsCapacityOutsideItsRange) {
  RecordingSink sink;
  for (std::size_t capacity : {std::size_t{0}, std::size_t{1'000'000}}) {
    SchedulerConfig config;
    config.capacity = capacity;
    try {
      Scheduler scheduler(sink, config);
      ADD_FAILURE() << "capacity " << capacity << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("SchedulerConfig.capacity"), std::string::npos) << e.what();
    }
  }
}

TEST(Scheduler, StartingTwiceIsAnError) {
  RecordingSink sink;
  Scheduler scheduler(sink, SchedulerConfig{});
  scheduler.start();
  EXPECT_THROW(scheduler.start(), std::logic_error);
}

TEST(Scheduler, LocksItsMemoryWhenTheSystemAllows) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "under a sanitizer mlock is a no-op that reports success, so VmLck cannot grow: "
                  "the normal build runs this test";
#endif
  const auto locked_kib = [] {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("VmLck:", 0) == 0) return std::stol(line.substr(6));
    return -1L;
  };
  // What the system allows, asked the same way: lock (and unlock) a 512 KiB anonymous mapping.
  const std::size_t probe_bytes = 512 * 1024;
  void* probe = mmap(nullptr, probe_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(probe, MAP_FAILED);
  const bool allowed = mlock(probe, probe_bytes) == 0;
  munmap(probe, probe_bytes);

  RecordingSink sink;
  const long before = locked_kib();
  Scheduler scheduler(sink, SchedulerConfig{});
  scheduler.start();
  EXPECT_EQ(scheduler.stats().memory_locked, allowed);
  if (allowed) EXPECT_GE(locked_kib() - before, 512) << "the 512 KiB stack at least";
}

// ---- the sent log ----

TEST(Scheduler, PopSentReturnsWhatWasSentWithItsSentTime) {
  RecordingSink sink;
  Scheduler scheduler(sink, SchedulerConfig{});
  scheduler.start();
  std::vector<TimedMidi> scheduled;
  const std::int64_t base = now_ns() + 2 * kMs;
  for (int k = 0; k < 5; ++k) {
    scheduled.push_back(k % 2 == 0 ? note_on(base + k * kMs, 0, 60, 100) : note_off(base + k * kMs, 0, 60));
    ASSERT_TRUE(scheduler.schedule(scheduled.back()));
  }
  ASSERT_TRUE(sink.wait_for(5));
  for (const auto& expected : scheduled) {
    TimedMidi sent;
    ASSERT_TRUE(scheduler.pop_sent(sent));
    EXPECT_TRUE(same_message(sent, expected)) << describe(sent) << " vs " << describe(expected);
    EXPECT_GE(sent.time_ns, expected.time_ns);
  }
  TimedMidi none;
  EXPECT_FALSE(scheduler.pop_sent(none));
}

}  // namespace
}  // namespace scorejam
