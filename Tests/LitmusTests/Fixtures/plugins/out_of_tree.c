/*
 * out_of_tree.c - a small, complete driver plugin built outside SwiftPM.
 *
 * Tests compile it at run time, the way a vendor builds a driver out of tree:
 *   cc -shared -fPIC -I Sources/CLitmusDriverABI/include out_of_tree.c -o liblitmus-oot.so
 * and again with -DLITMUS_ABI_TARGET_MINOR=0 for the "plugin built for an older minor" test:
 * its structs are then the ABI 1.0 sizes (no trigger/discover, no instrument_types) and it
 * answers abi_minor 0.
 *
 * Driver "oot-counter" (scheme OOT, self-test resource OOT::counter::INSTR), message-based.
 * Operations, in table order (the op index invoke receives):
 *   0 add(a: f64, b: f64) -> f64          a + b
 *   1 count() -> i64                      operation calls on this session before this one
 *                                         (of any operation, failed ones included; each
 *                                         session counts on its own)
 *   2 echo(text: string) -> string        text, unchanged
 *   3 negate(flag: bool) -> bool          !flag
 *   4 scale(values: f64 array) -> f64 array   every value times 2
 *   5 bytes_len(data: bytes) -> i64       the number of bytes
 *   6 fail(code: i64) -> void             returns status (int32)code; when it is negative
 *                                         (an error), also sets vendor code 42 and the
 *                                         message "requested failure <code>". A code >= 0 is
 *                                         a success (the conformance kit passes 1).
 * Message I/O: write stores the message; read returns it (LITMUS_OK, END at its last byte,
 * LITMUS_OK_MAX_COUNT when the buffer is smaller); reading with nothing stored is
 * LITMUS_E_TIMEOUT. No open options.
 *
 * With -DCONSTRUCTOR_MARKER='"/path"', a constructor (run by dlopen itself, before any entry
 * point) creates that file: the plugin-trust tests check that a refused plugin never ran.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef CONSTRUCTOR_MARKER
__attribute__((constructor)) static void oot_mark_loaded(void) {
    FILE *f = fopen(CONSTRUCTOR_MARKER, "w");
    if (f) {
        fputs("constructor ran\n", f);
        fclose(f);
    }
}
#endif

#include "litmus_driver.h"

#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/** Written once by the entry point, read-only afterwards. */
static const litmus_host_services *services;

/** Sets the error of the failing call and returns `status`. */
static litmus_status fail(litmus_error *err, litmus_status status, int32_t vendor_code,
                          const char *msg)
{
    services->error_set(err, status, vendor_code, msg, strlen(msg));
    return status;
}

/* ---- session ------------------------------------------------------------------------------ */

struct litmus_session {
    int64_t calls;       /* operation calls so far, this one included */
    uint8_t *message;    /* the last message written (malloc'd copy), or NULL */
    size_t message_len;
    size_t message_pos;  /* bytes of it already read back */
};

static litmus_status oot_open(const litmus_driver_desc *driver, const char *resource,
                              const litmus_kv *options, size_t option_count,
                              litmus_session **out_session, litmus_error *err)
{
    litmus_session *s;
    (void)driver;
    (void)options;
    (void)option_count;
    if (strncmp(resource, "OOT::", 5) != 0)
        return fail(err, LITMUS_E_INVALID_ARGUMENT, 0, "oot-counter opens OOT::<name>::INSTR");
    s = (litmus_session *)calloc(1, sizeof *s);
    if (s == NULL)
        return fail(err, LITMUS_E_NO_MEMORY, 0, "out of memory");
    *out_session = s;
    return LITMUS_OK;
}

static void oot_close(litmus_session *s)
{
    free(s->message);
    free(s);
}

/* ---- message I/O: an echo ------------------------------------------------------------------ */

static litmus_status oot_write(litmus_session *s, const uint8_t *data, size_t len,
                               size_t *written, litmus_error *err)
{
    uint8_t *copy = (uint8_t *)malloc(len > 0 ? len : 1);
    *written = 0;
    if (copy == NULL)
        return fail(err, LITMUS_E_NO_MEMORY, 0, "out of memory");
    if (len > 0)
        memcpy(copy, data, len); /* borrowed for this call only: copy */
    free(s->message);
    s->message = copy;
    s->message_len = len;
    s->message_pos = 0;
    *written = len;
    return LITMUS_OK;
}

static litmus_status oot_read(litmus_session *s, uint8_t *buf, size_t cap, size_t *got,
                              litmus_error *err)
{
    size_t n;
    *got = 0;
    if (s->message == NULL)
        return fail(err, LITMUS_E_TIMEOUT, 0, "nothing to echo: write a message first");
    n = s->message_len - s->message_pos;
    if (n > cap)
        n = cap;
    if (n > 0)
        memcpy(buf, s->message + s->message_pos, n);
    s->message_pos += n;
    *got = n;
    if (s->message_pos < s->message_len)
        return LITMUS_OK_MAX_COUNT;
    free(s->message);
    s->message = NULL;
    s->message_len = 0;
    s->message_pos = 0;
    return LITMUS_OK;
}

/* ---- typed operations ---------------------------------------------------------------------- */

#define PARAM(type, name)                                                                      \
    {                                                                                          \
        (uint32_t)sizeof(litmus_param_desc), (uint32_t)(type), (name), NULL, NULL, 0u, 0u,     \
            0.0, 0.0, NULL                                                                     \
    }
#define OP(name, result_type, params, count)                                                   \
    {                                                                                          \
        (uint32_t)sizeof(litmus_operation_desc), (uint32_t)(result_type), (name), NULL, NULL,  \
            0u, (uint32_t)(count), (params)                                                    \
    }

static const litmus_param_desc add_params[] = {PARAM(LITMUS_T_F64, "a"), PARAM(LITMUS_T_F64, "b")};
static const litmus_param_desc echo_params[] = {PARAM(LITMUS_T_STR, "text")};
static const litmus_param_desc negate_params[] = {PARAM(LITMUS_T_BOOL, "flag")};
static const litmus_param_desc scale_params[] = {PARAM(LITMUS_T_F64_ARRAY, "values")};
static const litmus_param_desc bytes_len_params[] = {PARAM(LITMUS_T_BYTES, "data")};
static const litmus_param_desc fail_params[] = {PARAM(LITMUS_T_I64, "code")};

enum { OP_ADD, OP_COUNT_CALLS, OP_ECHO, OP_NEGATE, OP_SCALE, OP_BYTES_LEN, OP_FAIL, OP_TOTAL };

static const litmus_operation_desc operations[] = {
    OP("add", LITMUS_T_F64, add_params, 2),
    OP("count", LITMUS_T_I64, NULL, 0),
    OP("echo", LITMUS_T_STR, echo_params, 1),
    OP("negate", LITMUS_T_BOOL, negate_params, 1),
    OP("scale", LITMUS_T_F64_ARRAY, scale_params, 1),
    OP("bytes_len", LITMUS_T_I64, bytes_len_params, 1),
    OP("fail", LITMUS_T_VOID, fail_params, 1),
};

static litmus_status oot_invoke(litmus_session *s, uint32_t op_index, const litmus_value *args,
                                size_t arg_count, litmus_result *result, litmus_error *err)
{
    char msg[64];
    double *scaled;
    size_t i, n;

    s->calls++;
    if (op_index >= OP_TOTAL || arg_count < operations[op_index].param_count)
        return fail(err, LITMUS_E_INVALID_ARGUMENT, 0, "bad operation index or argument count");
    switch (op_index) {
    case OP_ADD:
        services->result_f64(result, args[0].u.f64 + args[1].u.f64);
        return LITMUS_OK;
    case OP_COUNT_CALLS:
        services->result_i64(result, s->calls - 1); /* the calls before this one */
        return LITMUS_OK;
    case OP_ECHO:
        services->result_str(result, args[0].u.str.ptr, args[0].u.str.len);
        return LITMUS_OK;
    case OP_NEGATE:
        services->result_bool(result, args[0].u.boolean ? 0 : 1);
        return LITMUS_OK;
    case OP_SCALE:
        n = args[0].u.f64_array.len;
        scaled = (double *)malloc((n > 0 ? n : 1) * sizeof *scaled);
        if (scaled == NULL)
            return fail(err, LITMUS_E_NO_MEMORY, 0, "out of memory");
        for (i = 0; i < n; i++)
            scaled[i] = args[0].u.f64_array.ptr[i] * 2.0;
        services->result_f64_array(result, scaled, n); /* copies */
        free(scaled);
        return LITMUS_OK;
    case OP_BYTES_LEN:
        services->result_i64(result, (int64_t)args[0].u.bytes.len);
        return LITMUS_OK;
    case OP_FAIL:
        if ((litmus_status)args[0].u.i64 >= 0)
            return (litmus_status)args[0].u.i64; /* success, with a completion code */
        snprintf(msg, sizeof msg, "requested failure %lld", (long long)args[0].u.i64);
        return fail(err, (litmus_status)args[0].u.i64, 42, msg);
    default:
        return fail(err, LITMUS_E_NOT_FOUND, 0, "no such operation");
    }
}

/* ---- descriptor and entry point ------------------------------------------------------------ */

static const litmus_driver_vtable vtable = {
    (uint32_t)sizeof(litmus_driver_vtable),
    oot_open, oot_close, oot_write, oot_read,
    NULL, /* query */
    NULL, /* clear */
    NULL, /* read_stb */
    NULL, /* set_timeout */
    oot_invoke,
    NULL, /* get_extension */
#if LITMUS_ABI_TARGET_MINOR >= 1
    NULL, /* trigger */
    NULL, /* discover */
#endif
};

static const char *const schemes[] = {"OOT", NULL};

static const litmus_driver_desc driver = {
    (uint32_t)sizeof(litmus_driver_desc),
    LITMUS_DRIVER_MESSAGE_BASED,
    "oot-counter",
    "Out-of-tree counter (test fixture)",
    "0.1.0",
    "Litmus tests",
    schemes,
    0u, /* open_option_count */
    (uint32_t)COUNTOF(operations),
    NULL, /* open_options */
    operations,
    &vtable,
    NULL,                  /* driver_ctx */
    "OOT::counter::INSTR", /* self_test_resource */
    NULL,                  /* read_termination */
    NULL,                  /* write_termination */
#if LITMUS_ABI_TARGET_MINOR >= 1
    NULL, /* instrument_types */
#endif
};

static const litmus_driver_desc *const drivers[] = {&driver};

LITMUS_PLUGIN_ENTRY(host, out, err)
{
    uint16_t minor = (uint16_t)LITMUS_ABI_TARGET_MINOR;
    if (!LITMUS_HAS_FIELD(host, litmus_host_info, services) || host->services == NULL)
        return LITMUS_E_ABI;
    services = host->services;
    if (host->abi_major != LITMUS_ABI_MAJOR || out->struct_size < sizeof(litmus_plugin_info))
        return fail(err, LITMUS_E_ABI, 0, "oot-counter needs ABI 1.x");
    if (host->abi_minor < minor)
        minor = host->abi_minor;
    out->abi_major = LITMUS_ABI_MAJOR;
    out->abi_minor = minor;
    out->plugin_name = "litmus-oot";
    out->plugin_version = "0.1.0";
    out->driver_count = 1;
    out->drivers = drivers;
    return LITMUS_OK;
}
