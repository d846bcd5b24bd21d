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

#endif
