// The scheduler: Scheduler's public calls run on producer threads (schedule) and the control
// thread (the rest). Impl::run() and all it calls run on the scheduler thread, which must never
// lock, allocate, throw, log, or block on anything but clock_nanosleep and the lock-free queue:
// everything it touches is allocated (and, when allowed, mlocked) before it starts.
#include "realtime/scheduler.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <concurrentqueue/concurrentqueue.h>

namespace scorejam {
namespace {

constexpr std::size_t kMaxCapacity = 32768;
#if defined(__SANITIZE_THREAD__)
constexpr std::size_t kStackBytes = 4 * 1024 * 1024;  // ThreadSanitizer keeps ~1 MiB of its own on each stack
#else
constexpr std::size_t kStackBytes = 512 * 1024;
#endif
constexpr std::size_t kLatenessBuckets = 20000;  // 1 µs each, then one bucket for all above 20 ms
constexpr std::size_t kMaxProducerThreads = 16;  // sizes the queue's preallocated block pool only

struct QueueTraits : moodycamel::ConcurrentQueueDefaultTraits {
  // try_enqueue never grows a producer's block index, so the first index must already hold
  // kMaxCapacity events (32 per block) with room for a partly used block at each end.
  static const std::size_t IMPLICIT_INITIAL_INDEX_SIZE = 2048;
};

struct Queued {
  TimedMidi event;
  std::uint64_t seq = 0;    // arrival order
  std::uint64_t epoch = 0;  // silences requested before it was scheduled
};

// Heap comparator: a max-heap under "later" keeps the earliest event at the front; at one time a
// note-off goes before anything else, then arrival order.
bool later(const Queued& a, const Queued& b) noexcept {
  if (a.event.time_ns != b.event.time_ns) return a.event.time_ns > b.event.time_ns;
  const bool a_off = is_note_off(a.event), b_off = is_note_off(b.event);
  if (a_off != b_off) return b_off;
  return a.seq > b.seq;
}

void sleep_until_ns(std::int64_t time_ns) noexcept {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(time_ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(time_ns % 1'000'000'000);
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);  // EINTR: the loop looks again
}

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

std::size_t next_power_of_two(std::size_t n) {
  std::size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

struct Scheduler::Impl {
  Impl(MidiSink& sink_, const SchedulerConfig& config_)
      : sink(sink_),
        config(config_),
        spin_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(config_.spin).count()),
        poll_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(config_.poll).count()),
        queue(config_.capacity, 0, kMaxProducerThreads),
        lateness(new std::atomic<std::uint64_t>[kLatenessBuckets + 1]()),
        ring_mask(next_power_of_two(std::max<std::size_t>(config_.capacity, 1024)) - 1),
        ring(new TimedMidi[ring_mask + 1]) {
    heap.reserve(config.capacity);
  }

  static void* thread_main(void* self) noexcept;
  void run() noexcept;
  void carry_out_silence(std::uint64_t generation) noexcept;
  void take_queued() noexcept;
  void send_next() noexcept;
  std::int64_t send(const TimedMidi& message) noexcept;
  void log_sent(const TimedMidi& message, std::int64_t sent_ns) noexcept;
  bool lock_memory() noexcept;
  void unlock_memory() noexcept;

  MidiSink& sink;
  const SchedulerConfig config;
  const std::int64_t spin_ns, poll_ns;

  moodycamel::ConcurrentQueue<Queued, QueueTraits> queue;
  std::vector<Queued> heap;  // scheduler thread only; reserved to capacity
  std::unique_ptr<std::atomic<std::uint64_t>[]> lateness;
  std::atomic<std::int64_t> lateness_max_ns{0};

  // Sent log: single producer (scheduler thread), single consumer (pop_sent).
  const std::size_t ring_mask;
  std::unique_ptr<TimedMidi[]> ring;
  alignas(64) std::atomic<std::uint64_t> ring_head{0};
  alignas(64) std::atomic<std::uint64_t> ring_tail{0};

  // Ledger, scheduler thread only: note-ons minus note-offs sent, per channel and pitch.
  std::array<std::array<std::uint16_t, 128>, 16> ledger{};
  std::uint16_t used_channels = 0;  // bit per channel that was ever sent a message
  int sounding = 0;
  std::uint64_t handled_epoch = 0;

  alignas(64) std::atomic<std::int64_t> pending{0};  // scheduled, not yet sent or dropped
  std::atomic<std::uint64_t> next_seq{0};
  std::atomic<std::uint64_t> silence_requested{0}, silence_done{0};
  std::atomic<bool> stop_requested{false}, running{false}, realtime_granted{false};
  std::atomic<int> sounding_notes{0};
  std::atomic<std::int64_t> sent{0}, dropped_full{0}, dropped_stale{0}, silences{0}, rejected{0},
      sent_log_dropped{0};

  // Control thread only.
  bool started = false, joined = false, memory_locked = false;
  pthread_t thread{};
  void* stack_map = nullptr;
  std::size_t stack_map_bytes = 0, page_bytes = 0;
};

void Scheduler::Impl::run() noexcept {
  for (;;) {
    // stop() raises the silence epoch before it sets stop_requested, so a stop seen here always
    // comes with its silence.
    const bool stopping = stop_requested.load(std::memory_order_acquire);
    const std::uint64_t epoch = silence_requested.load(std::memory_order_acquire);
    if (epoch != handled_epoch) carry_out_silence(epoch);
    if (stopping) return;

    take_queued();
    std::int64_t now = now_ns();
    if (heap.empty()) {
      sleep_until_ns(now + poll_ns);
      continue;
    }
    const std::int64_t due = heap.front().event.time_ns;
    if (due - spin_ns > now) {
      sleep_until_ns(std::min(due - spin_ns, now + poll_ns));
      continue;
    }
    while (now < due && silence_requested.load(std::memory_order_relaxed) == handled_epoch &&
           !stop_requested.load(std::memory_order_relaxed)) {
      cpu_relax();
      now = now_ns();
    }
    if (now >= due) send_next();
  }
}

void Scheduler::Impl::take_queued() noexcept {
  Queued item;
  while (heap.size() < heap.capacity() && queue.try_dequeue(item)) {
    if (item.epoch < handled_epoch) {
      dropped_stale.fetch_add(1, std::memory_order_relaxed);
      pending.fetch_sub(1, std::memory_order_release);
      continue;
    }
    heap.push_back(item);
    std::push_heap(heap.begin(), heap.end(), later);
  }
}

void Scheduler::Impl::send_next() noexcept {
  std::pop_heap(heap.begin(), heap.end(), later);
  const Queued item = heap.back();
  heap.pop_back();
  const std::int64_t sent_ns = send(item.event);
  const std::int64_t late_ns = std::max<std::int64_t>(0, sent_ns - item.event.time_ns);
  const auto bucket = std::min<std::size_t>(static_cast<std::size_t>(late_ns / 1000), kLatenessBuckets);
  lateness[bucket].fetch_add(1, std::memory_order_relaxed);
  if (late_ns > lateness_max_ns.load(std::memory_order_relaxed))
    lateness_max_ns.store(late_ns, std::memory_order_relaxed);
  sent.fetch_add(1, std::memory_order_relaxed);
  pending.fetch_sub(1, std::memory_order_release);
}

// Sends one message, keeps the ledger, logs it; returns the sent time.
std::int64_t Scheduler::Impl::send(const TimedMidi& message) noexcept {
  const std::uint8_t status = message.bytes[0];
  if (status >= 0x80 && status < 0xF0) used_channels = static_cast<std::uint16_t>(used_channels | (1u << (status & 0x0F)));
  auto& count = ledger[status & 0x0F][message.bytes[1] & 0x7F];
  if (is_note_on(message) && count < UINT16_MAX) {
    ++count;
    ++sounding;
  } else if (is_note_off(message) && count > 0) {
    --count;
    --sounding;
  }
  sounding_notes.store(sounding, std::memory_order_relaxed);
  const std::int64_t sent_ns = now_ns();
  sink.send(message.bytes, message.size);
  log_sent(message, sent_ns);
  return sent_ns;
}

void Scheduler::Impl::log_sent(const TimedMidi& message, std::int64_t sent_ns) noexcept {
  const std::uint64_t head = ring_head.load(std::memory_order_relaxed);
  if (head - ring_tail.load(std::memory_order_acquire) > ring_mask) {
    sent_log_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  TimedMidi& slot = ring[head & ring_mask];
  slot = message;
  slot.time_ns = sent_ns;
  ring_head.store(head + 1, std::memory_order_release);
}

void Scheduler::Impl::carry_out_silence(std::uint64_t epoch) noexcept {
  handled_epoch = epoch;
  const auto kept_end = std::remove_if(heap.begin(), heap.end(), [epoch](const Queued& q) { return q.epoch < epoch; });
  const auto dropped = heap.end() - kept_end;
  heap.erase(kept_end, heap.end());
  std::make_heap(heap.begin(), heap.end(), later);
  dropped_stale.fetch_add(dropped, std::memory_order_relaxed);
  pending.fetch_sub(dropped, std::memory_order_release);
  take_queued();  // drops what was queued before the silence, keeps what came after

  for (int channel = 0; channel < 16; ++channel)
    for (int pitch = 0; pitch < 128; ++pitch)
      while (ledger[channel][pitch] > 0) send(note_off(0, channel, pitch));
  for (int channel = 0; channel < 16; ++channel) {
    if ((used_channels & (1u << channel)) == 0) continue;
    send(control_change(0, channel, 64, 0));
    send(control_change(0, channel, 123, 0));
    send(control_change(0, channel, 120, 0));
  }
  silences.fetch_add(1, std::memory_order_relaxed);
  silence_done.store(epoch, std::memory_order_release);
}

bool Scheduler::Impl::lock_memory() noexcept {
  bool ok = mlock(this, sizeof(*this)) == 0;
  ok = mlock(heap.data(), heap.capacity() * sizeof(Queued)) == 0 && ok;
  ok = mlock(lateness.get(), (kLatenessBuckets + 1) * sizeof(lateness[0])) == 0 && ok;
  ok = mlock(ring.get(), (ring_mask + 1) * sizeof(TimedMidi)) == 0 && ok;
  ok = mlock(static_cast<char*>(stack_map) + page_bytes, kStackBytes) == 0 && ok;
  return ok;
}

void Scheduler::Impl::unlock_memory() noexcept {
  munlock(this, sizeof(*this));
  munlock(heap.data(), heap.capacity() * sizeof(Queued));
  munlock(lateness.get(), (kLatenessBuckets + 1) * sizeof(lateness[0]));
  munlock(ring.get(), (ring_mask + 1) * sizeof(TimedMidi));
}

void* Scheduler::Impl::thread_main(void* self) noexcept {
  auto& s = *static_cast<Impl*>(self);
  pthread_setname_np(pthread_self(), "scorejam-sched");
  if (s.config.realtime_priority) {
    sched_param param{};
    param.sched_priority = std::clamp(s.config.priority, sched_get_priority_min(SCHED_FIFO), sched_get_priority_max(SCHED_FIFO));
    s.realtime_granted.store(pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) == 0, std::memory_order_relaxed);
  }
  if (s.config.on_thread_start != nullptr) s.config.on_thread_start(s.config.on_thread_arg);
  s.running.store(true, std::memory_order_release);
  s.run();
  if (s.config.on_thread_exit != nullptr) s.config.on_thread_exit(s.config.on_thread_arg);
  return nullptr;
}

Scheduler::Scheduler(MidiSink& sink, const SchedulerConfig& config) {
  if (config.capacity < 1 || config.capacity > kMaxCapacity)
    throw std::invalid_argument("SchedulerConfig.capacity = " + std::to_string(config.capacity) + " is outside 1.." +
                                std::to_string(kMaxCapacity));
  if (config.spin.count() < 0)
    throw std::invalid_argument("SchedulerConfig.spin = " + std::to_string(config.spin.count()) + " us is negative");
  if (config.poll.count() <= 0)
    throw std::invalid_argument("SchedulerConfig.poll = " + std::to_string(config.poll.count()) + " us is not positive");
  impl_ = std::make_unique<Impl>(sink, config);
}

Scheduler::~Scheduler() {
  stop();
  if (impl_->memory_locked) impl_->unlock_memory();
}

void Scheduler::start() {
  Impl& s = *impl_;
  if (s.started) throw std::logic_error("Scheduler::start: already started (a Scheduler runs once)");
  s.page_bytes = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  s.stack_map_bytes = kStackBytes + s.page_bytes;
  void* map = mmap(nullptr, s.stack_map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (map == MAP_FAILED)
    throw std::runtime_error(std::string("Scheduler::start: cannot map the thread's stack: ") + std::strerror(errno));
  mprotect(map, s.page_bytes, PROT_NONE);  // guard page below the stack
  s.stack_map = map;
  if (s.config.lock_memory) s.memory_locked = s.lock_memory();

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstack(&attr, static_cast<char*>(map) + s.page_bytes, kStackBytes);
  const int rc = pthread_create(&s.thread, &attr, Impl::thread_main, &s);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    munmap(map, s.stack_map_bytes);
    s.stack_map = nullptr;
    throw std::runtime_error(std::string("Scheduler::start: cannot create the scheduler thread: ") + std::strerror(rc));
  }
  s.started = true;
  while (!s.running.load(std::memory_order_acquire)) std::this_thread::sleep_for(std::chrono::microseconds(100));
}

void Scheduler::stop() {
  Impl& s = *impl_;
  if (!s.started || s.joined) return;
  s.silence_requested.fetch_add(1);
  s.stop_requested.store(true, std::memory_order_release);
  pthread_join(s.thread, nullptr);
  s.joined = true;
  munmap(s.stack_map, s.stack_map_bytes);  // also unlocks it
  s.stack_map = nullptr;
}

bool Scheduler::schedule(const TimedMidi& event) {
  Impl& s = *impl_;
  if (event.size < 1 || event.size > 3) {
    s.rejected.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (s.pending.fetch_add(1, std::memory_order_acq_rel) >= static_cast<std::int64_t>(s.config.capacity)) {
    s.pending.fetch_sub(1, std::memory_order_relaxed);
    s.dropped_full.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  // The epoch is read after any silence() that returned before this call (both seq_cst), so such
  // a silence cannot drop this event.
  const Queued item{event, s.next_seq.fetch_add(1, std::memory_order_relaxed), s.silence_requested.load()};
  if (!s.queue.try_enqueue(item)) {  // only when more producer threads than the pool was sized for
    s.pending.fetch_sub(1, std::memory_order_relaxed);
    s.dropped_full.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void Scheduler::silence() { impl_->silence_requested.fetch_add(1); }

bool Scheduler::wait_silent(std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  const std::uint64_t target = s.silence_requested.load();
  const auto deadline = SteadyClock::now() + timeout;
  for (;;) {
    if (s.silence_done.load(std::memory_order_acquire) >= target) return true;
    if (!s.started || s.joined || SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

bool Scheduler::pop_sent(TimedMidi& sent) {
  Impl& s = *impl_;
  const std::uint64_t tail = s.ring_tail.load(std::memory_order_relaxed);
  if (tail == s.ring_head.load(std::memory_order_acquire)) return false;
  sent = s.ring[tail & s.ring_mask];
  s.ring_tail.store(tail + 1, std::memory_order_release);
  return true;
}

SchedulerStats Scheduler::stats() const {
  const Impl& s = *impl_;
  SchedulerStats out;
  out.sent = s.sent.load(std::memory_order_relaxed);
  out.dropped_full = s.dropped_full.load(std::memory_order_relaxed);
  out.dropped_stale = s.dropped_stale.load(std::memory_order_relaxed);
  out.silences = s.silences.load(std::memory_order_relaxed);
  out.rejected = s.rejected.load(std::memory_order_relaxed);
  out.sent_log_dropped = s.sent_log_dropped.load(std::memory_order_relaxed);
  out.realtime_priority = s.realtime_granted.load(std::memory_order_relaxed);
  out.memory_locked = s.memory_locked;
  out.sounding_notes = s.sounding_notes.load(std::memory_order_relaxed);

  std::vector<std::uint64_t> counts(kLatenessBuckets + 1);
  std::uint64_t total = 0;
  for (std::size_t b = 0; b <= kLatenessBuckets; ++b) total += counts[b] = s.lateness[b].load(std::memory_order_relaxed);
  if (total == 0) return out;
  out.lateness_us_max = static_cast<double>(s.lateness_max_ns.load(std::memory_order_relaxed)) / 1000.0;
  const auto percentile = [&](double q) {
    const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < kLatenessBuckets; ++b) {
      seen += counts[b];
      if (seen >= rank) return std::min(static_cast<double>(b), out.lateness_us_max);
    }
    return out.lateness_us_max;
  };
  out.lateness_us_p50 = percentile(0.50);
  out.lateness_us_p99 = percentile(0.99);
  return out;
}

void Scheduler::reset_lateness() {
  Impl& s = *impl_;
  for (std::size_t b = 0; b <= kLatenessBuckets; ++b) s.lateness[b].store(0, std::memory_order_relaxed);
  s.lateness_max_ns.store(0, std::memory_order_relaxed);
}

}  // namespace scorejam
