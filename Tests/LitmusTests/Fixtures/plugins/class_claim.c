/*
 * class_claim.c - a driver that declares an instrument class, for the class checks of
 * `litmus drivers check` and `litmus station check`.
 *
 * Driver "class-claim" (scheme CLAIM, self-test resource CLAIM::x::INSTR), not message-based.
 * Built as is, it declares class dc_power_supply (instrument type "class:dc_power_supply")
 * and breaks it: set_voltage takes millivolts, set_current_limit has no channel while
 * set_voltage has one, and the other supply operations are missing.
 * With -DCLAIM_DMM it declares class dmm and conforms: measure_dc_voltage() -> f64 [V].
 * With -DCLAIM_UNKNOWN it declares "class:dc_power_suply", which names no class.
 * Every operation answers 0 (void operations nothing).
 */
#include <stdlib.h>
#include <string.h>

#include "litmus_driver.h"

#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

static const litmus_host_services *services;

struct litmus_session {
    int unused;
};

static litmus_status claim_open(const litmus_driver_desc *driver, const char *resource,
                                const litmus_kv *options, size_t option_count,
                                litmus_session **out_session, litmus_error *err)
{
    litmus_session *s;
    (void)driver;
    (void)resource;
    (void)options;
    (void)option_count;
    s = (litmus_session *)calloc(1, sizeof *s);
    if (s == NULL) {
        services->error_set(err, LITMUS_E_NO_MEMORY, 0, "out of memory", 13);
        return LITMUS_E_NO_MEMORY;
    }
    *out_session = s;
    return LITMUS_OK;
}

static void claim_close(litmus_session *s) { free(s); }

#define PARAM(type, name, unit, flags)                                                         \
    {                                                                                          \
        (uint32_t)sizeof(litmus_param_desc), (uint32_t)(type), (name), (unit), NULL,           \
            (uint32_t)(flags), 0u, 0.0, 0.0, NULL                                              \
    }
#define OP(name, result_type, unit, flags, params, count)                                      \
    {                                                                                          \
        (uint32_t)sizeof(litmus_operation_desc), (uint32_t)(result_type), (name), (unit),      \
            NULL, (uint32_t)(flags), (uint32_t)(count), (params)                               \
    }

#if defined(CLAIM_DMM)
static const litmus_operation_desc operations[] = {
    OP("measure_dc_voltage", LITMUS_T_F64, "V", LITMUS_OP_READS, NULL, 0),
};
static const char *const types[] = {"dmm", "class:dmm", NULL};
#else
static const litmus_param_desc set_voltage_params[] = {
    PARAM(LITMUS_T_F64, "voltage", "mV", 0),
    PARAM(LITMUS_T_STR, "channel", NULL, LITMUS_PARAM_CHANNEL | LITMUS_PARAM_OPTIONAL),
};
static const litmus_param_desc set_current_limit_params[] = {PARAM(LITMUS_T_F64, "current", "A", 0)};
static const litmus_operation_desc operations[] = {
    OP("set_voltage", LITMUS_T_VOID, NULL, LITMUS_OP_WRITES, set_voltage_params, 2),
    OP("set_current_limit", LITMUS_T_VOID, NULL, LITMUS_OP_WRITES, set_current_limit_params, 1),
};
#if defined(CLAIM_UNKNOWN)
static const char *const types[] = {"psu", "class:dc_power_suply", NULL};
#else
static const char *const types[] = {"psu", "class:dc_power_supply", NULL};
#endif
#endif

static litmus_status claim_invoke(litmus_session *s, uint32_t op_index, const litmus_value *args,
                                  size_t arg_count, litmus_result *result, litmus_error *err)
{
    (void)s;
    (void)args;
    (void)arg_count;
    (void)err;
    if (operations[op_index].result_type == LITMUS_T_F64)
        services->result_f64(result, 0.0);
    return LITMUS_OK;
}

static const litmus_driver_vtable vtable = {
    (uint32_t)sizeof(litmus_driver_vtable),
    claim_open, claim_close,
    NULL, /* write */
    NULL, /* read */
    NULL, /* query */
    NULL, /* clear */
    NULL, /* read_stb */
    NULL, /* set_timeout */
    claim_invoke,
    NULL, /* get_extension */
    NULL, /* trigger */
    NULL, /* discover */
};

static const char *const schemes[] = {"CLAIM", NULL};

static const litmus_driver_desc driver = {
    (uint32_t)sizeof(litmus_driver_desc),
    0u, /* flags: not message-based */
    "class-claim",
    "Class claim (test fixture)",
    "0.1.0",
    "Litmus tests",
    schemes,
    0u, /* open_option_count */
    (uint32_t)COUNTOF(operations),
    NULL, /* open_options */
    operations,
    &vtable,
    NULL,               /* driver_ctx */
    "CLAIM::x::INSTR",  /* self_test_resource */
    NULL,               /* read_termination */
    NULL,               /* write_termination */
    types,              /* instrument_types */
};

static const litmus_driver_desc *const drivers[] = {&driver};

LITMUS_PLUGIN_ENTRY(host, out, err)
{
    (void)err;
    services = host->services;
    if (host->abi_major != LITMUS_ABI_MAJOR || out->struct_size < sizeof(litmus_plugin_info))
        return LITMUS_E_ABI;
    out->abi_major = LITMUS_ABI_MAJOR;
    out->abi_minor = host->abi_minor < 1 ? host->abi_minor : 1;
    out->plugin_name = "litmus-class-claim";
    out->plugin_version = "0.1.0";
    out->driver_count = 1;
    out->drivers = drivers;
    return LITMUS_OK;
}
