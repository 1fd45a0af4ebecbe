/*
 * Reading little-endian integers at any byte offset.
 *
 * Firmware structures (ACPI tables, multiboot information) pack their fields
 * without regard for alignment, and C forbids reading a uint32_t through a
 * pointer that is not suitably aligned. memcpy into a local is the portable
 * way; the compiler turns it into a single load on x86.
 */
#ifndef HARDWAY_UNALIGNED_H
#define HARDWAY_UNALIGNED_H

#include <stdint.h>
#include <string.h>

static inline uint16_t read_unaligned16(const uint8_t *bytes)
{
    uint16_t value;
    memcpy(&value, bytes, sizeof value);
    return value;
}

static inline uint32_t read_unaligned32(const uint8_t *bytes)
{
    uint32_t value;
    memcpy(&value, bytes, sizeof value);
    return value;
}

static inline uint64_t read_unaligned64(const uint8_t *bytes)
{
    uint64_t value;
    memcpy(&value, bytes, sizeof value);
    return value;
}

#endif
