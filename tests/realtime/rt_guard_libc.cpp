// The C functions of rt_guard.h (malloc and the rest, the pthread and semaphore waits), forwarding
// to glibc's and counting the call on a watched thread. This file is compiled with
// -fno-exceptions: glibc declares most of these noexcept, and a thread cancelled asynchronously
// inside one (libjack cancels its client threads when the JACK server dies) is unwound through
// it; a noexcept frame with exception tables would turn that unwinding into std::terminate.
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <ctime>

#include "tests/realtime/rt_guard_detail.h"

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* pointer, std::size_t size);
void __libc_free(void* pointer);
void* __libc_memalign(std::size_t alignment, std::size_t size);
}

namespace {
using scorejam::rt_guard::detail::count;
using scorejam::rt_guard::detail::g_allocations;
using scorejam::rt_guard::detail::g_frees;
}  // namespace

// ---- C allocation ----

#if !SCOREJAM_RT_GUARD_SANITIZER_HOOKS

extern "C" void* malloc(std::size_t size) noexcept {
  count(g_allocations);
  return __libc_malloc(size);
}

extern "C" void* calloc(std::size_t count_, std::size_t size) noexcept {
  count(g_allocations);
  return __libc_calloc(count_, size);
}

extern "C" void* realloc(void* pointer, std::size_t size) noexcept {
  count(g_allocations);
  return __libc_realloc(pointer, size);
}

extern "C" void free(void* pointer) noexcept {
  if (pointer == nullptr) return;
  count(g_frees);
  __libc_free(pointer);
}

extern "C" void* memalign(std::size_t alignment, std::size_t size) noexcept {
  count(g_allocations);
  return __libc_memalign(alignment, size);
}

extern "C" void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  count(g_allocations);
  return __libc_memalign(alignment, size);
}

extern "C" int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  count(g_allocations);
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

extern "C" void* valloc(std::size_t size) noexcept {
  count(g_allocations);
  return __libc_memalign(static_cast<std::size_t>(sysconf(_SC_PAGESIZE)), size);
}

#endif  // !SCOREJAM_RT_GUARD_SANITIZER_HOOKS

// ---- locks and waits ----

// Defines NAME with the header's signature (PARAMS/ARGS) and exception spec (SPEC), counting it.
#define SCOREJAM_RT_GUARD_LOCK(NAME, SPEC, PARAMS, ARGS)                       \
  namespace {                                                                  \
  std::atomic<int(*) PARAMS> next_##NAME{nullptr};                             \
  }                                                                            \
  extern "C" int NAME PARAMS SPEC {                                            \
    scorejam::rt_guard::detail::count(scorejam::rt_guard::detail::g_locks);  \
    return scorejam::rt_guard::detail::next_definition(next_##NAME, #NAME) ARGS; \
  }

#define SCOREJAM_NOTHROW noexcept
#define SCOREJAM_MAYTHROW

SCOREJAM_RT_GUARD_LOCK(pthread_mutex_lock, SCOREJAM_NOTHROW, (pthread_mutex_t* m), (m))
SCOREJAM_RT_GUARD_LOCK(pthread_mutex_trylock, SCOREJAM_NOTHROW, (pthread_mutex_t* m), (m))
SCOREJAM_RT_GUARD_LOCK(pthread_mutex_timedlock, SCOREJAM_NOTHROW, (pthread_mutex_t* m, const timespec* t), (m, t))
SCOREJAM_RT_GUARD_LOCK(pthread_mutex_clocklock, SCOREJAM_NOTHROW, (pthread_mutex_t* m, clockid_t c, const timespec* t),
                       (m, c, t))
SCOREJAM_RT_GUARD_LOCK(pthread_rwlock_rdlock, SCOREJAM_NOTHROW, (pthread_rwlock_t* l), (l))
SCOREJAM_RT_GUARD_LOCK(pthread_rwlock_wrlock, SCOREJAM_NOTHROW, (pthread_rwlock_t* l), (l))
SCOREJAM_RT_GUARD_LOCK(pthread_rwlock_tryrdlock, SCOREJAM_NOTHROW, (pthread_rwlock_t* l), (l))
SCOREJAM_RT_GUARD_LOCK(pthread_rwlock_trywrlock, SCOREJAM_NOTHROW, (pthread_rwlock_t* l), (l))
SCOREJAM_RT_GUARD_LOCK(pthread_rwlock_timedrdlock, SCOREJAM_NOTHROW, (pthread_rwlock_t* l, const timespec* t), (l, t))
SCOREJAM_RT_GUARD_LOCK(pthread_rwlock_timedwrlock, SCOREJAM_NOTHROW, (pthread_rwlock_t* l, const timespec* t), (l, t))
SCOREJAM_RT_GUARD_LOCK(pthread_rwlock_clockrdlock, SCOREJAM_NOTHROW, (pthread_rwlock_t* l, clockid_t c, const timespec* t),
                       (l, c, t))
SCOREJAM_RT_GUARD_LOCK(pthread_rwlock_clockwrlock, SCOREJAM_NOTHROW, (pthread_rwlock_t* l, clockid_t c, const timespec* t),
                       (l, c, t))
SCOREJAM_RT_GUARD_LOCK(pthread_spin_lock, SCOREJAM_NOTHROW, (pthread_spinlock_t* l), (l))
SCOREJAM_RT_GUARD_LOCK(pthread_spin_trylock, SCOREJAM_NOTHROW, (pthread_spinlock_t* l), (l))
SCOREJAM_RT_GUARD_LOCK(pthread_cond_wait, SCOREJAM_MAYTHROW, (pthread_cond_t* c, pthread_mutex_t* m), (c, m))
SCOREJAM_RT_GUARD_LOCK(pthread_cond_timedwait, SCOREJAM_MAYTHROW, (pthread_cond_t* c, pthread_mutex_t* m, const timespec* t),
                       (c, m, t))
SCOREJAM_RT_GUARD_LOCK(pthread_cond_clockwait, SCOREJAM_MAYTHROW,
                       (pthread_cond_t* c, pthread_mutex_t* m, clockid_t k, const timespec* t), (c, m, k, t))
SCOREJAM_RT_GUARD_LOCK(sem_wait, SCOREJAM_MAYTHROW, (sem_t* s), (s))
SCOREJAM_RT_GUARD_LOCK(sem_trywait, SCOREJAM_NOTHROW, (sem_t* s), (s))
SCOREJAM_RT_GUARD_LOCK(sem_timedwait, SCOREJAM_MAYTHROW, (sem_t* s, const timespec* t), (s, t))
SCOREJAM_RT_GUARD_LOCK(sem_clockwait, SCOREJAM_MAYTHROW, (sem_t* s, clockid_t c, const timespec* t), (s, c, t))
