/*
 * api.c - the Litmus side of the Example 6.5-digit DMM, the reference C driver.
 *
 * Copy this folder to start a driver. This file is everything the host sees:
 *
 *   1. the entry point, litmus_plugin_entry_v1, which negotiates the ABI version and hands
 *      the host the driver table (at the end of the file);
 *   2. the descriptor of the one driver, "example-dmm", with its open options and its typed
 *      operations;
 *   3. the vtable: open/close, message I/O (write/read/clear/read_stb/set_timeout), invoke for
 *      the typed operations, and the ABI 1.1 additions trigger and discover. Each function
 *      translates the ABI call into a call to protocol.c, which talks to the instrument.
 *
 * Rules this file follows (docs/writing-a-driver.md explains each one):
 *   - Descriptors, tables and strings are static and const: they must stay valid until the
 *     process exits, and read-only data may be shared by every thread.
 *   - Inputs (resource, options, arguments, write data) are borrowed for one call: copy what
 *     you keep. Outputs go through the host's setters, which copy.
 *   - Every error goes through the host's error_set, with a message that says what to do.
 *   - Mutable state lives in the session. The host serialises calls on one session, so the
 *     session needs no lock; different sessions may run in parallel on different threads.
 *     The only static mutable variable, g_services, is written once by the entry point, which
 *     the host runs first and exactly once, before any other call.
 *
 * The file compiles as C11 and as C++17 (no designated initializers, explicit casts from
 * void *), and with -DLITMUS_ABI_TARGET_MINOR=0 to build a plugin for ABI 1.0 hosts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "litmus_driver.h"
#include "protocol.h"

#define EXAMPLE_PLUGIN_NAME "litmus-example-c"
#define EXAMPLE_PLUGIN_VERSION "1.0.0"
#define EXAMPLE_DRIVER_ID "example-dmm"

/** Number of entries of a static array. */
#define EX_COUNTOF(array) (sizeof(array) / sizeof((array)[0]))

#ifdef __cplusplus
#define EX_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define EX_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* =============================================================================================
 * Host services, logging and errors
 * ========================================================================================== */

/** The host's services table, from the entry point. Written once, before any other call, then
 *  only read: safe to use from every thread without a lock. */
static const litmus_host_services *g_services;

const litmus_host_services *example_services(void)
{
    return g_services;
}

/** Non-zero when the host keeps messages of `level`. Test it before formatting anything
 *  expensive (hex dumps, escaped buffers): most hosts run at INFO. */
int example_log_enabled(int32_t level)
{
    const litmus_host_services *svc = g_services;
    if (svc == NULL || svc->log == NULL)
        return 0;
    return svc->log_enabled == NULL || svc->log_enabled(svc->host_ctx, level) != 0;
}

/** printf-style logging through services->log. The message is formatted only when the host
 *  keeps the level; it is cut at 511 bytes. The component is the driver id. */
void example_log(int32_t level, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    int n;

    if (!example_log_enabled(level))
        return;
    va_start(ap, fmt);
    n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    g_services->log(g_services->host_ctx, level, EXAMPLE_DRIVER_ID, text,
                    (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
}

/** Sets the error of the failing call through services->error_set (which copies the message)
 *  and returns `status`. `vendor_code` is the instrument's or library's own code (errno, a
 *  libusb code, a SCPI error number) or 0. */
litmus_status example_fail(litmus_error *err, litmus_status status, int32_t vendor_code,
                           const char *fmt, ...)
{
    char text[512];
    va_list ap;
    int n;

    if (g_services == NULL || g_services->error_set == NULL || err == NULL)
        return status;
    va_start(ap, fmt);
    n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    g_services->error_set(err, status, vendor_code, text,
                          (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
    return status;
}

/** Logs the bytes of a write or read at TRACE level, escaped. Skips all the work when TRACE
 *  is off: this runs on every message. */
static void trace_bytes(const char *what, const uint8_t *data, size_t len)
{
    char text[160];
    size_t i;
    size_t n = 0;

    if (!example_log_enabled(LITMUS_LOG_TRACE))
        return;
    for (i = 0; i < len && n + 5 < sizeof text; i++) {
        uint8_t c = data[i];
        if (c == '\n') {
            text[n++] = '\\';
            text[n++] = 'n';
        } else if (c == '\r') {
            text[n++] = '\\';
            text[n++] = 'r';
        } else if (c < 0x20 || c >= 0x7f) {
            n += (size_t)snprintf(text + n, sizeof text - n, "\\x%02X", (unsigned)c);
        } else {
            text[n++] = (char)c;
        }
    }
    text[n] = '\0';
    example_log(LITMUS_LOG_TRACE, "%s %zu bytes: %s%s", what, len, text, i < len ? "..." : "");
}

/* =============================================================================================
 * The session
 * ========================================================================================== */

/** One open session. The ABI only declares `struct litmus_session`; each driver defines it.
 *  The host never looks inside: it hands the pointer back to every vtable call. */
struct litmus_session {
    dmm_device dev;     /**< the instrument connection and its state (protocol.h) */
    char resource[64];  /**< copy of the resource string, for log messages (inputs are borrowed) */
};

/* =============================================================================================
 * Descriptor tables (static, const, valid until the process exits)
 * ========================================================================================== */

/** One entry of a parameter table, in the field order of litmus_param_desc:
 *  struct_size, type, name, unit, help, flags, reserved, min, max, choices.
 *  Positional rather than designated initializers, so the file also compiles as C++17. */
#define EX_PARAM(type, name, unit, help, flags, min, max, choices)                             \
    {                                                                                          \
        (uint32_t)sizeof(litmus_param_desc), (uint32_t)(type), (name), (unit), (help),         \
            (uint32_t)(flags), 0u, (min), (max), (choices)                                     \
    }

/** One entry of an operation table, in the field order of litmus_operation_desc:
 *  struct_size, result_type, name, result_unit, help, flags, param_count, params. */
#define EX_OP(name, result_type, result_unit, help, flags, param_count, params)                \
    {                                                                                          \
        (uint32_t)sizeof(litmus_operation_desc), (uint32_t)(result_type), (name),              \
            (result_unit), (help), (uint32_t)(flags), (uint32_t)(param_count), (params)        \
    }

/** Open options. The host checks a station's options against this table (known name, type,
 *  range) before open; a missing optional option is simply not passed. */
static const litmus_param_desc example_open_options[] = {
    EX_PARAM(LITMUS_T_I64, "timeout_ms", "ms", "I/O timeout in milliseconds (default 2000)",
             LITMUS_PARAM_OPTIONAL | LITMUS_PARAM_HAS_RANGE, 0.0, 3600000.0, NULL),
    EX_PARAM(LITMUS_T_STR, "serial", NULL,
             "serial number the simulated unit reports in *IDN? (default SIM000001)",
             LITMUS_PARAM_OPTIONAL, 0.0, 0.0, NULL),
    EX_PARAM(LITMUS_T_F64, "nplc", NULL, "integration time in power-line cycles (default 1)",
             LITMUS_PARAM_OPTIONAL | LITMUS_PARAM_HAS_RANGE, 0.01, 100.0, NULL),
};

/** Allowed values of set_range's `function`: a NULL-terminated list. The host rejects any
 *  other string before invoke is called. */
static const char *const function_choices[] = {"DCV", "RES", NULL};

/** Parameters of set_range(function, range?). */
static const litmus_param_desc set_range_params[] = {
    EX_PARAM(LITMUS_T_STR, "function", NULL, "measurement function: DCV or RES", 0, 0.0, 0.0,
             function_choices),
    /* The unit depends on `function` (V or Ohm), so it is left NULL. */
    EX_PARAM(LITMUS_T_F64, "range", NULL,
             "largest expected reading (V or Ohm); the smallest range covering it is used; "
             "omit for autorange",
             LITMUS_PARAM_OPTIONAL, 0.0, 0.0, NULL),
};

/** Parameters of fetch_buffer(points). */
static const litmus_param_desc fetch_buffer_params[] = {
    EX_PARAM(LITMUS_T_I64, "points", NULL, "number of buffered readings to fetch",
             LITMUS_PARAM_HAS_RANGE, 1.0, 100000.0, NULL),
};

/** Indices into example_operations: invoke() receives the index, not the name. Keep this enum
 *  and the table in the same order (the static assert below checks the count). Operations are
 *  part of the driver's public interface: append new ones, never reorder or rename. */
enum {
    OP_MEASURE_DC_VOLTAGE,
    OP_MEASURE_RESISTANCE,
    OP_SET_RANGE,
    OP_READ_COUNT,
    OP_IS_AUTORANGE,
    OP_FETCH_BUFFER,
    OP_READ_CALIBRATION_BLOB,
    OP_COUNT
};

/** The typed operations. Test scripts and instrument profiles call these by name; the host
 *  checks every argument (count, type, range, choices) against this table before invoke. */
static const litmus_operation_desc example_operations[] = {
    EX_OP("measure_dc_voltage", LITMUS_T_F64, "V", "take one DC voltage reading",
          LITMUS_OP_READS, 0, NULL),
    EX_OP("measure_resistance", LITMUS_T_F64, "Ohm", "take one 2-wire resistance reading",
          LITMUS_OP_READS, 0, NULL),
    EX_OP("set_range", LITMUS_T_VOID, NULL, "select a function and its range (or autorange)",
          LITMUS_OP_WRITES, EX_COUNTOF(set_range_params), set_range_params),
    EX_OP("read_count", LITMUS_T_I64, NULL, "readings taken since the session opened",
          LITMUS_OP_READS, 0, NULL),
    EX_OP("is_autorange", LITMUS_T_BOOL, NULL, "whether the current function autoranges",
          LITMUS_OP_READS, 0, NULL),
    EX_OP("fetch_buffer", LITMUS_T_F64_ARRAY, "V", "fetch buffered DC voltage readings",
          LITMUS_OP_READS | LITMUS_OP_SLOW, EX_COUNTOF(fetch_buffer_params), fetch_buffer_params),
    EX_OP("read_calibration_blob", LITMUS_T_BYTES, NULL, "the raw 16-byte calibration record",
          LITMUS_OP_READS, 0, NULL),
};
EX_STATIC_ASSERT(EX_COUNTOF(example_operations) == OP_COUNT,
                 "example_operations and the OP_ enum disagree");

/** Resource schemes this driver opens: a NULL-terminated list of upper-case names. */
static const char *const example_schemes[] = {"EXAMPLE", NULL};

#if LITMUS_ABI_TARGET_MINOR >= 1
/** Instrument types this driver serves (ABI 1.1): a NULL-terminated list. */
static const char *const example_instrument_types[] = {"dmm", NULL};
#endif

/* =============================================================================================
 * Open and close
 * ========================================================================================== */

/** The value of an F64 option or argument; an I64 is widened (a station file may say `10`). */
static double value_as_f64(const litmus_value *v)
{
    return v->type == LITMUS_T_I64 ? (double)v->u.i64 : v->u.f64;
}

/** Applies one open option to the device settings. The host has already checked the name,
 *  the type and the range against example_open_options; the checks here cost nothing and
 *  keep the driver safe under a host that is older or buggier than expected. */
static litmus_status apply_option(dmm_device *dev, const litmus_kv *kv, litmus_error *err)
{
    const litmus_value *v = &kv->value;
    size_t i;

    if (kv->key == NULL)
        return example_fail(err, LITMUS_E_INVALID_ARGUMENT, 0, "open option without a name");
    if (v->type == LITMUS_T_VOID)
        return LITMUS_OK; /* left out: keep the default */

    if (strcmp(kv->key, "timeout_ms") == 0) {
        if (v->type != LITMUS_T_I64)
            goto wrong_type;
        if (v->u.i64 < 0 || v->u.i64 > 3600000)
            return example_fail(err, LITMUS_E_INVALID_ARGUMENT, 0,
                                "timeout_ms %lld is outside 0...3600000", (long long)v->u.i64);
        dev->timeout_ms = (uint32_t)v->u.i64;
        return LITMUS_OK;
    }
    if (strcmp(kv->key, "serial") == 0) {
        if (v->type != LITMUS_T_STR)
            goto wrong_type;
        /* Strings are counted, not NUL-terminated, and borrowed: validate, then copy. */
        if (v->u.str.len == 0 || v->u.str.len > DMM_SERIAL_MAX)
            return example_fail(err, LITMUS_E_INVALID_ARGUMENT, 0,
                                "serial must be 1 to %d characters, not %zu", DMM_SERIAL_MAX,
                                v->u.str.len);
        for (i = 0; i < v->u.str.len; i++) {
            char c = v->u.str.ptr[i];
            if (c <= ' ' || c > '~' || c == ',')
                return example_fail(err, LITMUS_E_INVALID_ARGUMENT, 0,
                                    "serial '%.*s' may hold only printable ASCII without "
                                    "spaces or commas (it goes into the *IDN? reply)",
                                    (int)v->u.str.len, v->u.str.ptr);
        }
        memcpy(dev->serial, v->u.str.ptr, v->u.str.len);
        dev->serial[v->u.str.len] = '\0';
        return LITMUS_OK;
    }
    if (strcmp(kv->key, "nplc") == 0) {
        double nplc;
        if (v->type != LITMUS_T_F64 && v->type != LITMUS_T_I64)
            goto wrong_type;
        nplc = value_as_f64(v);
        if (!(nplc >= 0.01 && nplc <= 100.0)) /* also rejects NaN */
            return example_fail(err, LITMUS_E_INVALID_ARGUMENT, 0,
                                "nplc %g is outside 0.01...100", nplc);
        dev->nplc = nplc;
        return LITMUS_OK;
    }
    return example_fail(err, LITMUS_E_INVALID_ARGUMENT, 0,
                        "unknown open option '%s'; " EXAMPLE_DRIVER_ID
                        " takes timeout_ms, serial and nplc",
                        kv->key);

wrong_type:
    return example_fail(err, LITMUS_E_INVALID_ARGUMENT, 0,
                        "open option '%s' has the wrong type (litmus_type %u)", kv->key,
                        (unsigned)v->type);
}

/** vtable.open: allocates a session, applies the options, connects. On failure nothing is
 *  left allocated and *out_session is untouched. */
static litmus_status example_open(const litmus_driver_desc *driver, const char *resource,
                                  const litmus_kv *options, size_t option_count,
                                  litmus_session **out_session, litmus_error *err)
{
    litmus_session *s;
    litmus_status st;
    size_t i;

    (void)driver; /* one driver per plugin here; a multi-driver plugin reads driver->id or
                     driver->driver_ctx to tell them apart */
    if (resource == NULL || out_session == NULL)
        return example_fail(err, LITMUS_E_INVALID_ARGUMENT, 0, "open: no resource given");

    s = (litmus_session *)calloc(1, sizeof *s);
    if (s == NULL)
        return example_fail(err, LITMUS_E_NO_MEMORY, 0, "open %s: out of memory", resource);

    /* Defaults first, then the options the station gave. */
    memcpy(s->dev.serial, DMM_DEFAULT_SERIAL, sizeof DMM_DEFAULT_SERIAL);
    s->dev.nplc = DMM_DEFAULT_NPLC;
    s->dev.timeout_ms = DMM_DEFAULT_TIMEOUT_MS;
    for (i = 0; i < option_count; i++) {
        st = apply_option(&s->dev, &options[i], err);
        if (st != LITMUS_OK) {
            free(s);
            return st;
        }
    }

    st = dmm_connect(&s->dev, resource, err);
    if (st != LITMUS_OK) {
        free(s);
        return st;
    }
    snprintf(s->resource, sizeof s->resource, "%s", resource); /* borrowed: copy */
    *out_session = s;
    return LITMUS_OK;
}

/** vtable.close: disconnects and frees. Cannot fail, is called exactly once per session, and
 *  no call on the session follows it. A driver that runs threads for a session (a reader
 *  thread, a keep-alive timer) stops and joins them here, before returning. */
static void example_close(litmus_session *s)
{
    if (s == NULL)
        return;
    example_log(LITMUS_LOG_DEBUG, "%s: closing", s->resource);
    dmm_disconnect(&s->dev);
    free(s);
}

/* =============================================================================================
 * Message I/O
 *
 * There is no vtable.query: the host composes a query from write + read, applying the
 * termination, the timeout and its I/O trace the same way for every driver. Implement query
 * only when the transport has a native request/response that is faster or more robust than
 * write followed by read (for example a protocol that frames each reply with its request).
 * ========================================================================================== */

/** vtable.write: sends one whole message. The host has already appended the write
 *  termination ("\n" from the descriptor, unless a station overrides it). *written is set
 *  on success and on error. */
static litmus_status example_write(litmus_session *s, const uint8_t *data, size_t len,
                                   size_t *written, litmus_error *err)
{
    litmus_status st;

    trace_bytes("write", data, len);
    st = dmm_send(&s->dev, data, len, err);
    if (written != NULL)
        *written = st == LITMUS_OK ? len : 0;
    return st;
}

/** vtable.read: returns up to `cap` bytes of the pending response.
 *    LITMUS_OK            the message ended with the last byte returned (END);
 *    LITMUS_OK_MAX_COUNT  `buf` filled first; the rest comes with the next read;
 *    LITMUS_E_TIMEOUT     nothing to read within the session timeout.
 *  The response keeps its "\n": the host strips the read termination, not the driver. */
static litmus_status example_read(litmus_session *s, uint8_t *buf, size_t cap, size_t *got,
                                  litmus_error *err)
{
    size_t n = 0;
    litmus_status st = dmm_receive(&s->dev, buf, cap, &n, err);

    if (got != NULL)
        *got = n;
    if (st >= 0)
        trace_bytes("read", buf, n);
    return st;
}

/** vtable.clear: device clear; drops the pending response. */
static litmus_status example_clear(litmus_session *s, litmus_error *err)
{
    return dmm_device_clear(&s->dev, err);
}

/** vtable.read_stb: the status byte from a serial poll: MAV (0x10) when a response is
 *  pending, EAV (0x04) when the error queue is not empty. */
static litmus_status example_read_stb(litmus_session *s, uint8_t *stb, litmus_error *err)
{
    if (stb == NULL)
        return example_fail(err, LITMUS_E_INVALID_ARGUMENT, 0, "read_stb: no output byte");
    return dmm_status_byte(&s->dev, stb, err);
}

/** vtable.set_timeout: applies to every later I/O call of this session.
 *  LITMUS_TIMEOUT_INFINITE (UINT32_MAX) means wait forever. */
static litmus_status example_set_timeout(litmus_session *s, uint32_t timeout_ms,
                                         litmus_error *err)
{
    return dmm_set_timeout(&s->dev, timeout_ms, err);
}

/* =============================================================================================
 * Typed operations
 * ========================================================================================== */

/** Argument `i`, or a VOID value when the host passed fewer arguments (an optional parameter
 *  left out arrives as LITMUS_T_VOID; treat a short array the same way). */
static const litmus_value *arg_at(const litmus_value *args, size_t count, size_t i)
{
    static const litmus_value none = {LITMUS_T_VOID, 0u, {0.0}};
    return (args != NULL && i < count) ? &args[i] : &none;
}

/** Maps set_range's `function` string (one of function_choices) to a dmm_function. */
static int parse_function(const litmus_value *v, dmm_function *f)
{
    if (v->type != LITMUS_T_STR || v->u.str.len != 3 || v->u.str.ptr == NULL)
        return 0;
    if (memcmp(v->u.str.ptr, "DCV", 3) == 0) {
        *f = DMM_DCV;
        return 1;
    }
    if (memcmp(v->u.str.ptr, "RES", 3) == 0) {
        *f = DMM_RES;
        return 1;
    }
    return 0;
}

/** vtable.invoke: runs operation `op_index` of example_operations. The host has checked the
 *  arguments against the table, so each case reads them directly. A successful operation
 *  that returns a value calls exactly one result setter; the setters copy, so stack and
 *  temporary buffers are fine. */
static litmus_status example_invoke(litmus_session *s, uint32_t op_index,
                                    const litmus_value *args, size_t arg_count,
                                    litmus_result *result, litmus_error *err)
{
    dmm_device *dev = &s->dev;
    litmus_status st;
    double value;
    dmm_function function;
    const litmus_value *arg;
    double *readings;
    const uint8_t *blob;
    size_t blob_len;
    int64_t points;

    switch (op_index) {
    case OP_MEASURE_DC_VOLTAGE:
    case OP_MEASURE_RESISTANCE:
        st = dmm_measure(dev, op_index == OP_MEASURE_RESISTANCE ? DMM_RES : DMM_DCV, &value,
                         err);
        if (st != LITMUS_OK)
            return st;
        g_services->result_f64(result, value);
        return LITMUS_OK;

    case OP_SET_RANGE:
        if (!parse_function(arg_at(args, arg_count, 0), &function))
            return example_fail(err, LITMUS_E_INVALID_ARGUMENT, 0,
                                "set_range: function must be DCV or RES");
        arg = arg_at(args, arg_count, 1);
        if (arg->type == LITMUS_T_VOID) /* range left out: autorange */
            return dmm_set_range(dev, function, 1, 0.0, err);
        return dmm_set_range(dev, function, 0, value_as_f64(arg), err);

    case OP_READ_COUNT:
        g_services->result_i64(result, dev->reading_count);
        return LITMUS_OK;

    case OP_IS_AUTORANGE:
        g_services->result_bool(result, dmm_is_autorange(dev) ? 1 : 0);
        return LITMUS_OK;

    case OP_FETCH_BUFFER:
        arg = arg_at(args, arg_count, 0);
        points = arg->type == LITMUS_T_I64 ? arg->u.i64 : 0;
        if (points < 1 || points > 100000)
            return example_fail(err, LITMUS_E_INVALID_ARGUMENT, 0,
                                "fetch_buffer: points must be 1...100000, not %lld",
                                (long long)points);
        readings = (double *)malloc((size_t)points * sizeof *readings);
        if (readings == NULL)
            return example_fail(err, LITMUS_E_NO_MEMORY, 0,
                                "fetch_buffer: no memory for %lld readings", (long long)points);
        st = dmm_fetch_buffer(dev, readings, (size_t)points, err);
        if (st == LITMUS_OK)
            g_services->result_f64_array(result, readings, (size_t)points); /* copies */
        free(readings);
        return st;

    case OP_READ_CALIBRATION_BLOB:
        dmm_calibration_blob(dev, &blob, &blob_len);
        g_services->result_bytes(result, blob, blob_len);
        return LITMUS_OK;

    default:
        /* Cannot happen with a conforming host (it checks op_index), but never trust it. */
        return example_fail(err, LITMUS_E_NOT_FOUND, 0, "no operation #%lu in " EXAMPLE_DRIVER_ID,
                            (unsigned long)op_index);
    }
}

/* =============================================================================================
 * Extensions, and the ABI 1.1 additions
 * ========================================================================================== */

/** vtable.get_extension: driver-specific function tables, looked up by versioned name, for
 *  what typed operations cannot express (the mock driver's "litmus.mock.v1" is one). This
 *  driver has none. A driver with one would write:
 *      if (strcmp(name, "acme.dmm.v1") == 0) return &acme_dmm_v1;   (a static const table)
 *  and return NULL for every other name, including names it has never heard of. */
static const void *example_get_extension(const litmus_driver_desc *driver, const char *name)
{
    (void)driver;
    (void)name;
    return NULL;
}

#if LITMUS_ABI_TARGET_MINOR >= 1
/** vtable.trigger (ABI 1.1): a bus trigger. The simulation counts them. */
static litmus_status example_trigger(litmus_session *s, litmus_error *err)
{
    return dmm_trigger(&s->dev, err);
}

/** vtable.discover (ABI 1.1): reports the units that could be opened now, calling `found`
 *  once per unit with a canonical resource string. Opens no session. Runs under the host's
 *  loader lock, so it must not call back into anything that loads plugins. */
static litmus_status example_discover(const litmus_driver_desc *driver, litmus_found_fn found,
                                      void *ctx, litmus_error *err)
{
    (void)driver;
    return dmm_scan(found, ctx, err);
}
#endif

/* =============================================================================================
 * The vtable and the descriptor
 * ========================================================================================== */

/** The functions of the driver, in the field order of litmus_driver_vtable. A NULL entry
 *  means "unsupported": the host reports it and never calls it. struct_size is the size this
 *  file was compiled with, so a newer host knows which fields exist. */
static const litmus_driver_vtable example_vtable = {
    (uint32_t)sizeof(litmus_driver_vtable), /* struct_size */
    example_open,                           /* open        (required) */
    example_close,                          /* close       (required) */
    example_write,                          /* write       (required: message-based) */
    example_read,                           /* read        (required: message-based) */
    NULL,                                   /* query: the host composes write + read */
    example_clear,                          /* clear */
    example_read_stb,                       /* read_stb */
    example_set_timeout,                    /* set_timeout */
    example_invoke,                         /* invoke      (required: has operations) */
    example_get_extension,                  /* get_extension */
#if LITMUS_ABI_TARGET_MINOR >= 1
    example_trigger,                        /* trigger     (ABI 1.1) */
    example_discover,                       /* discover    (ABI 1.1) */
#endif
};

/** The driver descriptor, in the field order of litmus_driver_desc. */
static const litmus_driver_desc example_driver = {
    (uint32_t)sizeof(litmus_driver_desc),                           /* struct_size */
    LITMUS_DRIVER_MESSAGE_BASED | LITMUS_DRIVER_SIMULATED,          /* flags */
    EXAMPLE_DRIVER_ID,                                              /* id: [a-z0-9][a-z0-9-]* */
    "Example 6.5-digit DMM (reference C driver)",                   /* display_name */
    "1.0.0",                                                        /* version */
    "Litmus examples",                                              /* vendor */
    example_schemes,                                                /* resource_schemes */
    (uint32_t)EX_COUNTOF(example_open_options),                     /* open_option_count */
    (uint32_t)OP_COUNT,                                             /* operation_count */
    example_open_options,                                           /* open_options */
    example_operations,                                             /* operations */
    &example_vtable,                                                /* vtable */
    NULL,                                                           /* driver_ctx: unused */
    DMM_RESOURCE,                                                   /* self_test_resource */
    "\n",                                                           /* read_termination */
    "\n",                                                           /* write_termination */
#if LITMUS_ABI_TARGET_MINOR >= 1
    example_instrument_types,                                       /* instrument_types (1.1) */
#endif
};

/** The plugin's driver list: pointers, so each descriptor may have its own struct_size. */
static const litmus_driver_desc *const example_drivers[] = {&example_driver};

/* =============================================================================================
 * The entry point
 * ========================================================================================== */

/**
 * litmus_plugin_entry_v1: called once, first, under the host's loader lock. It
 *   1. finds the host's services (testing LITMUS_HAS_FIELD before reading the field), because
 *      without them the plugin can neither report errors nor return results;
 *   2. checks the ABI major and refuses, with a message, a host of another major;
 *   3. checks that `out` is at least as large as the litmus_plugin_info it fills, and writes
 *      nothing past out->struct_size;
 *   4. answers abi_minor = min(the minor it was compiled for, the host's minor).
 * A non-zero return rejects the plugin; the host shows the message set through `err`.
 */
LITMUS_PLUGIN_ENTRY(host, out, err)
{
    const litmus_host_services *svc;
    uint16_t minor;

    if (host == NULL || out == NULL)
        return LITMUS_E_INVALID_ARGUMENT;

    /* 1. The services table: refuse a host that offers none (nothing could be reported). */
    if (!LITMUS_HAS_FIELD(host, litmus_host_info, services) || host->services == NULL)
        return LITMUS_E_ABI;
    svc = host->services;
    if (!LITMUS_HAS_FIELD(svc, litmus_host_services, result_bytes) || svc->error_set == NULL) {
        /* Every ABI 1.0 host has the whole table; a shorter one is broken. Report it if we can. */
        if (LITMUS_HAS_FIELD(svc, litmus_host_services, error_set) && svc->error_set != NULL &&
            err != NULL) {
            static const char msg[] = EXAMPLE_PLUGIN_NAME ": the host's services table is "
                                      "incomplete (older than ABI 1.0?)";
            svc->error_set(err, LITMUS_E_ABI, 0, msg, sizeof msg - 1);
        }
        return LITMUS_E_ABI;
    }
    g_services = svc; /* written once, here, before any other call */

    /* 2. The major version is in the symbol's name, but check what the host says. */
    if (host->abi_major != LITMUS_ABI_MAJOR)
        return example_fail(err, LITMUS_E_ABI, 0,
                            EXAMPLE_PLUGIN_NAME " speaks Litmus driver ABI %d.x; the host "
                                                "offered %u.%u",
                            LITMUS_ABI_MAJOR, (unsigned)host->abi_major,
                            (unsigned)host->abi_minor);

    /* 3. Never write past out->struct_size. Every field this plugin sets is in ABI 1.0. */
    if (out->struct_size < sizeof(litmus_plugin_info))
        return example_fail(err, LITMUS_E_ABI, 0,
                            "litmus_plugin_info from the host is %lu bytes; " EXAMPLE_PLUGIN_NAME
                            " needs %lu",
                            (unsigned long)out->struct_size,
                            (unsigned long)sizeof(litmus_plugin_info));

    /* 4. The minor both sides understand. The host rejects an answer newer than its own. */
    minor = (uint16_t)LITMUS_ABI_TARGET_MINOR;
    if (host->abi_minor < minor)
        minor = host->abi_minor;

    /* The host zero-filled `out`; fill every field this plugin knows. */
    out->abi_major = LITMUS_ABI_MAJOR;
    out->abi_minor = minor;
    out->plugin_name = EXAMPLE_PLUGIN_NAME;
    out->plugin_version = EXAMPLE_PLUGIN_VERSION;
    out->driver_count = (uint32_t)EX_COUNTOF(example_drivers);
    out->reserved = 0;
    out->drivers = example_drivers;
    return LITMUS_OK;
}
