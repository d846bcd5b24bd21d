#ifndef LITMUS_BENCH_FLOOR_H
#define LITMUS_BENCH_FLOOR_H
/*
 * Minimal C clients, measured as the floor the Swift transports are compared with, plus the
 * CPU-placement helpers the transport benchmarks use. Every function returns a negative errno
 * on failure.
 */
#include <stddef.h>
#include <stdint.h>

/* Raw SCPI socket floor: a blocking IPv4 TCP client with TCP_NODELAY. Returns the fd. */
int litmus_floor_socket_connect(const char *ipv4, int port);

/* `count` round trips: send `cmd` (its newline included) in one send, then recv until a '\n'
 * arrives. Returns the length of the last reply (newline included). `buf` must hold a reply. */
int64_t litmus_floor_socket_queries(int fd, const char *cmd, size_t len, int64_t count, uint8_t *buf, size_t cap);

/* `count` IEEE 488.2 definite-block queries (`#<d><length><payload>\n`): send `cmd`, parse the
 * header, recv the payload and the newline into `buf`. Returns the payload length of the last
 * block; -EPROTO for a malformed header, -EMSGSIZE when `buf` is too small. */
int64_t litmus_floor_socket_blocks(int fd, const char *cmd, size_t len, int64_t count, uint8_t *buf, size_t cap);

void litmus_floor_socket_close(int fd);

/* Restricts a process's thread (`pid` 0: the calling thread) to CPU `cpu`; threads it starts
 * later inherit the restriction. */
int litmus_bench_pin(int pid, int cpu);

/* The highest-numbered CPU the calling thread may run on. */
int litmus_bench_last_allowed_cpu(void);

#endif
