/* Small C helpers for the Litmus core (not part of the driver ABI). */
#ifndef LITMUS_SUPPORT_H
#define LITMUS_SUPPORT_H
#include <stddef.h>
#include <stdint.h>

/** CRC-32C (Castagnoli) of `len` bytes, continuing from `crc` (0 to start). Uses the SSE 4.2
 *  instruction when the CPU has it, a table otherwise. */
uint32_t litmus_crc32c(uint32_t crc, const void *data, size_t len);

/** A pipe whose two ends are close-on-exec from the start (no window in which a child started
 *  by another thread inherits them). Returns 0, or -1 with errno set. */
int litmus_pipe_cloexec(int fds[2]);

/** The path of the loaded image (executable or shared library) this code is linked into, as
 *  `dladdr` reports it; NULL when unknown. */
const char *litmus_image_path(void);

/** The wall clock (CLOCK_REALTIME) in nanoseconds since 1970, for sample and event times.
 *  Extrapolated from the CPU's time-stamp counter for at most 1 ms after each read of the
 *  kernel's clock, when the kernel's clocksource is that counter (cheaper than clock_gettime
 *  there); LITMUS_CLOCK=syscall reads the kernel's clock on every call. Never goes back, per
 *  thread, except when the system clock is set back by more than 1 ms. */
int64_t litmus_realtime_ns(void);

/** 1 when litmus_realtime_ns extrapolates from the time-stamp counter, 0 when every call reads
 *  the kernel's clock. */
int litmus_realtime_uses_counter(void);

/** A lock for short critical sections on hot paths: one atomic instruction to take and one to
 *  release when uncontended, and a futex wait when contended. Zero-initialised; not recursive;
 *  no condition variables. */
typedef struct {
    uint32_t word;
} litmus_lock;

void litmus_lock_wait(litmus_lock *lock);
void litmus_lock_wake(litmus_lock *lock);

static inline void litmus_lock_acquire(litmus_lock *lock)
{
    uint32_t expected = 0;
    if (__builtin_expect(
            __atomic_compare_exchange_n(&lock->word, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED), 1))
        return;
    litmus_lock_wait(lock);
}

static inline void litmus_lock_release(litmus_lock *lock)
{
    if (__builtin_expect(__atomic_exchange_n(&lock->word, 0, __ATOMIC_RELEASE) == 2, 0))
        litmus_lock_wake(lock);
}

#endif
