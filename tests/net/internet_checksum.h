/*
 * The Internet checksum (RFC 1071) written out plainly for the network
 * tests, so that what they check against is not lwIP's code or
 * net/checksum_offload.c's: big-endian field access, the one's-complement
 * sum, the TCP pseudo-header, and whether an IPv4 header or a TCP segment
 * verifies.
 */
#ifndef HARDWAY_TESTS_NET_INTERNET_CHECKSUM_H
#define HARDWAY_TESTS_NET_INTERNET_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IP_PROTOCOL_TCP 6

static inline uint16_t read16(const uint8_t *bytes)
{
    return (uint16_t)(bytes[0] << 8 | bytes[1]);
}

static inline uint32_t read32(const uint8_t *bytes)
{
    return (uint32_t)read16(bytes) << 16 | read16(bytes + 2);
}

static inline void write16(uint8_t *bytes, uint16_t value)
{
    bytes[0] = (uint8_t)(value >> 8);
    bytes[1] = (uint8_t)value;
}

static inline void write32(uint8_t *bytes, uint32_t value)
{
    write16(bytes, (uint16_t)(value >> 16));
    write16(bytes + 2, (uint16_t)value);
}

// The one's-complement sum of `length` bytes as big-endian 16-bit words (an
// odd last byte is the high half of a word), added to `sum`, not folded.
static inline uint32_t sum_bytes(uint32_t sum, const uint8_t *bytes, size_t length)
{
    for (size_t i = 0; i + 1 < length; i += 2)
        sum += (uint32_t)bytes[i] << 8 | bytes[i + 1];
    if (length % 2)
        sum += (uint32_t)bytes[length - 1] << 8;
    return sum;
}

static inline uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)sum;
}

// The TCP pseudo-header's sum (addresses, protocol, length), folded and
// not complemented: what the checksum field must hold when a segment
// reaches a card that finishes it. `ip` is the IPv4 header.
static inline uint16_t pseudo_header_sum(const uint8_t *ip, size_t tcp_length)
{
    return fold(sum_bytes(IP_PROTOCOL_TCP + (uint32_t)tcp_length, ip + 12, 8));
}

static inline bool ip_header_checksum_verifies(const uint8_t *ip)
{
    return fold(sum_bytes(0, ip, (size_t)(ip[0] & 0x0F) * 4)) == 0xFFFF;
}

// Whether the TCP checksum of the IPv4 packet at `ip` is right: the
// pseudo-header and the whole segment, field included, sum to 0xFFFF.
static inline bool tcp_checksum_verifies(const uint8_t *ip)
{
    size_t header = (size_t)(ip[0] & 0x0F) * 4;
    size_t tcp_length = read16(ip + 2) - header;
    return fold(sum_bytes(pseudo_header_sum(ip, tcp_length), ip + header, tcp_length)) == 0xFFFF;
}

#endif
