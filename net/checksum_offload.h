/*
 * checksum_offload.h: TCP checksums computed by the network card, and what
 * lwIP is told about the checksums a card verified (net/checksum_offload.c).
 *
 * Sending. A card that can checksum is told, per frame, where to start
 * summing and where to store the result; the sum runs to the end of the
 * frame and includes what the checksum field already holds. The field must
 * therefore hold the sum of the pseudo-header (the addresses, protocol and
 * length the checksum also covers, which the card does not know) when the
 * frame reaches the card. Linux calls this CHECKSUM_PARTIAL, virtio-net
 * VIRTIO_NET_HDR_F_NEEDS_CSUM; the e1000 does it with a context descriptor.
 * Only TCP is left to the card: see checksum_offload.c for why not UDP.
 *
 * Receiving. The card may say, per frame, which checksums it verified and
 * found right; lwIP then skips those.
 */
#ifndef HARDWAY_NET_CHECKSUM_OFFLOAD_H
#define HARDWAY_NET_CHECKSUM_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Where the card computes a frame's checksum: it sums from byte `start` to
// the frame's end and stores the complement at byte start + offset.
struct net_transmit_checksum {
    uint16_t start;    // the TCP header
    uint16_t offset;   // the checksum field within it (16 for TCP)
};

// What the card verified of a received frame and found right.
#define NET_VERIFIED_IPV4_HEADER (1u << 0)
#define NET_VERIFIED_TCP_UDP     (1u << 1)

// Readies an outgoing Ethernet frame whose TCP checksum lwIP left out
// (NETIF_CHECKSUM_GEN_TCP off). For a TCP segment over IPv4, writes the
// pseudo-header's sum into the checksum field and then either fills in
// *checksum and returns true (the card finishes it), or, when the frame
// has bytes after the IP packet that the card would sum too, finishes the
// checksum here and returns false. Returns false without touching the
// frame when it is not TCP over IPv4.
bool net_checksum_offload_prepare(uint8_t *frame, size_t length, struct net_transmit_checksum *checksum);

// The lwIP checksum flags (NETIF_CHECKSUM_*) for handing up one received
// frame: `base`, the interface's flags between frames, plus checks of the
// IPv4 header and of TCP and UDP checksums, minus those the card verified
// (NET_VERIFIED_* bits in `verified`).
uint16_t net_checksum_offload_receive_flags(uint16_t base, unsigned verified);

#endif
