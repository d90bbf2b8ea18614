// A guard for real-time threads in tests. Linking rt_guard.cpp into a test program replaces
// malloc/calloc/realloc/free (and the aligned forms), every replaceable operator new/delete, and
// the pthread mutex, rwlock, spinlock, condition-variable and semaphore waits with versions that
// forward to glibc and, on a *watched* thread, count the call. A thread is watched from
// watch_this_thread() until unwatch_this_thread(); the counts are process-wide.
//
// The scheduler thread is watched through SchedulerConfig::on_thread_start / on_thread_exit
// (watch_hook / unwatch_hook), a general hook of the product, not a test-only switch.
#pragma once

#include <cstdint>
#include <thread>

namespace scorejam::rt_guard {

struct Counts {
  std::int64_t allocations = 0;  // malloc, calloc, realloc, aligned forms, operator new
  std::int64_t frees = 0;        // free, operator delete
  std::int64_t locks = 0;        // mutex/rwlock/spin lock and trylock, condition and semaphore waits
  std::int64_t watched_threads = 0;  // watch_this_thread() calls: proves a hook actually ran
};

void watch_this_thread() noexcept;
void unwatch_this_thread() noexcept;
Counts counts() noexcept;
void reset() noexcept;

// Resets the counts, runs `work` on a fresh thread watched from its first to its last call, and
// returns what that thread counted.
template <typename Work>
Counts counts_on_a_watched_thread(Work&& work) {
  reset();
  std::thread([&] {
    watch_this_thread();
    work();
    unwatch_this_thread();
  }).join();
  return counts();
}

// For SchedulerConfig::on_thread_start / on_thread_exit (the argument is ignored).
void watch_hook(void*) noexcept;
void unwatch_hook(void*) noexcept;

}  // namespace scorejam::rt_guard
