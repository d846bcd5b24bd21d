#ifndef LITMUS_BENCH_FLOOR_H
#define LITMUS_BENCH_FLOOR_H
#include <stddef.h>
#include <stdint.h>
/* Minimal C clients measured as the floor the Swift transports are compared with. STUB. */
int litmus_bench_floor_placeholder(void);
#endif
