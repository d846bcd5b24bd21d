/* The slow paths of litmus_lock (see litmus_support.h): waiting in the kernel with a futex.
 * The lock word is 0 (free), 1 (held) or 2 (held, and someone may be waiting), the design of
 * Drepper's "Futexes Are Tricky" (its third mutex). */
#define _GNU_SOURCE
#include "litmus_support.h"

#include <sched.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

void litmus_lock_wait(litmus_lock *lock)
{
    /* A short spin first: the holder usually leaves within a few hundred nanoseconds. */
    for (int spin = 0; spin < 64; spin++) {
        uint32_t expected = 0;
        if (__atomic_load_n(&lock->word, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&lock->word, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return;
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
    }
    /* Mark the lock contended; whoever releases it then wakes one waiter. */
    while (__atomic_exchange_n(&lock->word, 2, __ATOMIC_ACQUIRE) != 0) {
#if defined(__linux__)
        syscall(SYS_futex, &lock->word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
#else
        sched_yield();
#endif
    }
}

void litmus_lock_wake(litmus_lock *lock)
{
#if defined(__linux__)
    syscall(SYS_futex, &lock->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
#else
    (void)lock;
#endif
}
