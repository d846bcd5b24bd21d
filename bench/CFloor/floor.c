/* Minimal C clients: the floor of the transport benchmarks (see bench_floor.h). */
#define _GNU_SOURCE
#include "bench_floor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int litmus_floor_socket_connect(const char *ipv4, int port) {
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, ipv4, &addr.sin_addr) != 1) return -EINVAL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int send_all(int fd, const char *data, size_t len) {
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = send(fd, data + sent, len - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        sent += (size_t)n;
    }
    return 0;
}

/* At most this much per recv: one huge recv holds the socket while it copies, so the receive
 * window reopens late and the sender stalls (256 KiB was the fastest size measured here). */
#define FLOOR_MAX_RECV (256u * 1024u)

/* recv at least once into buf[have..cap); returns the new count or a negative errno. */
static int64_t recv_more(int fd, uint8_t *buf, size_t have, size_t cap) {
    size_t want = cap - have;
    if (want > FLOOR_MAX_RECV) want = FLOOR_MAX_RECV;
    for (;;) {
        ssize_t n = recv(fd, buf + have, want, 0);
        if (n > 0) return (int64_t)(have + (size_t)n);
        if (n == 0) return -ECONNRESET;
        if (errno != EINTR) return -errno;
    }
}

int64_t litmus_floor_socket_queries(int fd, const char *cmd, size_t len, int64_t count, uint8_t *buf, size_t cap) {
    int64_t last = 0;
    for (int64_t i = 0; i < count; i++) {
        int rc = send_all(fd, cmd, len);
        if (rc < 0) return rc;
        size_t have = 0;
        for (;;) {
            if (have == cap) return -EMSGSIZE;
            int64_t now = recv_more(fd, buf, have, cap);
            if (now < 0) return now;
            int found = memchr(buf + have, '\n', (size_t)now - have) != NULL;
            have = (size_t)now;
            if (found) break;
        }
        last = (int64_t)have;
    }
    return last;
}

int64_t litmus_floor_socket_blocks(int fd, const char *cmd, size_t len, int64_t count, uint8_t *buf, size_t cap) {
    int64_t last = 0;
    for (int64_t i = 0; i < count; i++) {
        int rc = send_all(fd, cmd, len);
        if (rc < 0) return rc;
        size_t have = 0;
        while (have < 2) {
            int64_t now = recv_more(fd, buf, have, cap);
            if (now < 0) return now;
            have = (size_t)now;
        }
        if (buf[0] != '#' || buf[1] < '1' || buf[1] > '9') return -EPROTO;
        size_t digits = (size_t)(buf[1] - '0');
        while (have < 2 + digits) {
            int64_t now = recv_more(fd, buf, have, cap);
            if (now < 0) return now;
            have = (size_t)now;
        }
        size_t length = 0;
        for (size_t k = 0; k < digits; k++) {
            uint8_t c = buf[2 + k];
            if (c < '0' || c > '9') return -EPROTO;
            length = length * 10 + (size_t)(c - '0');
        }
        size_t total = 2 + digits + length + 1;
        if (total > cap) return -EMSGSIZE;
        while (have < total) {
            int64_t now = recv_more(fd, buf, have, total);
            if (now < 0) return now;
            have = (size_t)now;
        }
        last = (int64_t)length;
    }
    return last;
}

void litmus_floor_socket_close(int fd) {
    if (fd >= 0) close(fd);
}

int litmus_bench_pin(int pid, int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return -EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity((pid_t)pid, sizeof set, &set) == 0 ? 0 : -errno;
}

int litmus_bench_last_allowed_cpu(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -errno;
    for (int cpu = CPU_SETSIZE - 1; cpu >= 0; cpu--) {
        if (CPU_ISSET(cpu, &set)) return cpu;
    }
    return -ENOENT;
}
