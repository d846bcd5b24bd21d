/*
 * protocol.h - the "wire protocol" of the Example 6.5-digit DMM.
 *
 * This is the half of the reference driver that talks to the instrument. There is no real
 * instrument here: protocol.c simulates one in memory, with deterministic readings, so the
 * driver runs anywhere (CI, a laptop, the conformance kit). A vendor keeps this interface,
 * or one like it, and replaces protocol.c with real I/O (a socket, libusb, a serial port).
 *
 * The split follows libsigrok's drivers:
 *   api.c       everything Litmus sees: the entry point, the descriptor, option and operation
 *               tables, and the vtable functions, which translate ABI calls into calls below.
 *   protocol.c  everything the instrument sees: SCPI parsing (here) or SCPI I/O (real
 *               hardware), measurement, ranges, the error queue, the status byte.
 *
 * protocol.c reports errors and logs through two helpers that api.c provides (example_fail
 * and example_log, declared at the end of this file), so it never touches the host services
 * table itself.
 *
 * Threads: the host serialises every call on one session, and protocol.c keeps all of its
 * mutable state in the dmm_device of that session, so nothing here needs a lock. If your
 * protocol.c shares something between sessions (a libusb context, a table of open ports),
 * lock it yourself: sessions may run in parallel on different threads.
 */
#ifndef EXAMPLE_DMM_PROTOCOL_H
#define EXAMPLE_DMM_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "litmus_driver.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Functions shared between api.c and protocol.c are hidden: the only symbol a plugin exports
 * is litmus_plugin_entry_v1. Hidden symbols cannot clash with another plugin's dmm_send(). */
#if defined(__GNUC__) || defined(__clang__)
#define EXAMPLE_HIDDEN __attribute__((visibility("hidden")))
#define EXAMPLE_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define EXAMPLE_HIDDEN
#define EXAMPLE_PRINTF(fmt_index, first_arg)
#endif

/* ---- what the simulated unit is ------------------------------------------------------------ */

/** The one resource the simulation answers to, and the conformance kit's self-test resource. */
#define DMM_RESOURCE "EXAMPLE::dmm0::INSTR"
#define DMM_MANUFACTURER "Litmus examples"
#define DMM_MODEL "EXAMPLE-DMM6500"
#define DMM_FIRMWARE "1.0.0"
/** Serial number reported by *IDN? unless the `serial` open option says otherwise. */
#define DMM_DEFAULT_SERIAL "SIM000001"
#define DMM_DEFAULT_TIMEOUT_MS 2000u
#define DMM_DEFAULT_NPLC 1.0

/** The simulated readings: every DC voltage reading is 5.000123 V, every resistance reading
 *  1000.25 Ohm. fetch_buffer repeats 5.000122, 5.000123, 5.000124 V. */
#define DMM_SIM_DCV 5.000123
#define DMM_SIM_RES 1000.25

/** Longest serial number (bytes, without the NUL). */
#define DMM_SERIAL_MAX 31
/** Longest response the unit queues (bytes, including the trailing "\n"). */
#define DMM_OUTPUT_MAX 128
/** Depth of the SCPI error queue; one more error replaces the newest with -350. */
#define DMM_ERROR_QUEUE_MAX 8

/** IEEE 488.2 status byte bits that read_stb reports. */
enum {
    DMM_STB_EAV = 0x04, /**< error/event available: the SCPI error queue is not empty */
    DMM_STB_MAV = 0x10  /**< message available: a response is waiting to be read */
};

/** Measurement functions. The values index dmm_device.autorange and .range. */
typedef enum dmm_function {
    DMM_DCV = 0, /**< DC voltage */
    DMM_RES = 1, /**< 2-wire resistance */
    DMM_FUNCTION_COUNT = 2
} dmm_function;

/** One entry of the SCPI error queue. */
typedef struct dmm_scpi_error {
    int32_t code;      /**< SCPI error number, e.g. -113 */
    const char *text;  /**< static text, e.g. "Undefined header" */
} dmm_scpi_error;

/**
 * The state of one connected unit: everything protocol.c needs for one session. api.c embeds
 * it in its session struct. For real hardware this is where the file descriptor, the USB
 * handle or the socket goes.
 */
typedef struct dmm_device {
    char serial[DMM_SERIAL_MAX + 1]; /**< NUL-terminated copy of the serial (options are borrowed) */
    double nplc;                     /**< integration time in power-line cycles */
    uint32_t timeout_ms;             /**< I/O timeout; LITMUS_TIMEOUT_INFINITE waits forever */
    dmm_function function;           /**< the function the last measurement or set_range chose */
    int autorange[DMM_FUNCTION_COUNT]; /**< non-zero: the unit picks its range */
    double range[DMM_FUNCTION_COUNT];  /**< the manual range, when autorange is off */
    int64_t reading_count;           /**< readings taken since the session opened */
    uint64_t trigger_count;          /**< triggers received since the session opened */
    /* The output queue: one response message, read back by dmm_receive. */
    char output[DMM_OUTPUT_MAX];
    size_t output_len;               /**< bytes queued */
    size_t output_pos;               /**< bytes already read */
    /* The SCPI error queue, oldest first. */
    dmm_scpi_error errors[DMM_ERROR_QUEUE_MAX];
    size_t error_count;
#if LITMUS_ABI_TARGET_MINOR >= 2
    /** Real hardware (any resource but EXAMPLE::...): the session the host opened for the
     *  driver through its transports (ABI 1.2 host I/O, hardware.c); NULL: the simulation. */
    litmus_io *io;
#endif
} dmm_device;

/* ---- the protocol (protocol.c) ------------------------------------------------------------- */

/** Connects to the unit named by `resource` ("EXAMPLE::dmm0::INSTR") and puts it in its
 *  power-on state. `dev` is zeroed by the caller; serial, nplc and timeout_ms are already set
 *  from the open options. */
EXAMPLE_HIDDEN litmus_status dmm_connect(dmm_device *dev, const char *resource, litmus_error *err);

/** Disconnects. Cannot fail: a real driver closes its handle and ignores errors. */
EXAMPLE_HIDDEN void dmm_disconnect(dmm_device *dev);

/** Sends one program message (one SCPI command) to the unit. The message may end with the
 *  write termination ("\n" or "\r\n"); it is stripped. An unknown command is not an I/O
 *  error: the unit queues -113,"Undefined header" like a real instrument would. */
EXAMPLE_HIDDEN litmus_status dmm_send(dmm_device *dev, const uint8_t *data, size_t len,
                                      litmus_error *err);

/** Receives up to `cap` bytes of the pending response: LITMUS_OK when the last byte of the
 *  message was returned, LITMUS_OK_MAX_COUNT when more remains for the next call,
 *  LITMUS_E_TIMEOUT when no response is pending. */
EXAMPLE_HIDDEN litmus_status dmm_receive(dmm_device *dev, uint8_t *buf, size_t cap, size_t *got,
                                         litmus_error *err);

/** Device clear: drops the pending response. The error queue stays (only *CLS empties it). */
EXAMPLE_HIDDEN litmus_status dmm_device_clear(dmm_device *dev, litmus_error *err);

/** The status byte: DMM_STB_MAV and/or DMM_STB_EAV. */
EXAMPLE_HIDDEN litmus_status dmm_status_byte(dmm_device *dev, uint8_t *stb, litmus_error *err);

/** A bus trigger (*TRG). The simulation only counts it. */
EXAMPLE_HIDDEN litmus_status dmm_trigger(dmm_device *dev, litmus_error *err);

/** Sets the I/O timeout of every later call (LITMUS_TIMEOUT_INFINITE: none). */
EXAMPLE_HIDDEN litmus_status dmm_set_timeout(dmm_device *dev, uint32_t timeout_ms,
                                             litmus_error *err);

/** Takes one reading of function `f` and makes `f` the current function. */
EXAMPLE_HIDDEN litmus_status dmm_measure(dmm_device *dev, dmm_function f, double *value,
                                         litmus_error *err);

/** Copies `n` buffered DC voltage readings into `values`. */
EXAMPLE_HIDDEN litmus_status dmm_fetch_buffer(dmm_device *dev, double *values, size_t n,
                                              litmus_error *err);

/** Selects function `f`, with autorange when `autorange` is non-zero, otherwise the smallest
 *  range that covers `range` (its magnitude). A range above the largest fails with
 *  LITMUS_E_INVALID_ARGUMENT and vendor code -222 ("Data out of range"). */
EXAMPLE_HIDDEN litmus_status dmm_set_range(dmm_device *dev, dmm_function f, int autorange,
                                           double range, litmus_error *err);

/** Non-zero when the current function is autoranging. */
EXAMPLE_HIDDEN int dmm_is_autorange(const dmm_device *dev);

/** The unit's calibration record: static bytes, valid until the process exits. */
EXAMPLE_HIDDEN void dmm_calibration_blob(const dmm_device *dev, const uint8_t **data, size_t *len);

/** Lists the units that could be opened now, calling `found` once per unit. Opens nothing. */
EXAMPLE_HIDDEN litmus_status dmm_scan(litmus_found_fn found, void *ctx, litmus_error *err);

/* ---- real hardware through the host's transports (hardware.c, ABI 1.2) -------------------- */

#if LITMUS_ABI_TARGET_MINOR >= 2
/** Non-zero when `resource` names a real instrument (anything but EXAMPLE::...): the driver
 *  then talks SCPI to it through the host I/O services instead of simulating it. */
EXAMPLE_HIDDEN int hw_is_real(const char *resource);
/* The real-hardware halves of the protocol functions above, same contracts; dev->io is set. */
EXAMPLE_HIDDEN litmus_status hw_connect(dmm_device *dev, const char *resource, litmus_error *err);
EXAMPLE_HIDDEN void hw_disconnect(dmm_device *dev);
EXAMPLE_HIDDEN litmus_status hw_send(dmm_device *dev, const uint8_t *data, size_t len,
                                     litmus_error *err);
EXAMPLE_HIDDEN litmus_status hw_receive(dmm_device *dev, uint8_t *buf, size_t cap, size_t *got,
                                        litmus_error *err);
EXAMPLE_HIDDEN litmus_status hw_device_clear(dmm_device *dev, litmus_error *err);
EXAMPLE_HIDDEN litmus_status hw_status_byte(dmm_device *dev, uint8_t *stb, litmus_error *err);
EXAMPLE_HIDDEN litmus_status hw_trigger(dmm_device *dev, litmus_error *err);
EXAMPLE_HIDDEN litmus_status hw_set_timeout(dmm_device *dev, uint32_t timeout_ms,
                                            litmus_error *err);
EXAMPLE_HIDDEN litmus_status hw_measure(dmm_device *dev, dmm_function f, double *value,
                                        litmus_error *err);
EXAMPLE_HIDDEN litmus_status hw_fetch_buffer(dmm_device *dev, double *values, size_t n,
                                             litmus_error *err);
EXAMPLE_HIDDEN litmus_status hw_set_range(dmm_device *dev, dmm_function f, int autorange,
                                          double range, litmus_error *err);
#endif

/* ---- provided by api.c -------------------------------------------------------------------- */

/** The host's services table (from the entry point). */
EXAMPLE_HIDDEN const litmus_host_services *example_services(void);

/** Non-zero when the host keeps messages of `level` (LITMUS_LOG_*). */
EXAMPLE_HIDDEN int example_log_enabled(int32_t level);

/** Logs one printf-style message through the host, if the host keeps `level`. */
EXAMPLE_HIDDEN void example_log(int32_t level, const char *fmt, ...) EXAMPLE_PRINTF(2, 3);

/** Sets the error of the failing call through the host's error_set and returns `status`, so
 *  a failure is one line: `return example_fail(err, LITMUS_E_IO, errno, "...", ...);` */
EXAMPLE_HIDDEN litmus_status example_fail(litmus_error *err, litmus_status status,
                                          int32_t vendor_code, const char *fmt, ...)
    EXAMPLE_PRINTF(4, 5);

#ifdef __cplusplus
}
#endif

#endif /* EXAMPLE_DMM_PROTOCOL_H */
