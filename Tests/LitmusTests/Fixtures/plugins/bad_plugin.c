/*
 * bad_plugin.c - one source, many broken plugins: the loader must reject each with a readable
 * message. Select the defect with one -D macro:
 *
 *   -DBAD_WRONG_MAJOR          the entry answers abi_major 2
 *   -DBAD_NEWER_MINOR          the entry answers abi_minor 99 (newer than any host)
 *   -DBAD_SMALL_DRIVER_STRUCT  driver descriptor struct_size 8 (< the ABI 1.0 size)
 *   -DBAD_SMALL_VTABLE         vtable struct_size 8
 *   -DBAD_NULL_OPEN            vtable.open is NULL
 *   -DBAD_NULL_INVOKE          the driver declares operations but vtable.invoke is NULL
 *   -DBAD_DUPLICATE_IN_PLUGIN  two drivers with the same id in one plugin
 *   -DBAD_ENTRY_FAILS          the entry sets the error "license file missing" and returns
 *                              LITMUS_E_FAILED
 *   -DBAD_NO_DRIVERS           driver_count 0
 *   -DBAD_BAD_ID               driver id "Bad ID!"
 *   -DBAD_NO_SCHEMES           resource_schemes is NULL
 *   -DBAD_NULL_OP_NAME         an operation with a NULL name
 *
 * With no BAD_ macro it is a valid plugin: driver DRIVER_ID (default "fixture-ok"), scheme
 * FIXTURE, self-test resource FIXTURE::ok::INSTR, one operation ping() -> bool (true). Compile
 * it twice with -DDRIVER_ID=\"dup-driver\" into two files to test two plugins claiming the same
 * driver id.
 *
 *   cc -shared -fPIC -I Sources/CLitmusDriverABI/include -DBAD_NULL_OPEN bad_plugin.c \
 *      -o liblitmus-bad-null-open.so
 */
#include <stdlib.h>
#include <string.h>

#include "litmus_driver.h"

#ifndef DRIVER_ID
#define DRIVER_ID "fixture-ok"
#endif

#if defined(BAD_BAD_ID)
#define FIXTURE_ID "Bad ID!"
#else
#define FIXTURE_ID DRIVER_ID
#endif

#if defined(BAD_SMALL_DRIVER_STRUCT)
#define DRIVER_STRUCT_SIZE 8u
#else
#define DRIVER_STRUCT_SIZE ((uint32_t)sizeof(litmus_driver_desc))
#endif

#if defined(BAD_SMALL_VTABLE)
#define VTABLE_STRUCT_SIZE 8u
#else
#define VTABLE_STRUCT_SIZE ((uint32_t)sizeof(litmus_driver_vtable))
#endif

#if defined(BAD_NULL_OP_NAME)
#define OP_NAME NULL
#else
#define OP_NAME "ping"
#endif

#if defined(BAD_NO_SCHEMES)
#define SCHEMES NULL
#else
static const char *const schemes[] = {"FIXTURE", NULL};
#define SCHEMES schemes
#endif

static const litmus_host_services *services;

struct litmus_session {
    int unused;
};

#if !defined(BAD_NULL_OPEN)
static litmus_status fixture_open(const litmus_driver_desc *driver, const char *resource,
                                  const litmus_kv *options, size_t option_count,
                                  litmus_session **out_session, litmus_error *err)
{
    litmus_session *s = (litmus_session *)calloc(1, sizeof *s);
    (void)driver;
    (void)resource;
    (void)options;
    (void)option_count;
    if (s == NULL) {
        services->error_set(err, LITMUS_E_NO_MEMORY, 0, "out of memory", 13);
        return LITMUS_E_NO_MEMORY;
    }
    *out_session = s;
    return LITMUS_OK;
}
#define OPEN_FN fixture_open
#else
#define OPEN_FN NULL
#endif

static void fixture_close(litmus_session *s)
{
    free(s);
}

#if !defined(BAD_NULL_INVOKE)
static litmus_status fixture_invoke(litmus_session *s, uint32_t op_index,
                                    const litmus_value *args, size_t arg_count,
                                    litmus_result *result, litmus_error *err)
{
    (void)s;
    (void)args;
    (void)arg_count;
    if (op_index != 0) {
        services->error_set(err, LITMUS_E_NOT_FOUND, 0, "no such operation", 17);
        return LITMUS_E_NOT_FOUND;
    }
    services->result_bool(result, 1);
    return LITMUS_OK;
}
#define INVOKE_FN fixture_invoke
#else
#define INVOKE_FN NULL
#endif

static const litmus_operation_desc operations[] = {
    {(uint32_t)sizeof(litmus_operation_desc), LITMUS_T_BOOL, OP_NAME, NULL, "answers true",
     LITMUS_OP_READS, 0u, NULL},
};

static const litmus_driver_vtable vtable = {
    VTABLE_STRUCT_SIZE,
    OPEN_FN,
    fixture_close,
    NULL, /* write */
    NULL, /* read */
    NULL, /* query */
    NULL, /* clear */
    NULL, /* read_stb */
    NULL, /* set_timeout */
    INVOKE_FN,
    NULL, /* get_extension */
#if LITMUS_ABI_TARGET_MINOR >= 1
    NULL, /* trigger */
    NULL, /* discover */
#endif
};

/* Not message-based, so write and read may be NULL. */
static const litmus_driver_desc driver = {
    DRIVER_STRUCT_SIZE,
    0u, /* flags */
    FIXTURE_ID,
    "Loader test fixture",
    "1.0.0",
    "Litmus tests",
    SCHEMES,
    0u, /* open_option_count */
    1u, /* operation_count */
    NULL,
    operations,
    &vtable,
    NULL,
    "FIXTURE::ok::INSTR",
    NULL,
    NULL,
#if LITMUS_ABI_TARGET_MINOR >= 1
    NULL, /* instrument_types */
#endif
};

#if defined(BAD_DUPLICATE_IN_PLUGIN)
/* The same descriptor listed twice: two drivers with the same id. */
static const litmus_driver_desc *const drivers[] = {&driver, &driver};
#else
static const litmus_driver_desc *const drivers[] = {&driver};
#endif

LITMUS_PLUGIN_ENTRY(host, out, err)
{
    uint16_t minor = (uint16_t)LITMUS_ABI_TARGET_MINOR;
    if (!LITMUS_HAS_FIELD(host, litmus_host_info, services) || host->services == NULL)
        return LITMUS_E_ABI;
    services = host->services;
    if (host->abi_minor < minor)
        minor = host->abi_minor;

#if defined(BAD_ENTRY_FAILS)
    (void)out;
    (void)minor;
    (void)drivers;
    services->error_set(err, LITMUS_E_FAILED, 0, "license file missing",
                        strlen("license file missing"));
    return LITMUS_E_FAILED;
#else
    (void)err;
#if defined(BAD_WRONG_MAJOR)
    out->abi_major = 2;
#else
    out->abi_major = LITMUS_ABI_MAJOR;
#endif
#if defined(BAD_NEWER_MINOR)
    out->abi_minor = 99;
#else
    out->abi_minor = minor;
#endif
    out->plugin_name = "litmus-fixture";
    out->plugin_version = "1.0.0";
#if defined(BAD_NO_DRIVERS)
    out->driver_count = 0;
#else
    out->driver_count = (uint32_t)(sizeof drivers / sizeof drivers[0]);
#endif
    out->drivers = drivers;
    return LITMUS_OK;
#endif
}
