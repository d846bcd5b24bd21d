/*
 * hardware.c - the Example DMM on real hardware, through the host's transports (ABI 1.2).
 *
 * Any resource but EXAMPLE::... is a real unit: TCPIP0::10.0.0.5::5025::SOCKET,
 * TCPIP0::10.0.0.5::inst0::INSTR, USB0::0x1234::0x5678::SN1::INSTR, ASRL/dev/ttyUSB0::INSTR.
 * The driver owns no socket, USB or serial code: it asks the host to open the resource
 * (services->io_open) and speaks SCPI over that session. The host resolves the resource to
 * its transport plugin and applies the terminations, the deadline of each read, device clear,
 * serial poll, trigger and the message size limit, exactly as for its own instruments. What
 * stays here is the driver's job: the instrument's commands and the parsing of its replies.
 *
 * Open it with the driver named explicitly, since the scheme (TCPIP, USB...) belongs to the
 * transport: `registry.open("TCPIP0::10.0.0.5::5025::SOCKET", driver: "example-dmm")`, or in
 * a station file `driver: example-dmm`.
 *
 * Errors: the host fills `err` when an io_* call fails (a timeout, a peer that closed), so
 * those are passed on as they are; this file reports what only the driver knows (a reply
 * that does not parse, an error the instrument queued).
 */
#include "protocol.h"

#if LITMUS_ABI_TARGET_MINOR >= 2

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** Longest reply this driver reads at once (a fetch_buffer of many points is longer: see
 *  hw_fetch_buffer). */
#define HW_REPLY_MAX 256

int hw_is_real(const char *resource)
{
    static const char simulated[] = "EXAMPLE::";
    size_t i;
    for (i = 0; i + 1 < sizeof simulated; i++) {
        char c = resource[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != simulated[i])
            return 1;
    }
    return 0;
}

/** One query through the host: the reply, NUL-terminated, without its termination. A reply
 *  longer than `cap - 1` is an error (the rest is dropped by the next io_* call). */
static litmus_status hw_query(dmm_device *dev, const char *cmd, char *reply, size_t cap,
                              litmus_error *err)
{
    const litmus_host_services *svc = example_services();
    size_t got = 0;
    litmus_status st = svc->io_query(dev->io, (const uint8_t *)cmd, strlen(cmd),
                                     (uint8_t *)reply, cap - 1, &got, err);
    if (st < 0)
        return st;
    reply[got] = '\0';
    if (st == LITMUS_OK_MAX_COUNT)
        return example_fail(err, LITMUS_E_PROTOCOL, 0,
                            "the reply to %s is longer than %zu bytes: '%.40s...'", cmd, cap - 1,
                            reply);
    return LITMUS_OK;
}

/** SYST:ERR? after a setting: LITMUS_E_INSTRUMENT with the SCPI error number when the unit
 *  refused it. */
static litmus_status hw_check_error(dmm_device *dev, const char *what, litmus_error *err)
{
    char reply[HW_REPLY_MAX];
    long code;
    litmus_status st = hw_query(dev, "SYST:ERR?", reply, sizeof reply, err);
    if (st != LITMUS_OK)
        return st;
    code = strtol(reply, NULL, 10);
    if (code != 0)
        return example_fail(err, LITMUS_E_INSTRUMENT, (int32_t)code, "the unit refused %s: %s",
                            what, reply);
    return LITMUS_OK;
}

litmus_status hw_connect(dmm_device *dev, const char *resource, litmus_error *err)
{
    const litmus_host_services *svc = example_services();
    char idn[HW_REPLY_MAX];
    litmus_kv option;
    litmus_status st;

    if (!LITMUS_HAS_FIELD(svc, litmus_host_services, io_open) || svc->io_open == NULL)
        return example_fail(err, LITMUS_E_UNSUPPORTED, 0,
                            "%s: this host has no I/O services (ABI 1.2). Fix: upgrade litmus, "
                            "or open the simulated unit " DMM_RESOURCE,
                            resource);
    /* The session's timeout becomes the host's deadline of each read (0: none). */
    memset(&option, 0, sizeof option);
    option.key = "timeout_ms";
    option.value.type = LITMUS_T_I64;
    option.value.u.i64 = dev->timeout_ms == LITMUS_TIMEOUT_INFINITE ? 0 : (int64_t)dev->timeout_ms;
    st = svc->io_open(svc->host_ctx, resource, NULL, &option, 1, &dev->io, err);
    if (st != LITMUS_OK) {
        dev->io = NULL;
        return st;
    }
    /* Check that something answers before accepting the session. */
    st = hw_query(dev, "*IDN?", idn, sizeof idn, err);
    if (st != LITMUS_OK) {
        svc->io_close(dev->io);
        dev->io = NULL;
        return st;
    }
    example_log(LITMUS_LOG_DEBUG, "connected to %s through the host: %s", resource, idn);
    dev->function = DMM_DCV;
    dev->autorange[DMM_DCV] = dev->autorange[DMM_RES] = 1;
    return LITMUS_OK;
}

void hw_disconnect(dmm_device *dev)
{
    example_services()->io_close(dev->io);
    dev->io = NULL;
}

litmus_status hw_send(dmm_device *dev, const uint8_t *data, size_t len, litmus_error *err)
{
    /* The host of this session already appended its write termination: send as is. */
    return example_services()->io_write(dev->io, data, len, LITMUS_IO_RAW, err);
}

litmus_status hw_receive(dmm_device *dev, uint8_t *buf, size_t cap, size_t *got,
                         litmus_error *err)
{
    /* One message without its termination: LITMUS_OK marks its end for the host above. */
    return example_services()->io_read(dev->io, buf, cap, got, 0, err);
}

litmus_status hw_device_clear(dmm_device *dev, litmus_error *err)
{
    return example_services()->io_clear(dev->io, err);
}

litmus_status hw_status_byte(dmm_device *dev, uint8_t *stb, litmus_error *err)
{
    return example_services()->io_read_stb(dev->io, stb, err);
}

litmus_status hw_trigger(dmm_device *dev, litmus_error *err)
{
    return example_services()->io_trigger(dev->io, err);
}

litmus_status hw_set_timeout(dmm_device *dev, uint32_t timeout_ms, litmus_error *err)
{
    return example_services()->io_set_timeout(dev->io, timeout_ms, err);
}

litmus_status hw_measure(dmm_device *dev, dmm_function f, double *value, litmus_error *err)
{
    const char *cmd = f == DMM_RES ? "MEAS:RES?" : "MEAS:VOLT:DC?";
    char reply[HW_REPLY_MAX];
    char *end;
    litmus_status st = hw_query(dev, cmd, reply, sizeof reply, err);
    if (st != LITMUS_OK)
        return st;
    *value = strtod(reply, &end);
    if (end == reply)
        return example_fail(err, LITMUS_E_PROTOCOL, 0, "%s answered '%.64s', not a number", cmd,
                            reply);
    if (*value >= 9.9e37 || *value <= -9.9e37)
        return example_fail(err, LITMUS_E_INSTRUMENT, 0, "%s: overload (%s)", cmd, reply);
    dev->function = f;
    dev->reading_count++;
    return LITMUS_OK;
}

litmus_status hw_fetch_buffer(dmm_device *dev, double *values, size_t n, litmus_error *err)
{
    const litmus_host_services *svc = example_services();
    char cmd[64];
    char *reply, *p, *end;
    size_t cap = n * 24 + 2, got = 0, i;
    litmus_status st;

    snprintf(cmd, sizeof cmd, "TRAC:DATA? 1,%zu", n);
    reply = (char *)malloc(cap);
    if (reply == NULL)
        return example_fail(err, LITMUS_E_NO_MEMORY, 0, "fetch_buffer: out of memory");
    st = svc->io_query(dev->io, (const uint8_t *)cmd, strlen(cmd), (uint8_t *)reply, cap - 1,
                       &got, err);
    if (st < 0) {
        free(reply);
        return st;
    }
    reply[got] = '\0';
    for (i = 0, p = reply; i < n; i++) {
        values[i] = strtod(p, &end);
        if (end == p) {
            st = example_fail(err, LITMUS_E_PROTOCOL, 0,
                              "%s: reading %zu of %zu does not parse in '%.64s'", cmd, i + 1, n,
                              reply);
            free(reply);
            return st;
        }
        p = *end == ',' ? end + 1 : end;
    }
    free(reply);
    dev->reading_count += (int64_t)n;
    return LITMUS_OK;
}

litmus_status hw_set_range(dmm_device *dev, dmm_function f, int autorange, double range,
                           litmus_error *err)
{
    const char *function = f == DMM_RES ? "RES" : "VOLT:DC";
    char cmd[96];
    litmus_status st;

    if (autorange)
        snprintf(cmd, sizeof cmd, "SENS:%s:RANG:AUTO ON", function);
    else
        snprintf(cmd, sizeof cmd, "SENS:%s:RANG %g", function, range < 0 ? -range : range);
    st = example_services()->io_write(dev->io, (const uint8_t *)cmd, strlen(cmd), 0, err);
    if (st != LITMUS_OK)
        return st;
    st = hw_check_error(dev, cmd, err);
    if (st != LITMUS_OK)
        return st;
    dev->function = f;
    dev->autorange[f] = autorange != 0;
    return LITMUS_OK;
}

#else
/* Built for an ABI older than 1.2: the simulation only. ISO C wants a declaration here. */
typedef int example_hardware_needs_abi_1_2;
#endif
