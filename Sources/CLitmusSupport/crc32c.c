/* CRC-32C (Castagnoli, polynomial 0x82F63B78 reflected), as used by iSCSI, ext4 and Kafka:
 * the per-record check of the event log and channel segments. */
#include "litmus_support.h"

#include <string.h>

static uint32_t table[8][256];
static int table_ready;

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xFF];
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

/* Slicing-by-8 in software. */
static uint32_t crc32c_soft(uint32_t crc, const uint8_t *p, size_t len)
{
    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE))
        build_table(); /* idempotent: concurrent first calls compute the same table */
    while (len >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        word ^= crc;
        crc = table[7][word & 0xFF] ^ table[6][(word >> 8) & 0xFF] ^ table[5][(word >> 16) & 0xFF] ^
              table[4][(word >> 24) & 0xFF] ^ table[3][(word >> 32) & 0xFF] ^
              table[2][(word >> 40) & 0xFF] ^ table[1][(word >> 48) & 0xFF] ^ table[0][word >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xFF];
    return crc;
}

/* Combining CRCs of consecutive blocks. On the raw register (no inversion), the CRC of A then
 * B is the CRC of A advanced over |B| zero bytes, xor the CRC of B from zero; advancing over n
 * zero bytes is a multiplication by x^(8n) modulo the polynomial. Bit 31 stands for x^0 in the
 * reflected representation. */
#define POLY 0x82F63B78u

static uint32_t multiply_mod_poly(uint32_t a, uint32_t b)
{
    uint32_t product = 0;
    for (uint32_t bit = 1u << 31; bit != 0; bit >>= 1) {
        if (a & bit)
            product ^= b;
        b = (b & 1) ? (b >> 1) ^ POLY : b >> 1;
    }
    return product;
}

/* x^(8n) modulo the polynomial: the operator that advances a register over n zero bytes. */
static uint32_t zeros_operator(size_t n)
{
    uint32_t result = 1u << 31;  /* x^0 */
    uint32_t square = 1u << 23;  /* x^8: one byte */
    while (n) {
        if (n & 1)
            result = multiply_mod_poly(square, result);
        square = multiply_mod_poly(square, square);
        n >>= 1;
    }
    return result;
}

#if defined(__x86_64__)
/* The crc32 instruction has a latency of about three cycles and a throughput of one per cycle:
 * one dependent chain uses a third of it. Long buffers run three independent chains over three
 * adjacent blocks and combine them (two multiplications per 3 x STRIPE bytes). */
#define STRIPE 4096

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
    uint64_t c = crc;
    if (len >= 3 * STRIPE) {
        static uint32_t stripe_operator;
        uint32_t op = __atomic_load_n(&stripe_operator, __ATOMIC_RELAXED);
        if (op == 0) {
            op = zeros_operator(STRIPE); /* idempotent: concurrent first calls agree */
            __atomic_store_n(&stripe_operator, op, __ATOMIC_RELAXED);
        }
        do {
            uint64_t c1 = 0, c2 = 0;
            const uint8_t *end = p + STRIPE;
            do {
                uint64_t w0, w1, w2;
                memcpy(&w0, p, 8);
                memcpy(&w1, p + STRIPE, 8);
                memcpy(&w2, p + 2 * STRIPE, 8);
                c = __builtin_ia32_crc32di(c, w0);
                c1 = __builtin_ia32_crc32di(c1, w1);
                c2 = __builtin_ia32_crc32di(c2, w2);
                p += 8;
            } while (p < end);
            c = multiply_mod_poly(op, (uint32_t)c) ^ (uint32_t)c1;
            c = multiply_mod_poly(op, (uint32_t)c) ^ (uint32_t)c2;
            p += 2 * STRIPE;
            len -= 3 * STRIPE;
        } while (len >= 3 * STRIPE);
    }
    while (len >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t litmus_crc32c(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = (const uint8_t *)data;
    crc = ~crc;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2"))
        return ~crc32c_sse42(crc, p, len);
#endif
    return ~crc32c_soft(crc, p, len);
}
