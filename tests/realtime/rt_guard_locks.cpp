// The pthread and semaphore waits of rt_guard.h, forwarding to glibc's and counting the call on a
// watched thread. This file is compiled with -fno-exceptions: glibc declares most of these
// noexcept, and a thread cancelled asynchronously inside one (libjack cancels its client threads
// when the JACK server dies) is unwound through it; a noexcept frame with exception tables would
// turn that unwinding into std::terminate.
#include <pthread.h>
#include <semaphore.h>

#include <atomic>
#include <ctime>

#include "tests/realtime/rt_guard_detail.h"

// ---- locks and waits ----

// Defines NAME with the header's signature (PARAMS/ARGS) and exception spec (SPEC), counting it.
#define SCOREJAM_RT_GUARD_LOCK(NAME, SPEC, PARAMS, ARGS)                       \
  namespace {                                                                  \
  std::atomic<int(*) PARAMS> next_##NAME{nullptr};                             \
  }                                                                            \
  extern "C" int NAME PARAMS SPEC {                                            \
    scorejam::rt_guard::detail::count_lock();                                  \
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
