/*
 * usbtmc_emu.c - an emulated USBTMC / USB488 instrument for libusb clients, built on
 * umockdev's programmable ioctl handler (UMockdevIoctlBase).
 *
 * Usage (the emulator and its client both need umockdev's preload library):
 *
 *   umockdev-wrapper ./usbtmc_emu <client> [client arguments...]
 *
 * It creates a umockdev testbed with one USB device (/dev/bus/usb/001/002, descriptors in
 * sysfs), answers the usbdevfs ioctls libusb makes on its node (claim, kernel-driver
 * queries, SUBMITURB / REAPURB / DISCARDURB for control, bulk and interrupt URBs), runs the
 * client, and exits with the client's status.
 *
 * The instrument behind the URBs speaks USBTMC with the USB488 subclass: GET_CAPABILITIES,
 * INITIATE_CLEAR / CHECK_CLEAR_STATUS, the abort requests, READ_STATUS_BYTE (answered on
 * interrupt-IN), REN_CONTROL / GO_TO_LOCAL / LOCAL_LOCKOUT, the TRIGGER message, and a tiny
 * SCPI engine: *IDN?, DATA? <n> (IEEE definite-length block), ECHO? <text>, *STB?, *TRG,
 * NOREPLY? (never answers).
 *
 * Configuration, from the environment:
 *   EMU_VID, EMU_PID      ids in hex (default 2a8d, 1102)
 *   EMU_SERIAL            serial number string (default MY59001234)
 *   EMU_MAX_PACKET        Bulk wMaxPacketSize (default 512)
 *   EMU_INTERFACE         number of the USBTMC interface; 1 adds a vendor interface 0 first
 *   EMU_DRIVER_ATTACHED   1: the kernel usbtmc driver is bound until the client detaches it
 *   EMU_NO_INTERRUPT      1: no interrupt-IN endpoint (STB comes in the control reply)
 *   EMU_LOG               file to append one line per notable event (for test assertions)
 *   EMU_SHARE_TESTBED     1: make the testbed usable by every user (directories 1777, files
 *                         0644), so a client running as another user (setpriv) sees the device
 *                         but cannot open its node read-write: libusb's EACCES path
 *
 * Everything runs in umockdev's handler thread; URBs with nothing to answer yet are parked
 * until the instrument has data (or libusb discards them on a timeout).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/ioctl.h>
#include <linux/usbdevice_fs.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <umockdev.h>

#define DEVNODE "/dev/bus/usb/001/002"
#define EP_OUT 0x01
#define EP_IN 0x82
#define EP_INT 0x83

/* ---- configuration ---------------------------------------------------------------------- */

static unsigned vid = 0x2a8d, pid = 0x1102, max_packet = 512, tmc_interface = 0;
static const char *serial = "MY59001234";
static int driver_attached = 0, has_interrupt = 1;
static FILE *event_log;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...) {
    if (!event_log) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(event_log, fmt, ap);
    va_end(ap);
    fputc('\n', event_log);
    fflush(event_log);
}

/* ---- byte buffers ------------------------------------------------------------------------- */

typedef struct {
    uint8_t *data;
    size_t len, cap;
} Bytes;

static void bytes_append(Bytes *b, const void *p, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        b->data = realloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void bytes_clear(Bytes *b) { b->len = 0; }

/* ---- the instrument ------------------------------------------------------------------------ */

/* Response messages not yet sent, as one byte stream with message boundaries. */
typedef struct Response {
    Bytes bytes;
    size_t offset;
    struct Response *next;
} Response;

static Bytes input;               /* DEV_DEP_MSG_OUT payload until EOM */
static Response *responses;       /* queue of response messages */
static Bytes bulk_in;             /* bytes of Bulk-IN transfers queued for the host */
static size_t bulk_in_offset;
static int bulk_in_zlp;           /* a zero-length packet follows the queued bytes */
static int request_outstanding;   /* a REQUEST_DEV_DEP_MSG_IN waits for a response */
static uint8_t request_tag, last_reply_tag;
static uint32_t request_size;
static int request_termchar_enabled;
static uint8_t request_termchar;
static int bulk_out_halted;
static uint8_t interrupt_queue[16][2];
static int interrupt_count;
static unsigned triggers;
static int ren; /* REN_CONTROL state */

static void queue_response(const void *p, size_t n) {
    Response *r = calloc(1, sizeof *r);
    bytes_append(&r->bytes, p, n);
    Response **tail = &responses;
    while (*tail) tail = &(*tail)->next;
    *tail = r;
}

static void drop_responses(void) {
    while (responses) {
        Response *r = responses;
        responses = r->next;
        free(r->bytes.data);
        free(r);
    }
}

static uint8_t status_byte(void) { return responses ? 0x10 : 0x00; /* MAV */ }

static void execute(char *cmd) {
    size_t n = strlen(cmd);
    while (n && (cmd[n - 1] == '\n' || cmd[n - 1] == '\r')) cmd[--n] = 0;
    note("command %s", cmd);
    if (strcasecmp(cmd, "*IDN?") == 0) {
        char idn[256];
        int len = snprintf(idn, sizeof idn, "LITMUS,USBTMC-EMU,%s,1.0\n", serial);
        queue_response(idn, (size_t)len);
    } else if (strncasecmp(cmd, "DATA? ", 6) == 0) {
        long count = strtol(cmd + 6, NULL, 10);
        if (count < 0 || count > 64L * 1024 * 1024) count = 0;
        char head[32];
        char digits[24];
        int nd = snprintf(digits, sizeof digits, "%ld", count);
        int hl = snprintf(head, sizeof head, "#%d%s", nd, digits);
        Response *r = calloc(1, sizeof *r);
        bytes_append(&r->bytes, head, (size_t)hl);
        for (long i = 0; i < count; i++) {
            uint8_t v = (uint8_t)(i % 251);
            bytes_append(&r->bytes, &v, 1);
        }
        bytes_append(&r->bytes, "\n", 1);
        Response **tail = &responses;
        while (*tail) tail = &(*tail)->next;
        *tail = r;
    } else if (strncasecmp(cmd, "ECHO? ", 6) == 0) {
        size_t len = strlen(cmd + 6);
        char *text = malloc(len + 1);
        memcpy(text, cmd + 6, len);
        text[len] = '\n';
        queue_response(text, len + 1);
        free(text);
    } else if (strcasecmp(cmd, "*STB?") == 0) {
        char text[8];
        int len = snprintf(text, sizeof text, "%u\n", status_byte());
        queue_response(text, (size_t)len);
    } else if (strcasecmp(cmd, "*TRG") == 0) {
        triggers++;
        note("trigger *TRG");
    } else if (strcasecmp(cmd, "TRG:COUN?") == 0) {
        char text[32];
        int len = snprintf(text, sizeof text, "%u\n", triggers);
        queue_response(text, (size_t)len);
    }
    /* NOREPLY? and anything else: no response */
}

/* Queue the transfer answering the outstanding request, if a response exists. */
static void answer_request(void) {
    if (!request_outstanding || !responses || bulk_in_offset < bulk_in.len || bulk_in_zlp) return;
    Response *r = responses;
    size_t left = r->bytes.len - r->offset;
    size_t size = left < request_size ? left : request_size;
    uint8_t attributes = 0;
    if (request_termchar_enabled) {
        for (size_t i = 0; i < size; i++) {
            if (r->bytes.data[r->offset + i] == request_termchar) {
                size = i + 1;
                attributes |= 2;
                break;
            }
        }
    }
    int last = r->offset + size == r->bytes.len;
    if (last) attributes |= 1;
    uint8_t header[12] = {2, request_tag, (uint8_t)~request_tag, 0,
                          (uint8_t)size, (uint8_t)(size >> 8), (uint8_t)(size >> 16), (uint8_t)(size >> 24),
                          attributes, 0, 0, 0};
    bytes_clear(&bulk_in);
    bulk_in_offset = 0;
    bytes_append(&bulk_in, header, 12);
    bytes_append(&bulk_in, r->bytes.data + r->offset, size);
    bulk_in_zlp = bulk_in.len % max_packet == 0;
    last_reply_tag = request_tag;
    r->offset += size;
    if (last) {
        responses = r->next;
        free(r->bytes.data);
        free(r);
    }
    request_outstanding = 0;
}

static void bulk_out_transfer(const uint8_t *p, size_t n) {
    if (n < 12) {
        note("bulk-out short transfer %zu", n);
        return;
    }
    uint8_t msg = p[0], tag = p[1];
    uint32_t size = p[4] | p[5] << 8 | p[6] << 16 | (uint32_t)p[7] << 24;
    if ((uint8_t)(tag ^ p[2]) != 0xFF || tag == 0) note("bad bTag %u/%u", tag, p[2]);
    switch (msg) {
    case 1:
        if (size > n - 12) size = (uint32_t)(n - 12);
        bytes_append(&input, p + 12, size);
        if (p[8] & 1) {
            char *cmd = malloc(input.len + 1);
            memcpy(cmd, input.data, input.len);
            cmd[input.len] = 0;
            bytes_clear(&input);
            execute(cmd);
            free(cmd);
        }
        break;
    case 2:
        request_outstanding = 1;
        request_tag = tag;
        request_size = size;
        request_termchar_enabled = (p[8] & 2) != 0;
        request_termchar = p[9];
        note("read request %u bytes%s", size, request_termchar_enabled ? " with termchar" : "");
        answer_request();
        break;
    case 128:
        triggers++;
        note("trigger message");
        break;
    default:
        note("unexpected MsgID %u", msg);
    }
}

/* ---- descriptors -------------------------------------------------------------------------- */

static const char *manufacturer = "Litmus";
static const char *product = "USBTMC emulator";

static size_t device_descriptor(uint8_t *d) {
    uint8_t desc[18] = {18, 1, 0x00, 0x02, 0, 0, 0, 64, (uint8_t)vid, (uint8_t)(vid >> 8), (uint8_t)pid,
                        (uint8_t)(pid >> 8), 0x00, 0x01, 1, 2, 3, 1};
    memcpy(d, desc, 18);
    return 18;
}

static size_t config_descriptor(uint8_t *d) {
    size_t n = 9;
    uint8_t interfaces = tmc_interface ? 2 : 1;
    if (tmc_interface) {
        /* A vendor-specific interface 0 before the USBTMC one (a composite device). */
        uint8_t vendor[9] = {9, 4, 0, 0, 0, 0xFF, 0, 0, 0};
        memcpy(d + n, vendor, 9);
        n += 9;
    }
    uint8_t eps = has_interrupt ? 3 : 2;
    uint8_t intf[9] = {9, 4, (uint8_t)tmc_interface, 0, eps, 0xFE, 0x03, 0x01, 0};
    memcpy(d + n, intf, 9);
    n += 9;
    uint8_t out[7] = {7, 5, EP_OUT, 2, (uint8_t)max_packet, (uint8_t)(max_packet >> 8), 0};
    uint8_t in[7] = {7, 5, EP_IN, 2, (uint8_t)max_packet, (uint8_t)(max_packet >> 8), 0};
    uint8_t irq[7] = {7, 5, EP_INT, 3, 8, 0, 8};
    memcpy(d + n, out, 7);
    n += 7;
    memcpy(d + n, in, 7);
    n += 7;
    if (has_interrupt) {
        memcpy(d + n, irq, 7);
        n += 7;
    }
    uint8_t head[9] = {9, 2, (uint8_t)n, (uint8_t)(n >> 8), interfaces, 1, 0, 0x80, 50};
    memcpy(d, head, 9);
    return n;
}

static size_t string_descriptor(uint8_t index, uint8_t *d, size_t cap) {
    if (index == 0) {
        uint8_t langs[4] = {4, 3, 0x09, 0x04};
        memcpy(d, langs, 4);
        return 4;
    }
    const char *s = index == 1 ? manufacturer : index == 2 ? product : index == 3 ? serial : NULL;
    if (!s) return 0;
    size_t n = 2;
    for (const char *c = s; *c && n + 2 <= cap && n + 2 <= 254; c++) {
        d[n++] = (uint8_t)*c;
        d[n++] = 0;
    }
    d[0] = (uint8_t)n;
    d[1] = 3;
    return n;
}

/* ---- USBTMC class requests ---------------------------------------------------------------- */

static int clear_pending;
static int abort_in_pending;

/* Answers a control transfer; returns the data stage length, or -1 to stall. */
static int control_request(const uint8_t *setup, uint8_t *data, size_t cap) {
    uint8_t type = setup[0], request = setup[1];
    uint16_t value = setup[2] | setup[3] << 8, index = setup[4] | setup[5] << 8;
    uint16_t length = setup[6] | setup[7] << 8;
    uint8_t reply[256];
    size_t n = 0;
    if (type == 0x80 && request == 6) { /* GET_DESCRIPTOR */
        switch (value >> 8) {
        case 1: n = device_descriptor(reply); break;
        case 2: n = config_descriptor(reply); break;
        case 3: n = string_descriptor((uint8_t)value, reply, sizeof reply); break;
        default: return -1;
        }
    } else if (type == 0xA1 || type == 0xA2) {
        switch (request) {
        case 7: /* GET_CAPABILITIES */
            memset(reply, 0, 24);
            reply[0] = 1;
            reply[2] = 0x00; reply[3] = 0x01;
            reply[4] = 0x04;         /* INDICATOR_PULSE */
            reply[5] = 0x01;         /* TermChar */
            reply[12] = 0x00; reply[13] = 0x01;
            reply[14] = 0x07;        /* 488.2, REN_CONTROL, TRIGGER */
            reply[15] = 0x0F;        /* SCPI, SR1, RL1, DT1 */
            n = 24;
            note("GET_CAPABILITIES");
            break;
        case 5: /* INITIATE_CLEAR */
            bytes_clear(&input);
            drop_responses();
            request_outstanding = 0;
            bulk_out_halted = 1;
            clear_pending = 1;
            reply[0] = 1;
            n = 1;
            note("INITIATE_CLEAR");
            break;
        case 6: /* CHECK_CLEAR_STATUS */
            if (bulk_in_offset < bulk_in.len || bulk_in_zlp) {
                reply[0] = 2; reply[1] = 1;
            } else if (clear_pending) {
                clear_pending = 0;
                reply[0] = 2; reply[1] = 0;
            } else {
                reply[0] = 1; reply[1] = 0;
            }
            n = 2;
            note("CHECK_CLEAR_STATUS %u", reply[0]);
            break;
        case 3: /* INITIATE_ABORT_BULK_IN */
            note("INITIATE_ABORT_BULK_IN %u", value);
            if ((request_outstanding && (value & 0xFF) == request_tag) ||
                ((bulk_in_offset < bulk_in.len) && (value & 0xFF) == last_reply_tag)) {
                request_outstanding = 0;
                drop_responses();
                bytes_clear(&bulk_in);
                bulk_in_offset = 0;
                bulk_in_zlp = 1; /* the short packet that ends the aborted transfer */
                abort_in_pending = 1;
                reply[0] = 1;
                reply[1] = (uint8_t)value;
            } else if (request_outstanding || bulk_in_offset < bulk_in.len) {
                reply[0] = 0x81;
                reply[1] = last_reply_tag;
            } else {
                reply[0] = 0x80;
                reply[1] = 0;
            }
            n = 2;
            break;
        case 4: /* CHECK_ABORT_BULK_IN_STATUS */
            memset(reply, 0, 8);
            if (abort_in_pending && bulk_in_zlp) {
                reply[0] = 2;
                reply[1] = 1;
            } else {
                abort_in_pending = 0;
                reply[0] = 1;
            }
            n = 8;
            note("CHECK_ABORT_BULK_IN_STATUS %u", reply[0]);
            break;
        case 1: /* INITIATE_ABORT_BULK_OUT */
            reply[0] = 0x80;
            reply[1] = 0;
            n = 2;
            note("INITIATE_ABORT_BULK_OUT %u", value);
            break;
        case 2: /* CHECK_ABORT_BULK_OUT_STATUS */
            memset(reply, 0, 8);
            reply[0] = 1;
            n = 8;
            break;
        case 64: /* INDICATOR_PULSE */
            reply[0] = 1;
            n = 1;
            note("INDICATOR_PULSE");
            break;
        case 128: { /* READ_STATUS_BYTE */
            uint8_t tag = (uint8_t)(value & 0x7F);
            reply[0] = 1;
            reply[1] = tag;
            if (has_interrupt) {
                reply[2] = 0;
                if (interrupt_count < 16) {
                    interrupt_queue[interrupt_count][0] = 0x80 | tag;
                    interrupt_queue[interrupt_count][1] = status_byte();
                    interrupt_count++;
                }
            } else {
                reply[2] = status_byte();
            }
            n = 3;
            note("READ_STATUS_BYTE %u", tag);
            break;
        }
        case 160: /* REN_CONTROL */
            ren = value & 1;
            reply[0] = 1;
            n = 1;
            note("REN_CONTROL %u", ren);
            break;
        case 161: /* GO_TO_LOCAL */
            reply[0] = 1;
            n = 1;
            note("GO_TO_LOCAL");
            break;
        case 162: /* LOCAL_LOCKOUT */
            reply[0] = ren ? 1 : 0x80;
            n = 1;
            note("LOCAL_LOCKOUT");
            break;
        default:
            return -1;
        }
        (void)index;
    } else if (type == 0x00 && request == 9) { /* SET_CONFIGURATION */
        return 0;
    } else {
        return -1;
    }
    if (n > length) n = length;
    if (n > cap) n = cap;
    memcpy(data, reply, n);
    return (int)n;
}

/* ---- URBs ---------------------------------------------------------------------------------- */

typedef struct Urb {
    UMockdevIoctlData *urb;    /* the client's struct usbdevfs_urb, resolved */
    UMockdevIoctlData *buffer; /* its buffer, resolved */
    struct Urb *next;
} Urb;

static Urb *parked_in, *parked_interrupt, *completed;

static struct usbdevfs_urb *urb_struct(Urb *u) { return (struct usbdevfs_urb *)u->urb->data; }

static void push(Urb **list, Urb *u) {
    u->next = NULL;
    while (*list) list = &(*list)->next;
    *list = u;
}

static void finish(Urb *u, int status, int actual) {
    umockdev_ioctl_data_update(u->urb, offsetof(struct usbdevfs_urb, status), (guint8 *)&status, sizeof status);
    umockdev_ioctl_data_update(u->urb, offsetof(struct usbdevfs_urb, actual_length), (guint8 *)&actual, sizeof actual);
    push(&completed, u);
}

/* Fills a parked Bulk-IN URB from the queued transfer; returns 1 when it completed. */
static int serve_bulk_in(Urb *u) {
    struct usbdevfs_urb *s = urb_struct(u);
    size_t left = bulk_in.len - bulk_in_offset;
    if (left == 0) {
        if (!bulk_in_zlp) return 0;
        bulk_in_zlp = 0;
        finish(u, 0, 0);
        return 1;
    }
    size_t cap = (size_t)s->buffer_length;
    size_t n;
    if (left <= cap) {
        n = left; /* the transfer ends in this URB (short packet, or exact and a ZLP follows) */
    } else {
        n = cap - cap % max_packet;
        if (n == 0) {
            finish(u, -EOVERFLOW, 0);
            return 1;
        }
    }
    umockdev_ioctl_data_update(u->buffer, 0, bulk_in.data + bulk_in_offset, (gint)n);
    bulk_in_offset += n;
    /* A URB that ends exactly on the buffer with a full last packet leaves the ZLP queued. */
    if (bulk_in_offset == bulk_in.len && !(n == cap && n % max_packet == 0)) bulk_in_zlp = 0;
    if (bulk_in_offset == bulk_in.len) {
        bytes_clear(&bulk_in);
        bulk_in_offset = 0;
    }
    finish(u, 0, (int)n);
    return 1;
}

/* Completes whatever parked URBs can be completed now. */
static void serve_parked(void) {
    while (parked_in) {
        if (bulk_in_offset >= bulk_in.len && !bulk_in_zlp) answer_request();
        if (bulk_in_offset >= bulk_in.len && !bulk_in_zlp) break;
        Urb *u = parked_in;
        parked_in = u->next;
        serve_bulk_in(u);
    }
    while (parked_interrupt && interrupt_count > 0) {
        Urb *u = parked_interrupt;
        parked_interrupt = u->next;
        umockdev_ioctl_data_update(u->buffer, 0, interrupt_queue[0], 2);
        interrupt_count--;
        memmove(interrupt_queue, interrupt_queue + 1, sizeof interrupt_queue[0] * (size_t)interrupt_count);
        finish(u, 0, 2);
    }
}

static void submit(UMockdevIoctlData *urb_data) {
    struct usbdevfs_urb *s = (struct usbdevfs_urb *)urb_data->data;
    Urb *u = calloc(1, sizeof *u);
    u->urb = urb_data;
    GError *error = NULL;
    u->buffer = s->buffer_length > 0
        ? umockdev_ioctl_data_resolve(urb_data, offsetof(struct usbdevfs_urb, buffer), (gsize)s->buffer_length, &error)
        : NULL;
    if (error) {
        fprintf(stderr, "usbtmc_emu: cannot resolve URB buffer: %s\n", error->message);
        g_clear_error(&error);
    }
    s = (struct usbdevfs_urb *)urb_data->data;
    if (s->type == USBDEVFS_URB_TYPE_CONTROL) {
        uint8_t *buf = u->buffer->data;
        uint8_t reply[4096];
        int n = control_request(buf, reply, s->buffer_length > 8 ? (size_t)s->buffer_length - 8 : 0);
        if (n < 0) {
            finish(u, -EPIPE, 0);
        } else {
            if ((buf[0] & 0x80) && n > 0) umockdev_ioctl_data_update(u->buffer, 8, reply, n);
            finish(u, 0, n);
        }
    } else if (s->type == USBDEVFS_URB_TYPE_BULK && !(s->endpoint & 0x80)) {
        if (bulk_out_halted) {
            finish(u, -EPIPE, 0);
        } else {
            bulk_out_transfer(u->buffer->data, (size_t)s->buffer_length);
            finish(u, 0, s->buffer_length);
        }
    } else if (s->type == USBDEVFS_URB_TYPE_BULK) {
        push(&parked_in, u);
    } else if (s->type == USBDEVFS_URB_TYPE_INTERRUPT) {
        push(&parked_interrupt, u);
    } else {
        finish(u, -EINVAL, 0);
    }
    serve_parked();
}

static int discard(gulong address) {
    Urb **lists[2] = {&parked_in, &parked_interrupt};
    for (int i = 0; i < 2; i++) {
        for (Urb **p = lists[i]; *p; p = &(*p)->next) {
            if ((*p)->urb->client_addr == address) {
                Urb *u = *p;
                *p = u->next;
                finish(u, -ENOENT, 0);
                return 0;
            }
        }
    }
    return -1;
}

/* ---- the ioctl handler --------------------------------------------------------------------- */

typedef struct {
    UMockdevIoctlBase parent;
} EmuHandler;
typedef struct {
    UMockdevIoctlBaseClass parent_class;
} EmuHandlerClass;

G_DEFINE_TYPE(EmuHandler, emu_handler, UMOCKDEV_TYPE_IOCTL_BASE)

static UMockdevIoctlData *resolve_arg(UMockdevIoctlClient *client, gsize size) {
    GError *error = NULL;
    UMockdevIoctlData *d = umockdev_ioctl_data_resolve(umockdev_ioctl_client_get_arg(client), 0, size, &error);
    if (error) {
        fprintf(stderr, "usbtmc_emu: cannot resolve ioctl argument: %s\n", error->message);
        g_clear_error(&error);
    }
    return d;
}

static gboolean emu_handle_ioctl(UMockdevIoctlBase *base, UMockdevIoctlClient *client) {
    (void)base;
    gulong request = umockdev_ioctl_client_get_request(client);
    UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
    switch (request) {
    case USBDEVFS_GET_CAPABILITIES: {
        UMockdevIoctlData *d = resolve_arg(client, sizeof(uint32_t));
        uint32_t caps = USBDEVFS_CAP_ZERO_PACKET | USBDEVFS_CAP_NO_PACKET_SIZE_LIM | USBDEVFS_CAP_BULK_CONTINUATION;
        umockdev_ioctl_data_update(d, 0, (guint8 *)&caps, sizeof caps);
        umockdev_ioctl_client_complete(client, 0, 0);
        g_object_unref(d);
        return TRUE;
    }
    case USBDEVFS_GETDRIVER: {
        UMockdevIoctlData *d = resolve_arg(client, sizeof(struct usbdevfs_getdriver));
        struct usbdevfs_getdriver *g = (struct usbdevfs_getdriver *)d->data;
        if (driver_attached && g->interface == tmc_interface) {
            char name[USBDEVFS_MAXDRIVERNAME + 1] = "usbtmc";
            umockdev_ioctl_data_update(d, offsetof(struct usbdevfs_getdriver, driver), (guint8 *)name, sizeof name);
            umockdev_ioctl_client_complete(client, 0, 0);
        } else {
            umockdev_ioctl_client_complete(client, -1, ENODATA);
        }
        g_object_unref(d);
        return TRUE;
    }
    case USBDEVFS_IOCTL: {
        UMockdevIoctlData *d = resolve_arg(client, sizeof(struct usbdevfs_ioctl));
        struct usbdevfs_ioctl *io = (struct usbdevfs_ioctl *)d->data;
        if (io->ioctl_code == (int)USBDEVFS_DISCONNECT) {
            note("detach kernel driver from interface %d", io->ifno);
            if (driver_attached && (unsigned)io->ifno == tmc_interface) {
                driver_attached = 0;
                umockdev_ioctl_client_complete(client, 0, 0);
            } else {
                umockdev_ioctl_client_complete(client, -1, ENODATA);
            }
        } else if (io->ioctl_code == (int)USBDEVFS_CONNECT) {
            note("attach kernel driver to interface %d", io->ifno);
            driver_attached = 1;
            umockdev_ioctl_client_complete(client, 0, 0);
        } else {
            umockdev_ioctl_client_complete(client, -1, ENOTTY);
        }
        g_object_unref(d);
        return TRUE;
    }
    case USBDEVFS_DISCONNECT_CLAIM: {
        UMockdevIoctlData *d = resolve_arg(client, sizeof(struct usbdevfs_disconnect_claim));
        struct usbdevfs_disconnect_claim *dc = (struct usbdevfs_disconnect_claim *)d->data;
        note("disconnect-claim interface %u", dc->interface);
        driver_attached = 0;
        umockdev_ioctl_client_complete(client, 0, 0);
        g_object_unref(d);
        return TRUE;
    }
    case USBDEVFS_CLAIMINTERFACE:
    case USBDEVFS_RELEASEINTERFACE:
    case USBDEVFS_CLEAR_HALT:
    case USBDEVFS_RESETEP: {
        UMockdevIoctlData *d = resolve_arg(client, sizeof(unsigned int));
        unsigned int value = *(unsigned int *)d->data;
        if (request == USBDEVFS_CLAIMINTERFACE) {
            note("claim interface %u", value);
            if (driver_attached && value == tmc_interface) {
                umockdev_ioctl_client_complete(client, -1, EBUSY);
                g_object_unref(d);
                return TRUE;
            }
        } else if (request == USBDEVFS_RELEASEINTERFACE) {
            note("release interface %u", value);
        } else if (request == USBDEVFS_CLEAR_HALT) {
            note("clear halt 0x%02x", value);
            if (value == EP_OUT) bulk_out_halted = 0;
        }
        umockdev_ioctl_client_complete(client, 0, 0);
        g_object_unref(d);
        return TRUE;
    }
    case USBDEVFS_SETINTERFACE:
    case USBDEVFS_SETCONFIGURATION:
    case USBDEVFS_RESET:
        umockdev_ioctl_client_complete(client, 0, 0);
        return TRUE;
    case USBDEVFS_CONNECTINFO: {
        UMockdevIoctlData *d = resolve_arg(client, sizeof(struct usbdevfs_connectinfo));
        struct usbdevfs_connectinfo info = {.devnum = 2, .slow = 0};
        umockdev_ioctl_data_update(d, 0, (guint8 *)&info, sizeof info);
        umockdev_ioctl_client_complete(client, 0, 0);
        g_object_unref(d);
        return TRUE;
    }
    case USBDEVFS_SUBMITURB: {
        UMockdevIoctlData *d = resolve_arg(client, sizeof(struct usbdevfs_urb));
        submit(d); /* keeps the reference until the URB is reaped */
        umockdev_ioctl_client_complete(client, 0, 0);
        return TRUE;
    }
    case USBDEVFS_DISCARDURB: {
        gulong address = *(gulong *)arg->data;
        int rc = discard(address);
        umockdev_ioctl_client_complete(client, rc, rc ? EINVAL : 0);
        return TRUE;
    }
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY: {
        if (!completed) {
            umockdev_ioctl_client_complete(client, -1, EAGAIN);
            return TRUE;
        }
        Urb *u = completed;
        completed = u->next;
        UMockdevIoctlData *d = resolve_arg(client, sizeof(void *));
        umockdev_ioctl_data_set_ptr(d, 0, u->urb);
        umockdev_ioctl_client_complete(client, 0, 0);
        g_object_unref(d);
        if (u->buffer) g_object_unref(u->buffer);
        g_object_unref(u->urb);
        free(u);
        return TRUE;
    }
    default:
        umockdev_ioctl_client_complete(client, -1, ENOTTY);
        return TRUE;
    }
}

static void emu_handler_class_init(EmuHandlerClass *klass) {
    UMOCKDEV_IOCTL_BASE_CLASS(klass)->handle_ioctl = emu_handle_ioctl;
}

static void emu_handler_init(EmuHandler *self) { (void)self; }

/* ---- main ----------------------------------------------------------------------------------- */

static char *hex(const uint8_t *p, size_t n) {
    char *s = malloc(n * 2 + 1);
    for (size_t i = 0; i < n; i++) sprintf(s + 2 * i, "%02x", p[i]);
    s[n * 2] = 0;
    return s;
}

static int share(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)ftw;
    if (flag == FTW_D || flag == FTW_DP) chmod(path, 01777);
    else if (flag == FTW_F && S_ISSOCK(st->st_mode)) chmod(path, 0777);
    else if (flag == FTW_F) chmod(path, (st->st_mode & 0777) | 0444);
    return 0;
}

static GMainLoop *loop;
static int child_status = 1;

static void child_exited(GPid child, gint status, gpointer data) {
    (void)data;
    child_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    g_spawn_close_pid(child);
    g_main_loop_quit(loop);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: umockdev-wrapper %s <client> [arguments...]\n", argv[0]);
        return 2;
    }
    const char *e;
    if ((e = getenv("EMU_VID"))) vid = (unsigned)strtoul(e, NULL, 16);
    if ((e = getenv("EMU_PID"))) pid = (unsigned)strtoul(e, NULL, 16);
    if ((e = getenv("EMU_SERIAL"))) serial = e;
    if ((e = getenv("EMU_MAX_PACKET"))) max_packet = (unsigned)strtoul(e, NULL, 10);
    if ((e = getenv("EMU_INTERFACE"))) tmc_interface = (unsigned)strtoul(e, NULL, 10) ? 1 : 0;
    if ((e = getenv("EMU_DRIVER_ATTACHED"))) driver_attached = atoi(e);
    if ((e = getenv("EMU_NO_INTERRUPT"))) has_interrupt = !atoi(e);
    if ((e = getenv("EMU_LOG"))) event_log = fopen(e, "a");
    if (max_packet < 8 || max_packet > 1024) max_packet = 512;

    uint8_t desc[512];
    size_t n = device_descriptor(desc);
    n += config_descriptor(desc + n);
    char *descriptors = hex(desc, n);

    UMockdevTestbed *testbed = umockdev_testbed_new();
    char *record = g_strdup_printf(
        "P: /devices/pci0000:00/0000:00:14.0/usb1/1-1\n"
        "N: bus/usb/001/002\n"
        "E: BUSNUM=001\n"
        "E: DEVNAME=/dev/bus/usb/001/002\n"
        "E: DEVNUM=002\n"
        "E: DEVTYPE=usb_device\n"
        "E: DRIVER=usb\n"
        "E: PRODUCT=%x/%x/100\n"
        "E: SUBSYSTEM=usb\n"
        "A: bConfigurationValue=1\n"
        "A: bDeviceClass=00\n"
        "A: bNumConfigurations=1\n"
        "A: bNumInterfaces=%u\n"
        "A: busnum=1\n"
        "A: devnum=2\n"
        "A: devpath=1\n"
        "A: idProduct=%04x\n"
        "A: idVendor=%04x\n"
        "A: manufacturer=%s\n"
        "A: product=%s\n"
        "A: serial=%s\n"
        "A: speed=480\n"
        "H: descriptors=%s\n",
        vid, pid, tmc_interface ? 2u : 1u, pid, vid, manufacturer, product, serial, descriptors);
    GError *error = NULL;
    if (!umockdev_testbed_add_from_string(testbed, record, &error)) {
        fprintf(stderr, "usbtmc_emu: cannot add the device: %s\n", error->message);
        return 2;
    }
    EmuHandler *handler = g_object_new(emu_handler_get_type(), NULL);
    if (!umockdev_testbed_attach_ioctl(testbed, DEVNODE, UMOCKDEV_IOCTL_BASE(handler), &error)) {
        fprintf(stderr, "usbtmc_emu: cannot attach the ioctl handler: %s\n", error->message);
        return 2;
    }
    if ((e = getenv("EMU_SHARE_TESTBED")) && atoi(e)) {
        char *root = umockdev_testbed_get_root_dir(testbed);
        nftw(root, share, 16, FTW_PHYS);
        g_free(root);
    }
    note("ready %04x:%04x serial %s interface %u packet %u interrupt %d driver %d", vid, pid, serial, tmc_interface,
         max_packet, has_interrupt, driver_attached);

    GPid child;
    if (!g_spawn_async(NULL, argv + 1, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH | G_SPAWN_CHILD_INHERITS_STDIN,
                       NULL, NULL, &child, &error)) {
        fprintf(stderr, "usbtmc_emu: cannot run %s: %s\n", argv[1], error->message);
        return 2;
    }
    note("client pid %d", (int)child);
    loop = g_main_loop_new(NULL, FALSE);
    g_child_watch_add(child, child_exited, NULL);
    g_main_loop_run(loop);
    note("client exited %d; kernel driver %s", child_status, driver_attached ? "attached" : "detached");
    g_object_unref(testbed);
    return child_status;
}
