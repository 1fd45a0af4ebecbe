/*
 * The Intel e1000 network card (8254x: QEMU's 82540EM, VMware's 82545EM):
 * reset, MAC address, link, the receive and transmit rings, and interrupt
 * control. See kernel/drivers/e1000.c for how the rings work and who owns
 * which descriptor.
 *
 * The driver core knows nothing of PCI, of the network stack or of
 * goroutines. The caller finds the device, maps BAR0 and hands over its
 * address and a way to allocate DMA memory; it then calls e1000_receive and
 * e1000_transmit from whatever runs the driver (a goroutine, woken by an
 * interrupt handler that only calls e1000_interrupts_disable).
 *
 * Concurrency: nothing here takes a lock. The receive side (e1000_receive)
 * and the transmit side (e1000_transmit, e1000_transmit_reclaim) share no
 * state that either writes, so one thread may receive while another
 * transmits; each side must be serialised with itself. The interrupt
 * functions only touch registers and may be called from an interrupt
 * handler at any time.
 */
#ifndef HARDWAY_E1000_H
#define HARDWAY_E1000_H

#include "e1000_registers.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Ring sizes. Each ring's length in bytes (count * 16) must be a multiple of
// 128, and at most count - 1 descriptors are ever in the device's hands (a
// full ring would look empty: head == tail). 256 descriptors of 16 bytes
// make each ring exactly one 4 KiB page.
#define E1000_RECEIVE_DESCRIPTORS  256
#define E1000_TRANSMIT_DESCRIPTORS 256
// Every receive and transmit descriptor owns one buffer of this size
// (RCTL.BSIZE = 2048): a whole Ethernet frame fits (1518 bytes with a VLAN
// tag), since jumbo frames (RCTL.LPE) are off.
#define E1000_BUFFER_SIZE          2048
// The shortest frame e1000_transmit accepts: an Ethernet header. The device
// pads frames shorter than the Ethernet minimum (TCTL.PSP).
#define E1000_FRAME_MINIMUM        14

#define E1000_MAC_ADDRESS_LENGTH   6

// The causes e1000_interrupts_enable unmasks: a frame was received (RXT0),
// the receive ring is half used up (RXDMT0) or overran (RXO) -- both mean
// "drain the ring now" --, the link went up or down (LSC), and transmit
// descriptors were completed (TXDW), so that a sender waiting for room in a
// full ring can be woken.
#define E1000_INTERRUPTS_ENABLED (E1000_INTERRUPT_RXT0 | E1000_INTERRUPT_RXO | E1000_INTERRUPT_RXDMT0 | \
                                  E1000_INTERRUPT_LSC | E1000_INTERRUPT_TXDW)

// How the driver gets memory the device can reach by DMA. `allocate` returns
// `size` bytes of zeroed, physically contiguous memory aligned to at least
// 16 bytes, and stores its physical (bus) address in *physical_address; NULL
// when there is none. It is called with `context`. The driver never frees
// what it allocates: the memory belongs to the device for as long as the
// kernel runs (and is lost when e1000_init fails part-way).
struct e1000_dma {
    void *(*allocate)(void *context, size_t size, uint64_t *physical_address);
    void *context;
};

// What went through the device. Plain counters, written only by the side
// (receive or transmit) they belong to.
struct e1000_counters {
    uint64_t received_frames;       // delivered to the caller
    uint64_t received_bytes;
    uint64_t receive_errors;        // frames the device marked bad (CRC, symbol, ...): dropped
    uint64_t receive_oversized;     // frames that spanned several buffers (no EOP): dropped whole
    uint64_t receive_checksum_verified;   // frames whose TCP/UDP checksum the device found right
    uint64_t receive_checksum_errors;     // frames with a checksum it found wrong: delivered unverified
    uint64_t transmitted_frames;    // completed by the device (reclaimed with DD set)
    uint64_t transmitted_bytes;
    uint64_t transmit_errors;       // completed but not sent: excess or late collisions
    uint64_t transmit_checksum_offloaded; // frames queued with the TCP/UDP checksum left to the device
    uint64_t transmit_contexts;     // context descriptors queued (a new checksum layout)
    uint64_t transmit_ring_full;    // e1000_transmit calls refused because no descriptor was free
    uint64_t transmit_bad_length;   // e1000_transmit calls refused: a bad length, or a checksum field outside the frame
};

// Where a frame's TCP or UDP checksum is computed and stored (e1000_transmit).
struct e1000_transmit_checksum {
    uint8_t start;    // the first byte summed: the TCP or UDP header
    uint8_t offset;   // the checksum field, counted from `start` (TCP 16, UDP 6)
};

struct e1000 {
    volatile uint32_t *registers;   // the mapped BAR0
    uint8_t mac_address[E1000_MAC_ADDRESS_LENGTH];

    // Receive side. The device fills descriptors from RDH up to RDT - 1;
    // receive_next is the first one software has not looked at yet.
    volatile struct e1000_receive_descriptor *receive_ring;
    uint64_t receive_ring_physical;
    uint8_t *receive_buffers;            // E1000_RECEIVE_DESCRIPTORS buffers in a row
    uint64_t receive_buffers_physical;
    uint32_t receive_next;
    bool receive_discarding;             // inside a frame that spans buffers: drop up to its EOP

    // Transmit side. Descriptors transmit_clean .. transmit_next - 1 are
    // queued and not yet reclaimed; transmit_next is the software copy of TDT.
    volatile struct e1000_transmit_descriptor *transmit_ring;
    uint64_t transmit_ring_physical;
    uint8_t *transmit_buffers;           // E1000_TRANSMIT_DESCRIPTORS buffers in a row
    uint64_t transmit_buffers_physical;
    uint32_t transmit_next;
    uint32_t transmit_clean;
    // The checksum context the device holds once the descriptors queued so
    // far are sent (see e1000_transmit); valid when transmit_context_loaded.
    bool transmit_context_loaded;
    struct e1000_transmit_checksum transmit_context;

    struct e1000_counters counters;
};

// Resets the device and brings it up: interrupts masked, the MAC address read
// (from RAL0/RAH0 when the device loaded it there, else from the EEPROM),
// link up with the speed the PHY negotiates, no multicast, broadcast
// accepted, receive checksum offload on (IPv4 header, TCP and UDP), both
// rings allocated and programmed, receiver and transmitter on. Interrupts
// stay masked until e1000_interrupts_enable. On failure (the reset or an
// EEPROM read did not finish, no DMA memory, memory the device cannot use,
// an invalid MAC address) returns false and writes a sentence saying what
// went wrong into `error`; `nic` is then unusable.
bool e1000_init(struct e1000 *nic, volatile uint32_t *registers, const struct e1000_dma *dma,
                char *error, size_t error_size);

// Whether the PHY reports a link (STATUS.LU).
bool e1000_link_up(struct e1000 *nic);
void e1000_mac_address(const struct e1000 *nic, uint8_t out[E1000_MAC_ADDRESS_LENGTH]);

// Copies one Ethernet frame (destination address onwards, without the CRC,
// which the device appends) into the next transmit descriptor's buffer and
// hands it to the device. With `checksum` not NULL the device computes the
// frame's TCP or UDP checksum: it sums the bytes from checksum->start to the
// frame's end, including the checksum field at start + offset, which the
// caller has seeded with the pseudo-header's sum, and stores the complement
// in that field (Linux calls this CHECKSUM_PARTIAL). That takes a context
// descriptor before the frame whenever the layout differs from the last
// one queued. Returns false, queueing nothing, when the frame is shorter
// than E1000_FRAME_MINIMUM or longer than E1000_BUFFER_SIZE, when the
// checksum field lies outside the frame or past byte 255 (a context
// descriptor has one byte for its place), or when the descriptors it needs
// are still in flight after reclaiming the completed ones.
bool e1000_transmit(struct e1000 *nic, const void *frame, size_t length,
                    const struct e1000_transmit_checksum *checksum);
// Takes back the descriptors the device has finished with (and counts what
// they sent). Returns how many.
size_t e1000_transmit_reclaim(struct e1000 *nic);

// What the device verified of a received frame (e1000_receive's `verified`):
// a bit is set only when the device checked that checksum and found it
// right. Zero says nothing either way (not IPv4, not TCP or UDP, a fragment,
// a checksum the device found wrong, or a device that does not check, like
// QEMU's, which sets IXSM in every descriptor).
#define E1000_VERIFIED_IPV4_HEADER  (1u << 0)
#define E1000_VERIFIED_TCP_UDP      (1u << 1)

// Hands up to `budget` received frames, in the order they arrived, to
// `deliver`, then gives their descriptors back to the device. `frame` points
// into the driver's receive buffer and is valid only until `deliver`
// returns: copy what you keep. `verified` holds E1000_VERIFIED_* bits.
// Frames the device marked bad, and frames that did not fit one buffer, are
// dropped, counted, and not charged to the budget. Returns how many frames were delivered; fewer than `budget` means
// the ring is drained for now.
size_t e1000_receive(struct e1000 *nic,
                     void (*deliver)(void *context, const void *frame, size_t length, unsigned verified),
                     void *context, size_t budget);

// Interrupt control, NAPI-style: the interrupt handler calls
// e1000_interrupts_disable (which lowers the interrupt line) and wakes the
// driver's thread; that thread reads and clears the causes with
// e1000_interrupt_cause, drains the receive ring and reclaims transmit
// descriptors, and calls e1000_interrupts_enable when it has run out of
// work. A cause that arrived in between is still pending, so enabling
// raises the interrupt again at once: nothing is lost.
uint32_t e1000_interrupt_cause(struct e1000 *nic);   // reads ICR, which clears it
void e1000_interrupts_enable(struct e1000 *nic);     // unmasks E1000_INTERRUPTS_ENABLED
void e1000_interrupts_disable(struct e1000 *nic);    // masks every cause

#endif
