/*
 * protocol.c - a simulated Example 6.5-digit DMM.
 *
 * Replace this file to drive real hardware. Each function below says what the real version
 * would do; the simulation keeps the same contract (statuses, errors, what ends up in the
 * output queue) so api.c does not change.
 *
 * The simulation understands one SCPI command per message (case-insensitive):
 *   *IDN?          "Litmus examples,EXAMPLE-DMM6500,<serial>,1.0.0"
 *   *RST           back to the power-on state (DCV, autorange); the reading count stays
 *   *CLS           empties the error queue
 *   MEAS:VOLT:DC?  "+5.00012300E+00" (one reading)
 *   MEAS:RES?      "+1.00025000E+03" (one reading)
 *   SYST:ERR?      the oldest queued error, e.g. -113,"Undefined header", or +0,"No error"
 *   READ:COUN?     readings taken since the session opened, e.g. "3"
 * Anything else queues -113,"Undefined header". Responses end with "\n".
 */
#include "protocol.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- small helpers ------------------------------------------------------------------------ */

/** Case-insensitive ASCII comparison of the counted string a[0..alen) with the C string b.
 *  (SCPI headers and VISA resource strings are case-insensitive; strcasecmp is not C11.) */
static int equal_nocase(const char *a, size_t alen, const char *b)
{
    size_t i;
    for (i = 0; i < alen; i++) {
        char ca = a[i], cb = b[i];
        if (cb == '\0')
            return 0;
        if (ca >= 'a' && ca <= 'z')
            ca = (char)(ca - 'a' + 'A');
        if (cb >= 'a' && cb <= 'z')
            cb = (char)(cb - 'a' + 'A');
        if (ca != cb)
            return 0;
    }
    return b[alen] == '\0';
}

/** Replaces the output queue with one response message, "\n" appended. A new response
 *  replaces an unread one, as a 488.2 instrument discards it (a real one would also queue
 *  -410,"Query INTERRUPTED"). */
static void respond(dmm_device *dev, const char *fmt, ...) EXAMPLE_PRINTF(2, 3);
static void respond(dmm_device *dev, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(dev->output, sizeof dev->output - 1, fmt, ap); /* room for the "\n" */
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof dev->output - 2)
        n = (int)(sizeof dev->output - 2); /* truncated: keep what fitted */
    dev->output[n] = '\n';
    dev->output_len = (size_t)n + 1;
    dev->output_pos = 0;
}

/** Appends an error to the SCPI error queue; when full, the newest entry becomes -350. */
static void queue_error(dmm_device *dev, int32_t code, const char *text)
{
    if (dev->error_count == DMM_ERROR_QUEUE_MAX) {
        dev->errors[DMM_ERROR_QUEUE_MAX - 1].code = -350;
        dev->errors[DMM_ERROR_QUEUE_MAX - 1].text = "Queue overflow";
        return;
    }
    dev->errors[dev->error_count].code = code;
    dev->errors[dev->error_count].text = text;
    dev->error_count++;
}

/** The power-on (and *RST) state: DC volts, autorange on every function. */
static void reset_settings(dmm_device *dev)
{
    int f;
    dev->function = DMM_DCV;
    for (f = 0; f < DMM_FUNCTION_COUNT; f++) {
        dev->autorange[f] = 1;
        dev->range[f] = 0.0;
    }
}

/* ---- connection ---------------------------------------------------------------------------- */

/* Real hardware: parse the resource, open the socket / USB device / serial port, apply
 * dev->timeout_ms, send *IDN? and check the model before accepting the session. */
litmus_status dmm_connect(dmm_device *dev, const char *resource, litmus_error *err)
{
    const char *sep1;
    const char *sep2;
    const char *unit;
    size_t unit_len;
    size_t i;

#if LITMUS_ABI_TARGET_MINOR >= 2
    if (hw_is_real(resource))
        return hw_connect(dev, resource, err); /* a real unit, through the host's transports */
#endif
    /* VISA-style: EXAMPLE::dmm<N>::INSTR, case-insensitive. */
    sep1 = strstr(resource, "::");
    sep2 = sep1 != NULL ? strstr(sep1 + 2, "::") : NULL;
    if (sep1 == NULL || sep2 == NULL)
        goto malformed;
    unit = sep1 + 2;
    unit_len = (size_t)(sep2 - unit);
    if (!equal_nocase(resource, (size_t)(sep1 - resource), "EXAMPLE") ||
        !equal_nocase(sep2 + 2, strlen(sep2 + 2), "INSTR") || unit_len < 4 ||
        !equal_nocase(unit, 3, "DMM"))
        goto malformed;
    for (i = 3; i < unit_len; i++) {
        if (unit[i] < '0' || unit[i] > '9')
            goto malformed;
    }
    /* Well-formed but absent is NOT_FOUND, not INVALID_ARGUMENT: the user may fix the
     * station file or plug the unit in. */
    if (!equal_nocase(unit, unit_len, "DMM0"))
        return example_fail(err, LITMUS_E_NOT_FOUND, 0,
                            "%s: no such unit; the simulation has one unit, " DMM_RESOURCE,
                            resource);

    reset_settings(dev);
    example_log(LITMUS_LOG_DEBUG, "connected to %s (serial %s, NPLC %g, timeout %lu ms)",
                resource, dev->serial, dev->nplc, (unsigned long)dev->timeout_ms);
    return LITMUS_OK;

malformed:
    return example_fail(err, LITMUS_E_INVALID_ARGUMENT, 0,
                        "'%s' is not an EXAMPLE resource: expected EXAMPLE::dmm<N>::INSTR, "
                        "e.g. " DMM_RESOURCE,
                        resource);
}

/* Real hardware: close the handle; ignore errors (close cannot fail). */
void dmm_disconnect(dmm_device *dev)
{
#if LITMUS_ABI_TARGET_MINOR >= 2
    if (dev->io != NULL) {
        hw_disconnect(dev);
        return;
    }
#endif
    example_log(LITMUS_LOG_DEBUG, "disconnected (%lld readings, %llu triggers)",
                (long long)dev->reading_count, (unsigned long long)dev->trigger_count);
}

/* ---- message I/O --------------------------------------------------------------------------- */

/* Real hardware: send the bytes as they are (the host has appended the write termination)
 * and return LITMUS_E_IO / LITMUS_E_TIMEOUT on failure. The parsing below is the simulated
 * instrument's firmware. */
litmus_status dmm_send(dmm_device *dev, const uint8_t *data, size_t len, litmus_error *err)
{
    const char *cmd = (const char *)data;
    double value;
    litmus_status st;

#if LITMUS_ABI_TARGET_MINOR >= 2
    if (dev->io != NULL)
        return hw_send(dev, data, len, err);
#endif
    if (data == NULL)
        len = 0;
    /* Strip the write termination ("\n" or "\r\n") and blanks around the header. */
    while (len > 0 && (cmd[len - 1] == '\n' || cmd[len - 1] == '\r' || cmd[len - 1] == ' ' ||
                       cmd[len - 1] == '\t'))
        len--;
    while (len > 0 && (cmd[0] == ' ' || cmd[0] == '\t')) {
        cmd++;
        len--;
    }
    if (len == 0)
        return LITMUS_OK; /* an empty program message does nothing */

    if (equal_nocase(cmd, len, "*IDN?")) {
        respond(dev, "%s,%s,%s,%s", DMM_MANUFACTURER, DMM_MODEL, dev->serial, DMM_FIRMWARE);
    } else if (equal_nocase(cmd, len, "*RST")) {
        reset_settings(dev);
    } else if (equal_nocase(cmd, len, "*CLS")) {
        dev->error_count = 0;
    } else if (equal_nocase(cmd, len, "MEAS:VOLT:DC?")) {
        st = dmm_measure(dev, DMM_DCV, &value, err);
        if (st != LITMUS_OK)
            return st;
        respond(dev, "%+.8E", value);
    } else if (equal_nocase(cmd, len, "MEAS:RES?")) {
        st = dmm_measure(dev, DMM_RES, &value, err);
        if (st != LITMUS_OK)
            return st;
        respond(dev, "%+.8E", value);
    } else if (equal_nocase(cmd, len, "SYST:ERR?")) {
        if (dev->error_count == 0) {
            respond(dev, "+0,\"No error\"");
        } else {
            respond(dev, "%+d,\"%s\"", (int)dev->errors[0].code, dev->errors[0].text);
            memmove(&dev->errors[0], &dev->errors[1],
                    (dev->error_count - 1) * sizeof dev->errors[0]);
            dev->error_count--;
        }
    } else if (equal_nocase(cmd, len, "READ:COUN?")) {
        respond(dev, "%lld", (long long)dev->reading_count);
    } else {
        /* Not an I/O error: the message was delivered, the instrument did not understand it.
         * A real unit queues the error and sets EAV; so does the simulation. */
        queue_error(dev, -113, "Undefined header");
        example_log(LITMUS_LOG_DEBUG, "undefined header '%.*s' queued as -113",
                    (int)(len > 64 ? 64 : len), cmd);
    }
    return LITMUS_OK;
}

/* Real hardware: read what the transport delivers within dev->timeout_ms. A transport with an
 * end-of-message mark (USBTMC EOM, VXI-11 END, HiSLIP) returns LITMUS_OK when the mark came
 * with the last byte; a byte stream (raw socket, serial line) returns LITMUS_OK_PARTIAL and
 * lets the host find the read termination. */
litmus_status dmm_receive(dmm_device *dev, uint8_t *buf, size_t cap, size_t *got,
                          litmus_error *err)
{
    size_t pending = dev->output_len - dev->output_pos;
    size_t n;

#if LITMUS_ABI_TARGET_MINOR >= 2
    if (dev->io != NULL)
        return hw_receive(dev, buf, cap, got, err);
#endif
    *got = 0;
    if (pending == 0) {
        /* Nothing will ever arrive, so the simulation fails at once instead of waiting. */
        if (dev->timeout_ms == LITMUS_TIMEOUT_INFINITE)
            return example_fail(err, LITMUS_E_TIMEOUT, 0,
                                "no response pending: the last message was not a query");
        return example_fail(err, LITMUS_E_TIMEOUT, 0,
                            "no response within %lu ms: the last message was not a query",
                            (unsigned long)dev->timeout_ms);
    }
    if (buf == NULL || cap == 0)
        return example_fail(err, LITMUS_E_INVALID_ARGUMENT, 0, "read buffer has no room");

    n = pending < cap ? pending : cap;
    memcpy(buf, dev->output + dev->output_pos, n);
    dev->output_pos += n;
    *got = n;
    if (dev->output_pos < dev->output_len)
        return LITMUS_OK_MAX_COUNT; /* the rest waits for the next read */
    dev->output_len = 0;
    dev->output_pos = 0;
    return LITMUS_OK; /* END came with the last byte */
}

/* Real hardware: the transport's device clear (USBTMC INITIATE_CLEAR, VXI-11 device_clear,
 * a serial break...), then drop anything already received. */
litmus_status dmm_device_clear(dmm_device *dev, litmus_error *err)
{
#if LITMUS_ABI_TARGET_MINOR >= 2
    if (dev->io != NULL)
        return hw_device_clear(dev, err);
#endif
    (void)err;
    dev->output_len = 0;
    dev->output_pos = 0;
    return LITMUS_OK;
}

/* Real hardware: a serial poll (USBTMC READ_STATUS_BYTE, VXI-11 device_readstb). */
litmus_status dmm_status_byte(dmm_device *dev, uint8_t *stb, litmus_error *err)
{
#if LITMUS_ABI_TARGET_MINOR >= 2
    if (dev->io != NULL)
        return hw_status_byte(dev, stb, err);
#endif
    (void)err;
    *stb = 0;
    if (dev->output_len > dev->output_pos)
        *stb |= DMM_STB_MAV;
    if (dev->error_count > 0)
        *stb |= DMM_STB_EAV;
    return LITMUS_OK;
}

/* Real hardware: the transport's trigger message (USBTMC TRIGGER, VXI-11 device_trigger). */
litmus_status dmm_trigger(dmm_device *dev, litmus_error *err)
{
    dev->trigger_count++;
#if LITMUS_ABI_TARGET_MINOR >= 2
    if (dev->io != NULL)
        return hw_trigger(dev, err);
#endif
    (void)err;
    return LITMUS_OK;
}

/* Real hardware: the transport's timeout (through the host: the deadline of each read). */
litmus_status dmm_set_timeout(dmm_device *dev, uint32_t timeout_ms, litmus_error *err)
{
    dev->timeout_ms = timeout_ms;
#if LITMUS_ABI_TARGET_MINOR >= 2
    if (dev->io != NULL)
        return hw_set_timeout(dev, timeout_ms, err);
#endif
    (void)err;
    return LITMUS_OK;
}

/* ---- measurements and settings ------------------------------------------------------------- */

/* Real hardware: send "MEAS:VOLT:DC?" or "MEAS:RES?", read the reply, parse it with strtod.
 * Map no reply to LITMUS_E_TIMEOUT, an unparsable reply to LITMUS_E_PROTOCOL, and an
 * instrument error (SYST:ERR? not +0, or an overload of 9.9E37) to LITMUS_E_INSTRUMENT with
 * the SCPI error number as the vendor code. */
litmus_status dmm_measure(dmm_device *dev, dmm_function f, double *value, litmus_error *err)
{
#if LITMUS_ABI_TARGET_MINOR >= 2
    if (dev->io != NULL)
        return hw_measure(dev, f, value, err);
#endif
    (void)err; /* the simulation cannot fail */
    dev->function = f;
    dev->reading_count++;
    *value = f == DMM_RES ? DMM_SIM_RES : DMM_SIM_DCV;
    return LITMUS_OK;
}

/* Real hardware: "FETC?" or "TRAC:DATA? 1,<n>", then parse the comma-separated (or
 * definite-length binary block) reply. This may take long: the operation is flagged SLOW. */
litmus_status dmm_fetch_buffer(dmm_device *dev, double *values, size_t n, litmus_error *err)
{
    static const double pattern[3] = {5.000122, 5.000123, 5.000124};
    size_t i;
#if LITMUS_ABI_TARGET_MINOR >= 2
    if (dev->io != NULL)
        return hw_fetch_buffer(dev, values, n, err);
#endif
    (void)err;
    for (i = 0; i < n; i++)
        values[i] = pattern[i % 3];
    dev->reading_count += (int64_t)n;
    return LITMUS_OK;
}

/** The ranges of each function, smallest first (read-only, so sessions may share them). */
static const double dcv_ranges[] = {0.1, 1.0, 10.0, 100.0, 1000.0};
static const double res_ranges[] = {100.0, 1e3, 10e3, 100e3, 1e6, 10e6, 100e6};

/* Real hardware: "SENS:VOLT:DC:RANG:AUTO ON" or "SENS:VOLT:DC:RANG <r>", then SYST:ERR? to
 * learn whether the unit accepted it. */
litmus_status dmm_set_range(dmm_device *dev, dmm_function f, int autorange, double range,
                            litmus_error *err)
{
    const double *ranges = f == DMM_RES ? res_ranges : dcv_ranges;
    size_t count = f == DMM_RES ? sizeof res_ranges / sizeof res_ranges[0]
                                : sizeof dcv_ranges / sizeof dcv_ranges[0];
    const char *unit = f == DMM_RES ? "Ohm" : "V";
    size_t i;

#if LITMUS_ABI_TARGET_MINOR >= 2
    if (dev->io != NULL)
        return hw_set_range(dev, f, autorange, range, err);
#endif
    if (!autorange) {
        if (range < 0)
            range = -range; /* ranges are symmetric */
        for (i = 0; i < count && ranges[i] < range; i++) {
        }
        if (i == count)
            return example_fail(err, LITMUS_E_INVALID_ARGUMENT, -222,
                                "range %g %s is above the largest %s range (%g %s)", range, unit,
                                f == DMM_RES ? "RES" : "DCV", ranges[count - 1], unit);
        dev->range[f] = ranges[i];
        example_log(LITMUS_LOG_DEBUG, "%s range %g %s", f == DMM_RES ? "RES" : "DCV",
                    ranges[i], unit);
    }
    dev->function = f;
    dev->autorange[f] = autorange != 0;
    return LITMUS_OK;
}

int dmm_is_autorange(const dmm_device *dev)
{
    return dev->autorange[dev->function];
}

/* Real hardware: "CAL:DATA?" returning a definite-length block (#216<16 bytes>). */
void dmm_calibration_blob(const dmm_device *dev, const uint8_t **data, size_t *len)
{
    /* 16 bytes: magic "EXCAL", format 1, date 2026-01-15, gain +123 ppm, offset -10 uV,
     * two reserved bytes. Static: the host copies it in result_bytes. */
    static const uint8_t blob[16] = {'E', 'X', 'C', 'A', 'L', 0x01, 0x07, 0xEA,
                                     0x01, 0x0F, 0x00, 0x7B, 0xFF, 0xF6, 0x00, 0x00};
    (void)dev;
    *data = blob;
    *len = sizeof blob;
}

/* ---- discovery ------------------------------------------------------------------------------- */

/* Real hardware: enumerate USB devices by vendor/product id, or list serial ports, or send an
 * mDNS/VXI-11 broadcast; report canonical resource strings. Never open a session here. */
litmus_status dmm_scan(litmus_found_fn found, void *ctx, litmus_error *err)
{
    static const char description[] = "Example 6.5-digit DMM, serial " DMM_DEFAULT_SERIAL
                                      " (simulated)";
    if (found == NULL)
        return example_fail(err, LITMUS_E_INVALID_ARGUMENT, 0, "discover: no callback");
    found(ctx, DMM_RESOURCE, sizeof DMM_RESOURCE - 1, description, sizeof description - 1);
    return LITMUS_OK;
}
