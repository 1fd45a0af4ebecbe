/*
 * crc32.c: CRC-32 four bits at a time.
 *
 * The reflected polynomial 0xEDB88320, processed low bit first, as zlib
 * does. A 16-entry table -- the CRC of each four-bit value, small enough to
 * write out and checked against the bit-at-a-time definition by
 * tests/unit/test_crc32.c -- does four bits per lookup: about 2 lookups a
 * byte, plenty for checking a download.
 */
#include "crc32.h"

static const uint32_t crc32_nibble_table[16] = {
    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
    0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

uint32_t crc32_update(uint32_t crc, const void *data, size_t length)
{
    const uint8_t *bytes = data;
    crc = ~crc;
    for (size_t i = 0; i < length; i++) {
        crc ^= bytes[i];
        crc = (crc >> 4) ^ crc32_nibble_table[crc & 15];
        crc = (crc >> 4) ^ crc32_nibble_table[crc & 15];
    }
    return ~crc;
}
