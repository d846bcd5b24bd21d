/*
 * io_client.c - a driver plugin that talks to its instrument only through the ABI 1.2 host
 * I/O services (services->io_*), compiled by the tests with cc against the current header.
 *
 * Driver "io-client", schemes TCPIP (so the tests see that io_open never picks a driver of the
 * calling plugin) and IOC. Open: io_open(resource) with the host's resolution; the optional
 * open option `io_timeout_ms` is passed on as the host option timeout_ms, and
 * `io_read_termination` as read_termination. Operations, in table order:
 *   0 query(command: str) -> str       io_query, through a 4-byte buffer (MAX_COUNT loop)
 *   1 send(command: str) -> void       io_write
 *   2 receive() -> str                 io_read, through a 4-byte buffer (MAX_COUNT loop)
 *   3 block(command: str) -> bytes     io_write, then io_read_block
 *   4 stb() -> i64                     io_read_stb
 *   5 clear() -> void                  io_clear
 *   6 trigger() -> void                io_trigger
 *   7 set_timeout(ms: i64) -> void     io_set_timeout
 *   8 lock(ms: i64) -> void            io_lock
 *   9 unlock() -> void                 io_unlock
 *  10 last_error() -> str              io_last_error of the session
 *  11 exact(command: str, count: i64) -> bytes   io_write, then io_read with LITMUS_IO_EXACT
 * Every failure is passed on as the host reported it (the host fills `err`).
 */
#include <stdlib.h>
#include <string.h>

#include "litmus_driver.h"

#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

static const litmus_host_services *services;

static litmus_status fail(litmus_error *err, litmus_status status, const char *msg)
{
    services->error_set(err, status, 0, msg, strlen(msg));
    return status;
}

struct litmus_session {
    litmus_io *io;
};

static litmus_status ioc_open(const litmus_driver_desc *driver, const char *resource,
                              const litmus_kv *options, size_t option_count,
                              litmus_session **out_session, litmus_error *err)
{
    litmus_kv host_options[2];
    size_t n = 0, i;
    litmus_session *s;
    litmus_status st;
    (void)driver;
    if (!LITMUS_HAS_FIELD(services, litmus_host_services, io_open) || services->io_open == NULL)
        return fail(err, LITMUS_E_UNSUPPORTED, "io-client needs a host with ABI 1.2 I/O services");
    for (i = 0; i < option_count && n < 2; i++) {
        if (strcmp(options[i].key, "io_timeout_ms") == 0) {
            host_options[n].key = "timeout_ms";
            host_options[n++].value = options[i].value;
        } else if (strcmp(options[i].key, "io_read_termination") == 0) {
            host_options[n].key = "read_termination";
            host_options[n++].value = options[i].value;
        }
    }
    s = (litmus_session *)calloc(1, sizeof *s);
    if (s == NULL)
        return fail(err, LITMUS_E_NO_MEMORY, "out of memory");
    /* IOC::<resource> opens <resource>; anything else is opened as given. */
    if (strncmp(resource, "IOC::", 5) == 0)
        resource += 5;
    st = services->io_open(services->host_ctx, resource, NULL, host_options, n, &s->io, err);
    if (st != LITMUS_OK) {
        free(s);
        return st;
    }
    *out_session = s;
    return LITMUS_OK;
}

static void ioc_close(litmus_session *s)
{
    services->io_close(s->io);
    free(s);
}

/* Collects one whole message through a 4-byte buffer: every call but the last answers
 * LITMUS_OK_MAX_COUNT, so this exercises the host's "rest of the message" path. */
static litmus_status collect(litmus_session *s, litmus_status st, uint8_t *small, size_t got,
                             litmus_result *result, uint32_t as_type, litmus_error *err)
{
    uint8_t *message = NULL;
    size_t len = 0;
    for (;;) {
        uint8_t *grown;
        if (st < 0) {
            free(message);
            return st;
        }
        grown = (uint8_t *)realloc(message, len + got + 1);
        if (grown == NULL) {
            free(message);
            return fail(err, LITMUS_E_NO_MEMORY, "out of memory");
        }
        message = grown;
        memcpy(message + len, small, got);
        len += got;
        if (st != LITMUS_OK_MAX_COUNT)
            break;
        st = services->io_read(s->io, small, 4, &got, 0, err);
    }
    if (as_type == LITMUS_T_BYTES)
        services->result_bytes(result, message, len);
    else
        services->result_str(result, (const char *)message, len);
    free(message);
    return LITMUS_OK;
}

#define PARAM(type, name)                                                                      \
    {                                                                                          \
        (uint32_t)sizeof(litmus_param_desc), (uint32_t)(type), (name), NULL, NULL, 0u, 0u,     \
            0.0, 0.0, NULL                                                                     \
    }
#define OPTIONAL_PARAM(type, name)                                                             \
    {                                                                                          \
        (uint32_t)sizeof(litmus_param_desc), (uint32_t)(type), (name), NULL, NULL,             \
            (uint32_t)LITMUS_PARAM_OPTIONAL, 0u, 0.0, 0.0, NULL                                \
    }
#define OP(name, result_type, params, count)                                                   \
    {                                                                                          \
        (uint32_t)sizeof(litmus_operation_desc), (uint32_t)(result_type), (name), NULL, NULL,  \
            0u, (uint32_t)(count), (params)                                                    \
    }

static const litmus_param_desc command_param[] = {PARAM(LITMUS_T_STR, "command")};
static const litmus_param_desc ms_param[] = {PARAM(LITMUS_T_I64, "ms")};
static const litmus_param_desc exact_params[] = {PARAM(LITMUS_T_STR, "command"),
                                                 PARAM(LITMUS_T_I64, "count")};
static const litmus_param_desc open_options[] = {OPTIONAL_PARAM(LITMUS_T_I64, "io_timeout_ms"),
                                                 OPTIONAL_PARAM(LITMUS_T_STR, "io_read_termination")};

enum {
    OP_QUERY, OP_SEND, OP_RECEIVE, OP_BLOCK, OP_STB, OP_CLEAR, OP_TRIGGER, OP_SET_TIMEOUT,
    OP_LOCK, OP_UNLOCK, OP_LAST_ERROR, OP_EXACT, OP_TOTAL
};

static const litmus_operation_desc operations[] = {
    OP("query", LITMUS_T_STR, command_param, 1),
    OP("send", LITMUS_T_VOID, command_param, 1),
    OP("receive", LITMUS_T_STR, NULL, 0),
    OP("block", LITMUS_T_BYTES, command_param, 1),
    OP("stb", LITMUS_T_I64, NULL, 0),
    OP("clear", LITMUS_T_VOID, NULL, 0),
    OP("trigger", LITMUS_T_VOID, NULL, 0),
    OP("set_timeout", LITMUS_T_VOID, ms_param, 1),
    OP("lock", LITMUS_T_VOID, ms_param, 1),
    OP("unlock", LITMUS_T_VOID, NULL, 0),
    OP("last_error", LITMUS_T_STR, NULL, 0),
    OP("exact", LITMUS_T_BYTES, exact_params, 2),
};

static litmus_status ioc_invoke(litmus_session *s, uint32_t op_index, const litmus_value *args,
                                size_t arg_count, litmus_result *result, litmus_error *err)
{
    uint8_t small[4];
    uint8_t *buf;
    char text[512];
    size_t got = 0, n;
    uint8_t stb = 0;
    litmus_status st;
    (void)arg_count;
    switch (op_index) {
    case OP_QUERY:
        st = services->io_query(s->io, (const uint8_t *)args[0].u.str.ptr, args[0].u.str.len,
                                small, sizeof small, &got, err);
        return collect(s, st, small, got, result, LITMUS_T_STR, err);
    case OP_SEND:
        return services->io_write(s->io, (const uint8_t *)args[0].u.str.ptr, args[0].u.str.len, 0,
                                  err);
    case OP_RECEIVE:
        st = services->io_read(s->io, small, sizeof small, &got, 0, err);
        return collect(s, st, small, got, result, LITMUS_T_STR, err);
    case OP_BLOCK:
        st = services->io_write(s->io, (const uint8_t *)args[0].u.str.ptr, args[0].u.str.len, 0,
                                err);
        if (st != LITMUS_OK)
            return st;
        st = services->io_read_block(s->io, small, sizeof small, &got, err);
        return collect(s, st, small, got, result, LITMUS_T_BYTES, err);
    case OP_STB:
        st = services->io_read_stb(s->io, &stb, err);
        if (st == LITMUS_OK)
            services->result_i64(result, stb);
        return st;
    case OP_CLEAR:
        return services->io_clear(s->io, err);
    case OP_TRIGGER:
        return services->io_trigger(s->io, err);
    case OP_SET_TIMEOUT:
        return services->io_set_timeout(s->io, (uint32_t)args[0].u.i64, err);
    case OP_LOCK:
        return services->io_lock(s->io, (uint32_t)args[0].u.i64, err);
    case OP_UNLOCK:
        services->io_unlock(s->io);
        return LITMUS_OK;
    case OP_LAST_ERROR:
        n = services->io_last_error(s->io, text, sizeof text);
        services->result_str(result, text, n < sizeof text ? n : sizeof text - 1);
        return LITMUS_OK;
    case OP_EXACT:
        st = services->io_write(s->io, (const uint8_t *)args[0].u.str.ptr, args[0].u.str.len, 0,
                                err);
        if (st != LITMUS_OK)
            return st;
        if (args[1].u.i64 <= 0 || args[1].u.i64 > (1 << 20))
            return fail(err, LITMUS_E_INVALID_ARGUMENT, "count must be 1..1048576");
        buf = (uint8_t *)malloc((size_t)args[1].u.i64);
        if (buf == NULL)
            return fail(err, LITMUS_E_NO_MEMORY, "out of memory");
        st = services->io_read(s->io, buf, (size_t)args[1].u.i64, &got, LITMUS_IO_EXACT, err);
        if (st >= 0)
            services->result_bytes(result, buf, got);
        free(buf);
        return st < 0 ? st : LITMUS_OK;
    default:
        return fail(err, LITMUS_E_NOT_FOUND, "no such operation");
    }
}

static const litmus_driver_vtable vtable = {
    (uint32_t)sizeof(litmus_driver_vtable),
    ioc_open, ioc_close,
    NULL, /* write */
    NULL, /* read */
    NULL, /* query */
    NULL, /* clear */
    NULL, /* read_stb */
    NULL, /* set_timeout */
    ioc_invoke,
    NULL, /* get_extension */
    NULL, /* trigger */
    NULL, /* discover */
};

static const char *const schemes[] = {"TCPIP", "IOC", NULL};

static const litmus_driver_desc driver = {
    (uint32_t)sizeof(litmus_driver_desc),
    0u, /* not message-based: typed operations over the host's I/O */
    "io-client",
    "Host I/O client (test fixture)",
    "0.1.0",
    "Litmus tests",
    schemes,
    (uint32_t)COUNTOF(open_options),
    (uint32_t)COUNTOF(operations),
    open_options,
    operations,
    &vtable,
    NULL, /* driver_ctx */
    NULL, /* self_test_resource */
    NULL, /* read_termination */
    NULL, /* write_termination */
    NULL, /* instrument_types */
};

static const litmus_driver_desc *const drivers[] = {&driver};

LITMUS_PLUGIN_ENTRY(host, out, err)
{
    uint16_t minor = (uint16_t)LITMUS_ABI_MINOR;
    if (!LITMUS_HAS_FIELD(host, litmus_host_info, services) || host->services == NULL)
        return LITMUS_E_ABI;
    services = host->services;
    if (host->abi_major != LITMUS_ABI_MAJOR || out->struct_size < sizeof(litmus_plugin_info))
        return fail(err, LITMUS_E_ABI, "io-client needs ABI 1.x");
    if (host->abi_minor < minor)
        minor = host->abi_minor;
    out->abi_major = LITMUS_ABI_MAJOR;
    out->abi_minor = minor;
    out->plugin_name = "litmus-io-client";
    out->plugin_version = "0.1.0";
    out->driver_count = 1;
    out->drivers = drivers;
    return LITMUS_OK;
}
