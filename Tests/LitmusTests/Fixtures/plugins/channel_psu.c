/*
 * channel_psu.c - a two-channel supply driver whose channels are integers, as a vendor
 * writes one: the tests of the channel and scheme rules compile it at run time.
 *
 * Driver "intch-psu" (scheme INTCH; with -DCLAIM_TCPIP also TCPIP, as a vendor driver that
 * talks TCP itself does), operations only, no hardware:
 *   0 set_voltage(voltage: f64 [V] 0...30, channel: i64 1...2, flagged LITMUS_PARAM_CHANNEL) {writes}
 *   1 measure_voltage(channel: i64 1...2, NOT flagged: a channel by its name) -> f64 [V] {reads}
 * Each session remembers the voltage set per channel; measure_voltage returns it.
 */
#include <stdlib.h>
#include <string.h>

#include "litmus_driver.h"

static const litmus_host_services *services;

struct litmus_session {
    double volts[2];
};

static litmus_status psu_open(const litmus_driver_desc *driver, const char *resource,
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

static void psu_close(litmus_session *s)
{
    free(s);
}

static litmus_status psu_invoke(litmus_session *s, uint32_t op_index, const litmus_value *args,
                                size_t arg_count, litmus_result *result, litmus_error *err)
{
    if (op_index == 0 && arg_count == 2) {
        s->volts[args[1].u.i64 - 1] = args[0].u.f64;
        return LITMUS_OK;
    }
    if (op_index == 1 && arg_count == 1) {
        services->result_f64(result, s->volts[args[0].u.i64 - 1]);
        return LITMUS_OK;
    }
    services->error_set(err, LITMUS_E_NOT_FOUND, 0, "no such operation", 17);
    return LITMUS_E_NOT_FOUND;
}

static const litmus_param_desc set_voltage_params[] = {
    {(uint32_t)sizeof(litmus_param_desc), LITMUS_T_F64, "voltage", "V", "setpoint",
     LITMUS_PARAM_HAS_RANGE, 0u, 0.0, 30.0, NULL},
    {(uint32_t)sizeof(litmus_param_desc), LITMUS_T_I64, "channel", NULL, "output 1 or 2",
     LITMUS_PARAM_HAS_RANGE | LITMUS_PARAM_CHANNEL, 0u, 1.0, 2.0, NULL},
};

static const litmus_param_desc measure_params[] = {
    {(uint32_t)sizeof(litmus_param_desc), LITMUS_T_I64, "channel", NULL, "output 1 or 2",
     LITMUS_PARAM_HAS_RANGE, 0u, 1.0, 2.0, NULL},
};

static const litmus_operation_desc operations[] = {
    {(uint32_t)sizeof(litmus_operation_desc), LITMUS_T_VOID, "set_voltage", NULL, "output voltage setpoint",
     LITMUS_OP_WRITES, 2u, set_voltage_params},
    {(uint32_t)sizeof(litmus_operation_desc), LITMUS_T_F64, "measure_voltage", "V", "output voltage",
     LITMUS_OP_READS, 1u, measure_params},
};

static const litmus_driver_vtable vtable = {
    (uint32_t)sizeof(litmus_driver_vtable),
    psu_open,
    psu_close,
    NULL, /* write */
    NULL, /* read */
    NULL, /* query */
    NULL, /* clear */
    NULL, /* read_stb */
    NULL, /* set_timeout */
    psu_invoke,
    NULL, /* get_extension */
#if LITMUS_ABI_TARGET_MINOR >= 1
    NULL, /* trigger */
    NULL, /* discover */
#endif
};

#if defined(CLAIM_TCPIP)
static const char *const schemes[] = {"INTCH", "TCPIP", NULL};
#else
static const char *const schemes[] = {"INTCH", NULL};
#endif

static const litmus_driver_desc driver = {
    (uint32_t)sizeof(litmus_driver_desc),
    0u, /* flags: operations only */
    "intch-psu",
    "Two-channel supply with integer channels (test fixture)",
    "1.0.0",
    "Litmus tests",
    schemes,
    0u, /* open_option_count */
    2u, /* operation_count */
    NULL,
    operations,
    &vtable,
    NULL,
    "INTCH::psu0::INSTR",
    NULL,
    NULL,
#if LITMUS_ABI_TARGET_MINOR >= 1
    NULL, /* instrument_types */
#endif
};

static const litmus_driver_desc *const drivers[] = {&driver};

LITMUS_PLUGIN_ENTRY(host, out, err)
{
    uint16_t minor = (uint16_t)LITMUS_ABI_TARGET_MINOR;
    (void)err;
    if (!LITMUS_HAS_FIELD(host, litmus_host_info, services) || host->services == NULL)
        return LITMUS_E_ABI;
    services = host->services;
    if (host->abi_minor < minor)
        minor = host->abi_minor;
    out->abi_major = LITMUS_ABI_MAJOR;
    out->abi_minor = minor;
    out->plugin_name = "litmus-intch";
    out->plugin_version = "1.0.0";
    out->driver_count = 1u;
    out->drivers = drivers;
    return LITMUS_OK;
}
