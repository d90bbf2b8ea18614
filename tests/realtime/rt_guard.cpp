// The C++ replacements behind rt_guard.h (operator new and delete), and the watching. They run on
// every thread of the test program and forward to glibc's __libc_* entry points, so nothing here
// allocates. The C functions (malloc and the rest, the pthread and semaphore waits) are in
// rt_guard_libc.cpp.
#include "tests/realtime/rt_guard.h"
#include "tests/realtime/rt_guard_detail.h"

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

extern "C" {
void* __libc_malloc(std::size_t size);
void __libc_free(void* pointer);
void* __libc_memalign(std::size_t alignment, std::size_t size);
}

namespace scorejam::rt_guard::detail {
__attribute__((tls_model("initial-exec"))) thread_local bool t_watched = false;
std::atomic<std::int64_t> g_allocations{0}, g_frees{0}, g_locks{0};
}  // namespace scorejam::rt_guard::detail

namespace {

using scorejam::rt_guard::detail::count;
using scorejam::rt_guard::detail::g_allocations;
using scorejam::rt_guard::detail::g_frees;
using scorejam::rt_guard::detail::g_locks;
using scorejam::rt_guard::detail::t_watched;

std::atomic<std::int64_t> g_watched_threads{0};

#if SCOREJAM_RT_GUARD_SANITIZER_HOOKS
}  // namespace

extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, std::size_t),
                                                         void (*free_hook)(const volatile void*));

namespace {

void on_sanitizer_malloc(const volatile void*, std::size_t) { count(g_allocations); }
void on_sanitizer_free(const volatile void*) { count(g_frees); }

// Installed before main; a guard whose hooks the sanitizer refused would count nothing, so it stops.
[[maybe_unused]] const bool g_hooks_installed = [] {
  if (__sanitizer_install_malloc_and_free_hooks(on_sanitizer_malloc, on_sanitizer_free) == 0) std::abort();
  return true;
}();
#else

void* allocate_or_throw(std::size_t size) {
  count(g_allocations);
  for (;;) {
    if (void* p = __libc_malloc(size == 0 ? 1 : size)) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void* allocate_aligned_or_throw(std::size_t size, std::align_val_t alignment) {
  count(g_allocations);
  for (;;) {
    if (void* p = __libc_memalign(static_cast<std::size_t>(alignment), size == 0 ? 1 : size)) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void release(void* pointer) noexcept {
  if (pointer == nullptr) return;
  count(g_frees);
  __libc_free(pointer);
}
#endif  // SCOREJAM_RT_GUARD_SANITIZER_HOOKS

}  // namespace

namespace scorejam::rt_guard {

void watch_this_thread() noexcept {
  t_watched = true;
  g_watched_threads.fetch_add(1, std::memory_order_relaxed);
}

void unwatch_this_thread() noexcept { t_watched = false; }

Counts counts() noexcept {
  return {g_allocations.load(), g_frees.load(), g_locks.load(), g_watched_threads.load()};
}

void reset() noexcept {
  g_allocations = 0;
  g_frees = 0;
  g_locks = 0;
  g_watched_threads = 0;
}

void watch_hook(void*) noexcept { watch_this_thread(); }
void unwatch_hook(void*) noexcept { unwatch_this_thread(); }

}  // namespace scorejam::rt_guard

// ---- C++ allocation ----

#if !SCOREJAM_RT_GUARD_SANITIZER_HOOKS

void* operator new(std::size_t size) { return allocate_or_throw(size); }
void* operator new[](std::size_t size) { return allocate_or_throw(size); }
void* operator new(std::size_t size, std::align_val_t alignment) { return allocate_aligned_or_throw(size, alignment); }
void* operator new[](std::size_t size, std::align_val_t alignment) { return allocate_aligned_or_throw(size, alignment); }

void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return allocate_or_throw(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept { return operator new(size, tag); }
void* operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  try {
    return allocate_aligned_or_throw(size, alignment);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, std::align_val_t alignment, const std::nothrow_t& tag) noexcept {
  return operator new(size, alignment, tag);
}

void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { release(p); }
#endif  // !SCOREJAM_RT_GUARD_SANITIZER_HOOKS
