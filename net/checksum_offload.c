/*
 * checksum_offload.c: the network stack's half of checksum offload
 * (checksum_offload.h says what the card's half is).
 *
 * Which checksums go to the card. TCP's: it is most of what a busy machine
 * sums, every byte of every segment, and lwIP never sends a segment larger
 * than the interface's MTU, so each segment is one frame the card sees
 * whole. UDP's stay with lwIP: lwIP checksums a datagram first and then
 * fragments it when it is larger than the MTU, and a card can only sum
 * what lies in one frame. UDP here carries DHCP and DNS, a few short
 * packets. The IPv4 header's checksum stays with lwIP as well: twenty
 * bytes, and Linux does the same.
 *
 * Loopback. A segment lwIP sends to the interface's own address never
 * reaches the card: lwIP hands it back to itself through the interface's
 * loop queue, checksum field still zero. So between received frames the
 * interface does not check TCP checksums (Linux trusts loopback traffic
 * the same way), and net_checksum_offload_receive_flags turns the checks
 * on for each frame that came from the card.
 */
#include "checksum_offload.h"
#include "lwip/inet_chksum.h"
#include "lwip/netif.h"
#include <string.h>

#define ETHERNET_HEADER_BYTES  14
#define ETHERTYPE_IPV4         0x0800
#define IPV4_HEADER_MINIMUM    20
#define IP_PROTOCOL_TCP        6
#define TCP_HEADER_MINIMUM     20
#define TCP_CHECKSUM_OFFSET    16
#define IPV4_FRAGMENT_BITS     0x3FFF   // more fragments, and the fragment offset

static uint32_t read_be16(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] << 8 | bytes[1];
}

static void write_be16(uint8_t *bytes, uint32_t value)
{
    bytes[0] = (uint8_t)(value >> 8);
    bytes[1] = (uint8_t)value;
}

// The one's-complement sum of the pseudo-header, folded to 16 bits and not
// complemented: source and destination address, protocol, TCP length.
static uint32_t pseudo_header_sum(const uint8_t *ip, uint32_t tcp_length)
{
    uint32_t sum = read_be16(ip + 12) + read_be16(ip + 14) + read_be16(ip + 16) + read_be16(ip + 18) +
                   IP_PROTOCOL_TCP + tcp_length;
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return sum;
}

bool net_checksum_offload_prepare(uint8_t *frame, size_t length, struct net_transmit_checksum *checksum)
{
    if (length < ETHERNET_HEADER_BYTES + IPV4_HEADER_MINIMUM || read_be16(frame + 12) != ETHERTYPE_IPV4)
        return false;
    uint8_t *ip = frame + ETHERNET_HEADER_BYTES;
    uint32_t ip_header_bytes = (ip[0] & 0x0F) * 4u;
    uint32_t ip_total_bytes = read_be16(ip + 2);
    if (ip[0] >> 4 != 4 || ip[9] != IP_PROTOCOL_TCP || ip_header_bytes < IPV4_HEADER_MINIMUM ||
        ip_total_bytes < ip_header_bytes + TCP_HEADER_MINIMUM ||
        ETHERNET_HEADER_BYTES + ip_total_bytes > length)
        return false;   // not a TCP segment over IPv4 that lwIP built
    if (read_be16(ip + 6) & IPV4_FRAGMENT_BITS)
        return false;   // a piece of a segment: lwIP never fragments TCP (see the essay)

    uint32_t start = ETHERNET_HEADER_BYTES + ip_header_bytes;
    uint32_t tcp_bytes = ip_total_bytes - ip_header_bytes;
    write_be16(frame + start + TCP_CHECKSUM_OFFSET, pseudo_header_sum(ip, tcp_bytes));
    if (ETHERNET_HEADER_BYTES + ip_total_bytes != length) {
        // Bytes after the packet would enter the card's sum: finish here.
        // inet_chksum sums in memory order and returns the complement,
        // ready to store as it is.
        uint16_t finished = inet_chksum(frame + start, (u16_t)tcp_bytes);
        memcpy(frame + start + TCP_CHECKSUM_OFFSET, &finished, sizeof finished);
        return false;
    }
    checksum->start = (uint16_t)start;
    checksum->offset = TCP_CHECKSUM_OFFSET;
    return true;
}

uint16_t net_checksum_offload_receive_flags(uint16_t base, unsigned verified)
{
    uint16_t flags = base | NETIF_CHECKSUM_CHECK_IP | NETIF_CHECKSUM_CHECK_TCP | NETIF_CHECKSUM_CHECK_UDP;
    if (verified & NET_VERIFIED_IPV4_HEADER)
        flags &= (uint16_t)~NETIF_CHECKSUM_CHECK_IP;
    if (verified & NET_VERIFIED_TCP_UDP)
        flags &= (uint16_t)~(NETIF_CHECKSUM_CHECK_TCP | NETIF_CHECKSUM_CHECK_UDP);
    return flags;
}
