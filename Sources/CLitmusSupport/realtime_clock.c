/* The wall clock of sample and event times, read from the CPU's time-stamp counter.
 *
 * clock_gettime(CLOCK_REALTIME) on the VMs Litmus is measured on orders its TSC read with a
 * fence and retries a seqlock; a channel that logged one sample per call spent about half its
 * time there (perf). Here each thread keeps an anchor, a (TSC, CLOCK_REALTIME)
 * pair, and extrapolates from it for at most one millisecond with a rate measured between
 * anchors; then it reads the kernel's clock again. The extrapolation is the kernel's own method
 * (its clocksource is that same counter), and its error over one millisecond is well below the
 * microsecond that times are stored in.
 *
 * The counter is used only while the kernel itself uses it (its clocksource is "tsc": constant,
 * and synchronised across CPUs; looked at again every second) and LITMUS_CLOCK is not
 * "syscall"; otherwise every call reads clock_gettime. Within a thread a time is never earlier
 * than the one before (an extrapolation a little ahead of the next anchor holds until the clock
 * catches up), unless the system clock is set back by more than a millisecond (NTP, date -s):
 * that step is followed. */
#define _GNU_SOURCE
#include "litmus_support.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

static int64_t realtime_ns_from_kernel(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#if defined(__x86_64__) && defined(__linux__)
#include <x86intrin.h>

#define WINDOW_NS 1000000          /* how long one anchor is extrapolated from */
#define MIN_RATE_SPAN_NS 500000    /* the shortest span a rate is measured over */
#define MAX_RATE_SPAN_NS 1000000000

/* 0: not decided; 1: the counter is used; 2: it is not. */
static int counter_state;
/* Nanoseconds per counter tick, as a 32.32 fixed-point number; 0 until measured. */
static uint64_t ns_per_tick;
/* When the kernel's clocksource was last looked at: it is looked at again every second, so
 * that a counter the kernel stops trusting (marked unstable, replaced) is dropped here too. */
static int64_t decided_at_ns;
#define RECHECK_NS 1000000000

static __thread uint64_t anchor_tsc;
static __thread int64_t anchor_ns;
static __thread uint64_t window_ticks;
static __thread int64_t last_ns;

static int decide_counter(void)
{
    int usable = 0;
    const char *setting = getenv("LITMUS_CLOCK");
    if (!(setting && strcmp(setting, "syscall") == 0)) {
        int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            char name[32] = {0};
            ssize_t n = read(fd, name, sizeof name - 1);
            close(fd);
            usable = n >= 3 && strncmp(name, "tsc", 3) == 0 && (name[3] == '\n' || name[3] == 0);
        }
    }
    int state = usable ? 1 : 2;
    __atomic_store_n(&decided_at_ns, realtime_ns_from_kernel(), __ATOMIC_RELAXED);
    __atomic_store_n(&counter_state, state, __ATOMIC_RELAXED);
    return state;
}

/* Whether the counter is used, deciding it on the first call. */
static int current_state(void)
{
    int state = __atomic_load_n(&counter_state, __ATOMIC_RELAXED);
    return state == 0 ? decide_counter() : state;
}

/* A (counter, clock) pair read close together: the counter is the midpoint of two reads around
 * the clock's; a pair split by preemption is read again. */
static void read_pair(uint64_t *tsc, int64_t *ns)
{
    for (int attempt = 0;; attempt++) {
        uint64_t before = __rdtsc();
        int64_t clock = realtime_ns_from_kernel();
        uint64_t after = __rdtsc();
        uint64_t rate = __atomic_load_n(&ns_per_tick, __ATOMIC_RELAXED);
        /* Accept a pair read within ~2 µs (or any, after a few tries or before a rate is known). */
        if (attempt >= 3 || rate == 0 || (((after - before) * rate) >> 32) < 2000) {
            *tsc = before + (after - before) / 2;
            *ns = clock;
            return;
        }
    }
}

static int64_t monotonic_per_thread(int64_t ns)
{
    /* A step back smaller than a window is extrapolation error: hold the time. A larger one is
     * the system clock being set: follow it. */
    if (ns < last_ns && last_ns - ns < WINDOW_NS)
        return last_ns;
    last_ns = ns;
    return ns;
}

static int64_t reanchor(void)
{
    if (current_state() != 1)
        return realtime_ns_from_kernel();
    uint64_t tsc;
    int64_t ns;
    read_pair(&tsc, &ns);
    if (ns - __atomic_load_n(&decided_at_ns, __ATOMIC_RELAXED) > RECHECK_NS) {
        if (decide_counter() != 1) {
            window_ticks = 0;
            return monotonic_per_thread(ns);
        }
    }
    uint64_t rate = __atomic_load_n(&ns_per_tick, __ATOMIC_RELAXED);
    int64_t span = ns - anchor_ns;
    if (anchor_tsc != 0 && tsc > anchor_tsc && span >= MIN_RATE_SPAN_NS && span <= MAX_RATE_SPAN_NS) {
        uint64_t measured = ((uint64_t)span << 32) / (tsc - anchor_tsc);
        /* Smoothed across threads and anchors; one odd pair moves it by an eighth. */
        rate = rate == 0 ? measured : rate - rate / 8 + measured / 8;
        __atomic_store_n(&ns_per_tick, rate, __ATOMIC_RELAXED);
    } else if (rate == 0 && anchor_tsc != 0 && span >= 0 && span < MIN_RATE_SPAN_NS) {
        /* No rate yet: keep the anchor until a long enough span has passed to measure one. */
        return monotonic_per_thread(ns);
    }
    anchor_tsc = tsc;
    anchor_ns = ns;
    window_ticks = rate ? ((uint64_t)WINDOW_NS << 32) / rate : 0;
    return monotonic_per_thread(ns);
}

int64_t litmus_realtime_ns(void)
{
    uint64_t now = __rdtsc();
    uint64_t elapsed = now - anchor_tsc;
    if (__builtin_expect(elapsed < window_ticks, 1)) {
        uint64_t rate = __atomic_load_n(&ns_per_tick, __ATOMIC_RELAXED);
        return monotonic_per_thread(anchor_ns + (int64_t)((elapsed * rate) >> 32));
    }
    return reanchor();
}

int litmus_realtime_uses_counter(void) { return current_state() == 1; }

#else

int64_t litmus_realtime_ns(void) { return realtime_ns_from_kernel(); }

int litmus_realtime_uses_counter(void) { return 0; }

#endif
