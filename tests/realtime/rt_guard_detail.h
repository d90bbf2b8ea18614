// What rt_guard.cpp and rt_guard_libc.cpp share: whether this thread is watched, the counts, and
// the lookup of the definition a replacement forwards to.
#pragma once

#include <dlfcn.h>

#include <atomic>
#include <cstdint>

// Under AddressSanitizer or ThreadSanitizer the sanitizer owns malloc and operator new: replacing
// them would hand its memory to glibc. The allocations are then counted by the sanitizer's own
// malloc and free hooks instead (rt_guard.cpp); the lock replacements stay, forwarding to the
// sanitizer's interceptors, which come next in the lookup order.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SCOREJAM_RT_GUARD_SANITIZER_HOOKS 1
#else
#define SCOREJAM_RT_GUARD_SANITIZER_HOOKS 0
#endif

namespace scorejam::rt_guard::detail {

// initial-exec: reading it never calls __tls_get_addr, which may allocate.
extern __attribute__((tls_model("initial-exec"))) thread_local bool t_watched;
extern std::atomic<std::int64_t> g_allocations, g_frees, g_locks;

inline void count(std::atomic<std::int64_t>& counter) noexcept {
  if (t_watched) counter.fetch_add(1, std::memory_order_relaxed);
}

// The next definition of `name` after ours (glibc's), found once by dlsym(RTLD_NEXT); glibc
// resolves it without calling these replacements, and without allocating when the name exists.
template <class Fn>
Fn next_definition(std::atomic<Fn>& slot, const char* name) noexcept {
  Fn fn = slot.load(std::memory_order_acquire);
  if (fn == nullptr) {
    fn = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
    slot.store(fn, std::memory_order_release);
  }
  return fn;
}

}  // namespace scorejam::rt_guard::detail
