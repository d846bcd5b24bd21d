/*
 * litmus_driver.h - the C ABI between the Litmus host and instrument driver plugins.
 *
 * ABI 1.x. This header is the whole contract: a driver plugin includes it and nothing else
 * from Litmus. It compiles as C11 and C++11 or later with -Wall -Wextra -pedantic.
 *
 * ---------------------------------------------------------------------------------------------
 * Versioning
 *   - The ABI major version is part of the entry symbol's name (litmus_plugin_entry_v1). A
 *     future major 2 plugin may export both entries.
 *   - The minor version is negotiated: the host offers the highest minor it understands in
 *     litmus_host_info.abi_minor; the plugin answers min(own, host) in litmus_plugin_info; the
 *     host re-checks the answer and rejects a minor newer than its own.
 *   - Every struct starts with `struct_size` (sizeof as the writer compiled it) and only ever
 *     grows at its end. A reader tests LITMUS_HAS_FIELD before touching a field a newer minor
 *     added. A NULL function pointer means "unsupported", never a crash.
 *   - A plugin can target an older minor by defining LITMUS_ABI_TARGET_MINOR before including
 *     this header; fields added after that minor then do not exist in its structs, and it
 *     loads into hosts as old as that minor.
 *
 * Memory
 *   - Everything a plugin announces (plugin info, driver descriptors, operation and parameter
 *     tables, strings, vtables) is static, plugin-owned and must stay valid until the process
 *     exits. The host never calls dlclose().
 *   - Inputs (resource strings, options, arguments, write buffers) are borrowed for the
 *     duration of one call only; copy what you keep.
 *   - Outputs go into a caller-provided buffer (read) or through the host's result setters,
 *     which copy. Errors go through error_set, which copies. Nothing is ever freed across the
 *     boundary.
 *   - A session is allocated by the driver in open() and freed by close(), which cannot fail.
 *
 * Threads
 *   1. litmus_plugin_entry_v1 runs exactly once per process, first, under the host's loader
 *      lock; get_extension and discover are also called under that lock.
 *   2. The host serialises every call on one session: a driver never sees two calls on the
 *      same session at once.
 *   3. Calls on different sessions, of the same driver or not, may run in parallel on
 *      different threads. A driver locks any state its sessions share (a libusb context,
 *      a port table) itself.
 *   4. Every host service may be called from any thread, from the moment the entry point is
 *      called until the process exits. The services table is always complete for the minor
 *      the host offers; fields of later minors are tested with LITMUS_HAS_FIELD.
 *   5. After close() returns, the driver makes no more calls for that session and owns no
 *      thread working for it.
 *   6. Calls may block for up to the session's timeout. The host runs them on its own threads,
 *      never on a thread that must not block.
 * ---------------------------------------------------------------------------------------------
 */
#ifndef LITMUS_DRIVER_H
#define LITMUS_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define LITMUS_EXPORT __declspec(dllexport)
#else
#define LITMUS_EXPORT __attribute__((visibility("default")))
#endif

/** ABI major version; part of the entry symbol's name. */
#define LITMUS_ABI_MAJOR 1
/** Highest ABI minor version this header describes. 1.1 added trigger, discover and
 *  instrument_types; 1.2 added the host I/O services (io_* in litmus_host_services). */
#define LITMUS_ABI_MINOR 2

/* The minor this compilation targets (defaults to the newest). Fields added after it are left
 * out of the structs, so sizeof() matches what a host of that minor expects. */
#ifndef LITMUS_ABI_TARGET_MINOR
#define LITMUS_ABI_TARGET_MINOR LITMUS_ABI_MINOR
#endif

/**
 * Reader-side test: is `field` inside the struct the other side compiled?
 * `p` points to a struct of type `T` whose first member is `uint32_t struct_size`.
 */
#define LITMUS_HAS_FIELD(p, T, field) \
    ((p) != NULL && offsetof(T, field) + sizeof(((T *)0)->field) <= (size_t)(p)->struct_size)

/* ---- status codes ------------------------------------------------------------------------
 * 0 is success, > 0 is success with a completion code, < 0 is an error. Only read() returns
 * completion codes; every other call returns LITMUS_OK or an error. Codes at or below
 * LITMUS_E_VENDOR_BASE are the driver's own; the host shows them with the driver's message. */
typedef int32_t litmus_status;

enum {
    LITMUS_OK = 0,
    /** read: the buffer filled before the end of the message; call read again for the rest. */
    LITMUS_OK_MAX_COUNT = 1,
    /** read: bytes arrived, but the transport marks no end of message (a byte stream such as a
     *  raw socket or a serial line). The host finds the end with its read termination. */
    LITMUS_OK_PARTIAL = 2,

    LITMUS_E_FAILED = -1,           /**< generic failure; the message says what */
    LITMUS_E_INVALID_ARGUMENT = -2, /**< bad argument, option or resource string */
    LITMUS_E_UNSUPPORTED = -3,      /**< the driver or device does not do this */
    LITMUS_E_TIMEOUT = -4,          /**< the operation did not complete within the timeout */
    LITMUS_E_IO = -5,               /**< transport failure (connection reset, USB error...) */
    LITMUS_E_NOT_FOUND = -6,        /**< no such device, host, port or operation */
    LITMUS_E_BUSY = -7,             /**< resource in use (locked, claimed by another driver) */
    LITMUS_E_CLOSED = -8,           /**< the session or connection is closed */
    LITMUS_E_INSTRUMENT = -9,       /**< the instrument reported an error */
    LITMUS_E_ABI = -10,             /**< version or struct-size mismatch */
    LITMUS_E_ACCESS = -11,          /**< permission denied (e.g. a missing udev rule) */
    LITMUS_E_NO_MEMORY = -12,       /**< allocation failed */
    LITMUS_E_PROTOCOL = -13,        /**< the peer broke the protocol (garbage, bad header) */
    LITMUS_E_VENDOR_BASE = -1000    /**< driver-specific codes are <= this value */
};

/* ---- opaque handles -------------------------------------------------------------------------- */
typedef struct litmus_error litmus_error;     /**< host-owned; filled through error_set */
typedef struct litmus_result litmus_result;   /**< host-owned; filled through result_* setters */
typedef struct litmus_session litmus_session; /**< driver-owned; opaque to the host */

/* ---- typed values ------------------------------------------------------------------------------ */
typedef enum litmus_type {
    LITMUS_T_VOID = 0,
    LITMUS_T_F64 = 1,
    LITMUS_T_I64 = 2,
    LITMUS_T_BOOL = 3,
    LITMUS_T_STR = 4,       /**< UTF-8, not necessarily NUL-terminated: use len */
    LITMUS_T_F64_ARRAY = 5,
    LITMUS_T_BYTES = 6
} litmus_type;

typedef struct litmus_str_view {
    const char *ptr;
    size_t len;
} litmus_str_view;

typedef struct litmus_f64_span {
    const double *ptr;
    size_t len;
} litmus_f64_span;

typedef struct litmus_bytes_view {
    const uint8_t *ptr;
    size_t len;
} litmus_bytes_view;

/** One typed value. Pointers inside are borrowed for the duration of the call. */
typedef struct litmus_value {
    uint32_t type;     /**< litmus_type */
    uint32_t reserved; /**< must be 0 */
    union {
        double f64;
        int64_t i64;
        int32_t boolean; /**< 0 or 1 */
        litmus_str_view str;
        litmus_f64_span f64_array;
        litmus_bytes_view bytes;
    } u;
} litmus_value;

/** A named value: an open option. */
typedef struct litmus_kv {
    const char *key; /**< NUL-terminated, one of the driver's declared open options */
    litmus_value value;
} litmus_kv;

/* ---- host services ------------------------------------------------------------------------------
 * Every service may be called from any thread. Setters copy what they are given. */
enum {
    LITMUS_LOG_ERROR = 1,
    LITMUS_LOG_WARNING = 2,
    LITMUS_LOG_INFO = 3,
    LITMUS_LOG_DEBUG = 4,
    LITMUS_LOG_TRACE = 5
};

#if LITMUS_ABI_TARGET_MINOR >= 2
/** A host I/O session (ABI 1.2): a message-based session the host opened for a driver on any
 *  resource, through its own transport plugins. Host-owned; opaque to the driver. */
typedef struct litmus_io litmus_io;

/** Flags of io_write and io_read (ABI 1.2). */
enum {
    /** io_write: send the bytes exactly as given, without the session's write termination. */
    LITMUS_IO_RAW = 1u << 0,
    /** io_read: read exactly `cap` bytes (a binary payload), ignoring the read termination. */
    LITMUS_IO_EXACT = 1u << 1
};
#endif

typedef struct litmus_host_services {
    uint32_t struct_size;
    /** Passed back to log and log_enabled; identifies the plugin to the host. */
    void *host_ctx;
    /** Logs one preformatted UTF-8 message (no trailing newline needed). */
    void (*log)(void *host_ctx, int32_t level, const char *component, const char *msg,
                size_t msg_len);
    /** Non-zero when messages of `level` would be kept: skip expensive formatting otherwise. */
    int32_t (*log_enabled)(void *host_ctx, int32_t level);
    /** Sets the error of the failing call. Copies `msg` (UTF-8). The last call wins. `vendor_code` is
     *  the instrument's or library's own code (errno, libusb code, SCPI error number) or 0. */
    void (*error_set)(litmus_error *err, litmus_status status, int32_t vendor_code,
                      const char *msg, size_t msg_len);
    /* Result setters: exactly one per successful call that returns a value. */
    void (*result_f64)(litmus_result *r, double v);
    void (*result_i64)(litmus_result *r, int64_t v);
    void (*result_bool)(litmus_result *r, int32_t v);
    void (*result_str)(litmus_result *r, const char *utf8, size_t len);
    void (*result_f64_array)(litmus_result *r, const double *v, size_t n);
    void (*result_bytes)(litmus_result *r, const uint8_t *v, size_t n);
#if LITMUS_ABI_TARGET_MINOR >= 2
    /* ---- added in ABI 1.2: host I/O -------------------------------------------------------
     * A driver of an instrument family (a DMM, a supply speaking its own line protocol) talks
     * to its instrument through the host's transport plugins, as an IVI driver sits on VISA:
     * the host resolves the resource (TCPIP0::10.0.0.5::5025::SOCKET, ASRL/dev/ttyUSB0::INSTR,
     * USB0::...), applies the options, the read and write terminations, one deadline per read
     * operation, the message size limit, device clear, serial poll, trigger and the
     * cross-process resource lock. Test LITMUS_HAS_FIELD(services, litmus_host_services,
     * io_open) before use: a 1.0 or 1.1 host has none of this.
     *
     * Rules:
     *   - `err` is the litmus_error of the driver's own call (open, invoke, ...), or NULL; on
     *     failure the host sets it with its message, so `return status;` passes the host's
     *     reason on. io_last_error copies the last message of a session for a driver that
     *     wraps it (or passed NULL).
     *   - A session is used by one call at a time (the driver's session serialises it); the
     *     driver closes it with io_close, normally in its own close().
     *   - Reads that return a message (io_read, io_query, io_read_block) copy at most `cap`
     *     bytes and return LITMUS_OK_MAX_COUNT when more of the message remains: the next
     *     io_read returns the rest. The message never includes the read termination.
     *   - Timeouts are deadlines: the session timeout (open option timeout_ms, io_set_timeout,
     *     default 2000 ms) bounds each whole read, query or block read, however the bytes
     *     trickle in; LITMUS_E_TIMEOUT when it passes. A peer that closes gives LITMUS_E_IO or
     *     LITMUS_E_CLOSED. */

    /** Opens `resource` (NUL-terminated) with the driver `driver_id`, or, when NULL, with the
     *  one loaded transport driver whose scheme matches (never a driver of the calling
     *  plugin). `options` are the transport's open options plus the host's:
     *  read_termination, write_termination (LITMUS_T_STR), timeout_ms, max_message_bytes
     *  (LITMUS_T_I64). Pass the caller's host_ctx (services->host_ctx). */
    litmus_status (*io_open)(void *host_ctx, const char *resource, const char *driver_id,
                             const litmus_kv *options, size_t option_count, litmus_io **out_io,
                             litmus_error *err);
    /** Closes the session (releasing its lock, if held). Cannot fail; NULL is ignored. */
    void (*io_close)(litmus_io *io);
    /** Writes one message, the write termination appended unless LITMUS_IO_RAW. */
    litmus_status (*io_write)(litmus_io *io, const uint8_t *data, size_t len, uint32_t flags,
                              litmus_error *err);
    /** Reads one message without its termination into `buf` (see the rules above), or, with
     *  LITMUS_IO_EXACT, exactly `cap` bytes. Sets *got. */
    litmus_status (*io_read)(litmus_io *io, uint8_t *buf, size_t cap, size_t *got,
                             uint32_t flags, litmus_error *err);
    /** Writes `cmd` (termination appended) and reads the reply like io_read. */
    litmus_status (*io_query)(litmus_io *io, const uint8_t *cmd, size_t len, uint8_t *buf,
                              size_t cap, size_t *got, litmus_error *err);
    /** Reads an IEEE 488.2 binary block (#<n><len><data> or #0<data>) and the termination
     *  after it; `buf` receives the data only. */
    litmus_status (*io_read_block)(litmus_io *io, uint8_t *buf, size_t cap, size_t *got,
                                   litmus_error *err);
    /** Device clear through the transport; pending input is dropped. */
    litmus_status (*io_clear)(litmus_io *io, litmus_error *err);
    /** Serial poll through the transport (never *STB?). */
    litmus_status (*io_read_stb)(litmus_io *io, uint8_t *stb, litmus_error *err);
    /** Trigger through the transport. */
    litmus_status (*io_trigger)(litmus_io *io, litmus_error *err);
    /** Sets the deadline of each later read operation; LITMUS_TIMEOUT_INFINITE: none. */
    litmus_status (*io_set_timeout)(litmus_io *io, uint32_t timeout_ms, litmus_error *err);
    /** Sets the read and write terminations (NUL-terminated; "" for none; NULL keeps). */
    litmus_status (*io_set_termination)(litmus_io *io, const char *read_termination,
                                        const char *write_termination, litmus_error *err);
    /** Takes the host's exclusive lock on the resource, shared with every Litmus process of
     *  this user (the lock `litmus run` takes per station role), waiting up to `timeout_ms`
     *  (0: try once). LITMUS_E_BUSY names the holder. Re-entrant within the process. */
    litmus_status (*io_lock)(litmus_io *io, uint32_t timeout_ms, litmus_error *err);
    /** Releases the lock io_lock took; ignored when not held. */
    void (*io_unlock)(litmus_io *io);
    /** Copies the message of the session's last failure (UTF-8, NUL-terminated, cut to fit)
     *  into `buf`; returns its full length in bytes, 0 when the last call succeeded. With
     *  io == NULL: the message of this thread's last failed io_open. */
    size_t (*io_last_error)(litmus_io *io, char *buf, size_t cap);
#endif
} litmus_host_services;

/* ---- descriptors (static, plugin-owned, valid until process exit) ------------------------------- */

/** Parameter flags. */
enum {
    LITMUS_PARAM_OPTIONAL = 1u << 0,  /**< may be omitted; the driver uses its default */
    LITMUS_PARAM_HAS_RANGE = 1u << 1, /**< min and max are valid (inclusive) */
    LITMUS_PARAM_CHANNEL = 1u << 2    /**< the parameter selects an instrument channel */
};

/** One typed parameter of an operation, or one open option of a driver. */
typedef struct litmus_param_desc {
    uint32_t struct_size;
    uint32_t type;              /**< litmus_type (not VOID) */
    const char *name;           /**< snake_case, stable: "voltage", "channel", "baud_rate" */
    const char *unit;           /**< "V", "A", "Hz", "s" or NULL */
    const char *help;           /**< one line, or NULL */
    uint32_t flags;             /**< LITMUS_PARAM_* */
    uint32_t reserved;          /**< must be 0 */
    double min, max;            /**< valid when LITMUS_PARAM_HAS_RANGE */
    const char *const *choices; /**< NULL-terminated allowed values of a STR parameter, or NULL */
} litmus_param_desc;

/** Operation flags. */
enum {
    LITMUS_OP_READS = 1u << 0,  /**< reads a value from the instrument (a measurement) */
    LITMUS_OP_WRITES = 1u << 1, /**< changes instrument state (a setting, an output) */
    LITMUS_OP_SLOW = 1u << 2    /**< may take much longer than one I/O round trip */
};

/** One typed operation: `measure_dc_voltage() -> f64 [V]`, `set_voltage(voltage: f64 [V])`. */
typedef struct litmus_operation_desc {
    uint32_t struct_size;
    uint32_t result_type;    /**< litmus_type; VOID for none */
    const char *name;        /**< snake_case, unique in the driver */
    const char *result_unit; /**< or NULL */
    const char *help;        /**< one line, or NULL */
    uint32_t flags;          /**< LITMUS_OP_* */
    uint32_t param_count;
    const litmus_param_desc *params; /**< param_count entries, each params[0].struct_size apart */
} litmus_operation_desc;

typedef struct litmus_driver_desc litmus_driver_desc;

/** Called by discover() once per resource found. */
typedef void (*litmus_found_fn)(void *ctx, const char *resource, size_t resource_len,
                                const char *description, size_t description_len);

/**
 * The functions of one driver. Required: open and close, plus write and read for a driver
 * flagged LITMUS_DRIVER_MESSAGE_BASED, plus invoke for a driver that declares operations.
 * Every other entry may be NULL, which means unsupported.
 */
typedef struct litmus_driver_vtable {
    uint32_t struct_size;
    /** Opens `resource` (NUL-terminated VISA-style string) with typed `options`, all of which
     *  the host has checked against driver->open_options. Sets *out_session on success. */
    litmus_status (*open)(const litmus_driver_desc *driver, const char *resource,
                          const litmus_kv *options, size_t option_count,
                          litmus_session **out_session, litmus_error *err);
    /** Closes the session and frees it. Cannot fail; called exactly once per session. */
    void (*close)(litmus_session *s);
    /** Writes one whole message, the host's write termination already appended (END is
     *  asserted on its last byte). *written is set to the number of bytes sent, also on error. */
    litmus_status (*write)(litmus_session *s, const uint8_t *data, size_t len, size_t *written,
                           litmus_error *err);
    /** Reads up to `cap` bytes of the current response. Returns LITMUS_OK when the transport
     *  marked the end of the message at the last byte returned, LITMUS_OK_MAX_COUNT when `cap`
     *  bytes were read before the end, LITMUS_OK_PARTIAL when at least one byte arrived on a
     *  transport without end marks. Waits at most the session timeout for the first byte.
     *  The host never passes cap == 0. */
    litmus_status (*read)(litmus_session *s, uint8_t *buf, size_t cap, size_t *got,
                          litmus_error *err);
    /** Optional: writes `cmd` and reads the whole reply into `reply` (result_str or
     *  result_bytes), without the read termination. The host composes write + read if NULL. */
    litmus_status (*query)(litmus_session *s, const uint8_t *cmd, size_t len,
                           litmus_result *reply, litmus_error *err);
    /** Device clear: abort pending I/O and empty the device's input and output buffers. */
    litmus_status (*clear)(litmus_session *s, litmus_error *err);
    /** Reads the status byte through the transport (serial poll), not with *STB?. */
    litmus_status (*read_stb)(litmus_session *s, uint8_t *stb, litmus_error *err);
    /** Sets the timeout of every later I/O call; LITMUS_TIMEOUT_INFINITE waits forever. */
    litmus_status (*set_timeout)(litmus_session *s, uint32_t timeout_ms, litmus_error *err);
    /** Runs operation `op_index` of driver->operations with arguments already checked by the
     *  host against its parameter table (types, ranges, choices): `arg_count` always equals
     *  the operation's param_count, and optional parameters left out arrive as LITMUS_T_VOID.
     *  Sets the result through a result setter, unless the operation returns VOID. */
    litmus_status (*invoke)(litmus_session *s, uint32_t op_index, const litmus_value *args,
                            size_t arg_count, litmus_result *result, litmus_error *err);
    /** Returns a driver-specific function table by name (e.g. LITMUS_MOCK_EXTENSION_V1), or
     *  NULL. The table is static and valid until process exit. */
    const void *(*get_extension)(const litmus_driver_desc *driver, const char *name);
#if LITMUS_ABI_TARGET_MINOR >= 1
    /* ---- added in ABI 1.1 ---- */
    /** Asserts a trigger (*TRG / USBTMC TRIGGER / VXI-11 device_trigger). */
    litmus_status (*trigger)(litmus_session *s, litmus_error *err);
    /** Lists the resources this driver can open now (USB devices, serial ports...), calling
     *  `found` once per resource, with canonical resource strings. Must not open sessions. */
    litmus_status (*discover)(const litmus_driver_desc *driver, litmus_found_fn found,
                              void *ctx, litmus_error *err);
#endif
} litmus_driver_vtable;

#define LITMUS_TIMEOUT_INFINITE UINT32_MAX

/** Driver flags. */
enum {
    /** Sessions carry messages (write/read): SCPI helpers and instrument profiles apply. */
    LITMUS_DRIVER_MESSAGE_BASED = 1u << 0,
    /** The driver simulates instruments; sessions never touch hardware. */
    LITMUS_DRIVER_SIMULATED = 1u << 1
};

/** One instrument driver: a transport (raw socket, USBTMC...) or an instrument family. */
struct litmus_driver_desc {
    uint32_t struct_size;
    uint32_t flags;               /**< LITMUS_DRIVER_* */
    const char *id;               /**< [a-z0-9][a-z0-9-]*, unique in the process: "acme-dmm" */
    const char *display_name;     /**< "ACME 6.5-digit DMM" */
    const char *version;          /**< semantic version of the driver: "1.2.0" */
    const char *vendor;           /**< who ships and supports it */
    /** NULL-terminated list of resource schemes the driver opens: "TCPIP", "USB", "ASRL",
     *  "SIM"... (upper case, the VISA interface type without the board number). */
    const char *const *resource_schemes;
    uint32_t open_option_count;
    uint32_t operation_count;
    const litmus_param_desc *open_options;      /**< typed open options (timeout_ms, baud_rate) */
    const litmus_operation_desc *operations;    /**< typed operations, or NULL */
    const litmus_driver_vtable *vtable;
    /** Driver-private pointer the driver may read back in open/get_extension/discover. */
    void *driver_ctx;
    /** A resource the conformance kit may open with no hardware attached, or NULL. */
    const char *self_test_resource;
    /** Default read and write termination for message-based sessions ("\n"), or NULL for
     *  none. The host applies them; station options may override them. */
    const char *read_termination;
    const char *write_termination;
#if LITMUS_ABI_TARGET_MINOR >= 1
    /* ---- added in ABI 1.1 ---- */
    /** NULL-terminated instrument types this driver serves ("dmm", "psu", "eload", "switch",
     *  "scope"...), or NULL. */
    const char *const *instrument_types;
#endif
};

/* ---- negotiation --------------------------------------------------------------------------------- */

/** What the host tells the plugin. Valid until process exit. */
typedef struct litmus_host_info {
    uint32_t struct_size;
    uint16_t abi_major;                    /**< == LITMUS_ABI_MAJOR */
    uint16_t abi_minor;                    /**< highest minor the host understands */
    const litmus_host_services *services;  /**< valid until process exit */
    const char *plugin_path;               /**< absolute path of the plugin file */
    const char *host_name;                 /**< "litmus" */
    const char *host_version;              /**< the host's semantic version */
} litmus_host_info;

/** What the plugin tells the host. The host zero-fills it and sets struct_size; the plugin
 *  must not write past struct_size. */
typedef struct litmus_plugin_info {
    uint32_t struct_size;
    uint16_t abi_major;         /**< the plugin writes LITMUS_ABI_MAJOR */
    uint16_t abi_minor;         /**< the plugin writes min(its own minor, host->abi_minor) */
    const char *plugin_name;    /**< "litmus-lan" */
    const char *plugin_version; /**< semantic version */
    uint32_t driver_count;
    uint32_t reserved;          /**< must be 0 */
    const litmus_driver_desc *const *drivers; /**< driver_count pointers */
} litmus_plugin_info;

/** The entry point's type. Called exactly once, first, under the host's loader lock. A non-zero
 *  return rejects the plugin; set `err` to say why. */
typedef litmus_status (*litmus_plugin_entry_fn)(const litmus_host_info *host,
                                                litmus_plugin_info *out, litmus_error *err);

/** The name every plugin of ABI major 1 exports. */
#define LITMUS_PLUGIN_ENTRY_SYMBOL "litmus_plugin_entry_v1"

/** The entry point every plugin of ABI major 1 defines (see LITMUS_PLUGIN_ENTRY). A Swift plugin
 *  implements it with `@c @implementation`, which checks it against this prototype. */
LITMUS_EXPORT litmus_status litmus_plugin_entry_v1(const litmus_host_info *host,
                                                   litmus_plugin_info *out, litmus_error *err);

/** Declares the entry point in a plugin's source: `LITMUS_PLUGIN_ENTRY(host, out, err) { ... }`. */
#define LITMUS_PLUGIN_ENTRY(host, out, err)                                                  \
    LITMUS_EXPORT litmus_status litmus_plugin_entry_v1(const litmus_host_info *host,         \
                                                       litmus_plugin_info *out,              \
                                                       litmus_error *err)

/* ---- extension "litmus.mock.v1" (the mock driver) --------------------------------------------------
 * Patches override a mock session's configured behaviour. `behavior_json` uses the mock_config
 * grammar of one operation:
 *   5.0                                        a constant (any JSON scalar or array)
 *   {"value": 5.0}                             the same, explicit
 *   {"sequence": [1, 2, 3], "then": "repeat"}  one value per call; then "repeat" the last,
 *                                              "cycle" from the start, or "error"
 *   {"nominal": 5.0, "sigma": 0.01, "seed": 7} Gaussian noise, reproducible with a seed
 *   {"lookup": {"1": 5.0, "2": 3.3}, "default": 0.0}   by the first argument, as text
 *   {"error": {"status": -4, "message": "timeout"}}    an injected error
 * Patches stack: the newest applicable patch answers. `times` > 0 limits a patch to its next
 * `times` calls; -1 keeps it until it is removed. */
#define LITMUS_MOCK_EXTENSION_V1 "litmus.mock.v1"

typedef struct litmus_mock_v1 {
    uint32_t struct_size;
    /** Runs operation `op_name` by name: a mocked role answers the operation table of the real
     *  driver or profile it stands in for, so its operations need not be in the mock's table. */
    litmus_status (*invoke_named)(litmus_session *s, const char *op_name,
                                  const litmus_value *args, size_t arg_count,
                                  litmus_result *result, litmus_error *err);
    /** Adds a patch for operation `op_name`; *patch_id identifies it for unpatch. */
    litmus_status (*patch)(litmus_session *s, const char *op_name, const char *behavior_json,
                           size_t json_len, int32_t times, uint64_t *patch_id,
                           litmus_error *err);
    /** Adds a patch on a simulated SCPI session: the next `times` queries matching `command`
     *  (case-insensitive, exact after trimming) answer `reply`. */
    litmus_status (*patch_reply)(litmus_session *s, const char *command, const char *reply,
                                 int32_t times, uint64_t *patch_id, litmus_error *err);
    /** Removes one patch; unknown ids are ignored. */
    void (*unpatch)(litmus_session *s, uint64_t patch_id);
    /** Removes every patch; configured behaviour stays. */
    void (*reset_patches)(litmus_session *s);
    /** Number of calls recorded in the session's trace. */
    size_t (*trace_count)(litmus_session *s);
    /** Entry `index` of the trace as one JSON object (result_str):
     *  {"seq":0,"op":"measure_dc_voltage","args":[],"status":0,"result":5.0,"patched":false} */
    litmus_status (*trace_at)(litmus_session *s, size_t index, litmus_result *json,
                              litmus_error *err);
    /** Empties the trace. */
    void (*trace_clear)(litmus_session *s);
} litmus_mock_v1;

/* ---- extension "litmus.cancel.v1" (interrupting a blocked call) ------------------------------------
 * The one exception to "the host serialises every call on a session": `cancel` may be called
 * from another thread while a call on the same session is blocked in I/O (the host does so on
 * SIGINT/SIGTERM, from a dispatch thread, never from a raw signal handler). It must return at
 * once without blocking; the blocked call then stops waiting, runs the transport's own abort
 * (USBTMC INITIATE_ABORT_BULK_IN/OUT) and returns an error. When no call is blocked, the next
 * blocking wait ends at once instead. The host never calls `cancel` concurrently with `close`. */
#define LITMUS_CANCEL_EXTENSION_V1 "litmus.cancel.v1"

typedef struct litmus_cancel_v1 {
    uint32_t struct_size;
    void (*cancel)(litmus_session *s);
} litmus_cancel_v1;

#ifdef __cplusplus
}
#endif

#endif /* LITMUS_DRIVER_H */
