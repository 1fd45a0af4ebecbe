/*
 * CRC-32 (IEEE 802.3, the one zlib's crc32 and Ethernet use): the checksum
 * the download service prints, so that a test can compare it with what it
 * served (Python's zlib.crc32).
 */
#ifndef HARDWAY_NET_CRC32_H
#define HARDWAY_NET_CRC32_H

#include <stddef.h>
#include <stdint.h>

// Continues `crc` (0 to start) over `length` bytes: crc32_update(0, "123456789", 9) == 0xcbf43926.
uint32_t crc32_update(uint32_t crc, const void *data, size_t length);

#endif
