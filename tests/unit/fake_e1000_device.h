/*
 * A fake Intel e1000 for the unit tests of kernel/drivers/e1000.c, and fake
 * DMA memory for it to work on (tests/unit/fake_e1000_device.c).
 *
 * The device is a 128 KiB array of registers standing in for BAR0, plus the
 * behaviour the driver relies on: CTRL.RST clears itself after a number of
 * reads, reset loads the MAC address into RAL0/RAH0 from the EEPROM (or, in
 * a second scenario, does not), EERD reads EEPROM words, ICR clears on read,
 * IMS/IMC set and clear an interrupt mask, STATUS.LU follows the link the
 * test sets. The fake sees every register access because it defines
 * e1000_register_read and e1000_register_write, replacing the driver's weak
 * MMIO definitions at link time.
 *
 * The wire is two functions the test calls: fake_e1000_receive puts a frame
 * into the receive ring the way the device does (at RDH, only while
 * RDH != RDT), and fake_e1000_transmit sends what the driver queued from TDH
 * up to TDT and records each frame's bytes.
 *
 * Checksum offload, both ways, as the 8254x does it (and QEMU's
 * hw/net/e1000.c after it). Transmitting, the ring may hold three kinds of
 * descriptor: legacy (DEXT clear), context (DEXT, DTYP 0) and data (DEXT,
 * DTYP 1). A context descriptor sends nothing: it loads the checksum context
 * (where the TCP/UDP checksum starts, where it is stored, where it ends, and
 * the same for the IPv4 header), which the device keeps for every frame
 * after it, until the next context descriptor or a reset. A frame whose
 * first data descriptor has POPTS.TXSM gets its TCP/UDP checksum computed
 * when the frame is complete: the ones-complement sum of the bytes from
 * TUCSS to TUCSE (0: the frame's end), the checksum field included (the
 * driver seeds it with the pseudo-header's sum), complemented and stored at
 * TUCSO, 0 stored as 0xFFFF as QEMU does (a UDP checksum of 0 would mean
 * "none"). POPTS.IXSM does the same for the IPv4 header. Receiving, when
 * RXCSUM asks for it (IPOFLD, TUOFLD) the fake checks an untagged IPv4
 * frame's header checksum and, unless the packet is a fragment, its TCP or
 * UDP checksum, and reports them in the last descriptor as the device does:
 * IPCS and TCPCS say what it checked, IPE and TCPE what it found wrong. A
 * UDP datagram sent without a checksum (0) gets neither. Set
 * receive_ignores_checksums and it behaves like QEMU instead, which checks
 * nothing and sets IXSM ("ignore the checksum bits") in every frame; or make
 * a frame arrive with exactly the status and error bits a test chooses
 * (fake_e1000_receive_with_checksum_status).
 *
 * DMA memory: physical address = the pointer's value. The device follows
 * physical addresses only into memory the fake DMA allocator handed out;
 * anything else, and any other step outside the device's contract (a tail
 * beyond the ring, enabling a ring before programming it, touching
 * registers during reset, asking for a checksum with no context loaded or
 * with its field outside the frame, a context descriptor inside a frame),
 * is recorded as a violation, which the tests check is zero.
 */
#ifndef HARDWAY_FAKE_E1000_DEVICE_H
#define HARDWAY_FAKE_E1000_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAKE_E1000_REGISTER_BYTES (128 * 1024)
#define FAKE_E1000_EEPROM_WORDS   64
#define FAKE_E1000_NEVER          UINT32_MAX   // for reset_reads and eeprom_reads: never finishes

// ---- DMA memory ------------------------------------------------------------

#define FAKE_DMA_BLOCKS_MAX 64

struct fake_dma {
    size_t allocations;    // calls to fake_dma_allocate so far
    size_t fail_at;        // the call (counting from 0) that returns NULL; SIZE_MAX: none
    size_t misalign_at;    // the call that returns memory 8 bytes off alignment; SIZE_MAX: none
    struct fake_dma_block {
        uint8_t *memory;   // what the caller got
        size_t size;
        void *allocation;  // what to free
    } blocks[FAKE_DMA_BLOCKS_MAX];
    size_t block_count;
};

void fake_dma_init(struct fake_dma *dma);
void fake_dma_destroy(struct fake_dma *dma);
// An e1000_dma allocate function; its context is a struct fake_dma.
void *fake_dma_allocate(void *context, size_t size, uint64_t *physical_address);
// The block [physical, physical + size) lies in, or NULL when it is not
// inside one block.
const struct fake_dma_block *fake_dma_find(const struct fake_dma *dma, uint64_t physical, size_t size);

// ---- The device ------------------------------------------------------------

struct fake_e1000_frame {
    uint8_t *bytes;
    size_t length;
    bool tcp_udp_checksum_inserted;   // the device computed and stored the TCP/UDP checksum (POPTS.TXSM)
    bool ip_checksum_inserted;        // ... and the IPv4 header checksum (POPTS.IXSM)
};

// What a context descriptor loads (8254x SDM 3.3.6): for each checksum the
// first byte summed, where the result is stored, and the last byte summed
// (0: the frame's last). All counted from the frame's first byte.
struct fake_e1000_checksum_context {
    uint8_t ip_start;         // IPCSS
    uint8_t ip_field;         // IPCSO
    uint16_t ip_end;          // IPCSE
    uint8_t tcp_udp_start;    // TUCSS
    uint8_t tcp_udp_field;    // TUCSO
    uint16_t tcp_udp_end;     // TUCSE
};

enum fake_e1000_receive_result {
    FAKE_E1000_RECEIVED,
    FAKE_E1000_DROPPED_NO_DESCRIPTOR,   // RDH == RDT: every descriptor is software's
    FAKE_E1000_DROPPED_DISABLED,        // RCTL.EN is clear
};

struct fake_e1000_device {
    // BAR0. What the registers hold; the fake keeps the interrupt cause and
    // mask, the reset and EEPROM progress in the fields below.
    uint32_t registers[FAKE_E1000_REGISTER_BYTES / 4];

    // Behaviour, set by the test before e1000_init.
    uint32_t reset_reads;           // reads of CTRL that still see RST set
    bool reset_loads_mac_address;   // reset copies the EEPROM's address into RAL0/RAH0 with AV
    uint16_t eeprom[FAKE_E1000_EEPROM_WORDS];
    uint32_t eeprom_reads;          // reads of EERD before DONE
    struct fake_dma *dma;           // where descriptors and buffers may be
    bool receive_ignores_checksums; // like QEMU: IXSM in every received frame, nothing checked

    // State.
    bool link_up;
    bool resetting;
    uint32_t reset_reads_left;
    size_t resets;
    uint32_t eeprom_reads_left;
    size_t eeprom_accesses;          // EERD reads started
    uint32_t interrupt_cause;        // ICR
    uint32_t interrupt_mask;         // IMS
    size_t dropped_no_descriptor;
    size_t dropped_disabled;
    uint8_t *transmit_pending;       // bytes of a frame whose EOP has not come yet
    size_t transmit_pending_length;
    size_t transmit_pending_descriptors;   // how many descriptors they came from (0: no frame begun)
    bool transmit_pending_extended;        // the frame's first descriptor was a data descriptor, not legacy
    uint8_t transmit_pending_options;      // its POPTS (E1000_TRANSMIT_OPTION_*): what to insert at EOP
    bool transmit_context_loaded;          // a context descriptor was processed since the last reset
    struct fake_e1000_checksum_context transmit_context;
    size_t transmit_contexts_loaded;       // context descriptors processed
    size_t transmit_checksums_inserted;    // frames sent with a TCP/UDP checksum the device computed
    struct fake_e1000_frame *sent;   // every frame sent, in order
    size_t sent_count;
    size_t sent_capacity;

    // Steps outside the device's contract: how many, and the first, described.
    size_t violations;
    char violation[512];
};

// Power-on state: link up, `mac` in the EEPROM (words 0-2) and loaded into
// RAL0/RAH0 by every reset, reset done after 3 reads, EEPROM reads after 2,
// and the MTA holding garbage (the real MTA is not cleared by reset).
void fake_e1000_device_init(struct fake_e1000_device *device, struct fake_dma *dma, const uint8_t mac[6]);
void fake_e1000_device_destroy(struct fake_e1000_device *device);

// The mapped BAR0, as the driver gets it.
volatile uint32_t *fake_e1000_bar0(struct fake_e1000_device *device);
// A register's value, without the side effects of a device read.
uint32_t fake_e1000_peek(const struct fake_e1000_device *device, uint32_t offset);

void fake_e1000_set_link(struct fake_e1000_device *device, bool up);   // raises LSC on a change
bool fake_e1000_interrupt_asserted(const struct fake_e1000_device *device);

// A frame arrives from the wire (without its CRC). Written into the buffers
// of the descriptors from RDH on, as many as it needs, the last one with EOP
// and the checksum bits RXCSUM asks for (or IXSM, with
// receive_ignores_checksums); `errors` goes into the last descriptor's
// error field too, as the device reports a bad frame when RCTL.SBP lets it
// through.
enum fake_e1000_receive_result fake_e1000_receive(struct fake_e1000_device *device, const void *frame, size_t length);
enum fake_e1000_receive_result fake_e1000_receive_with_errors(struct fake_e1000_device *device, const void *frame,
                                                              size_t length, uint8_t errors);
// A frame arrives with exactly these checksum bits in its last descriptor:
// `status` (E1000_RECEIVE_STATUS_IXSM, _IPCS, _TCPCS; DD and EOP are the
// fake's) and `errors` (E1000_RECEIVE_ERROR_*), whatever RXCSUM says and
// whatever the frame holds. For a verdict the frame itself does not give.
enum fake_e1000_receive_result fake_e1000_receive_with_checksum_status(struct fake_e1000_device *device,
                                                                       const void *frame, size_t length,
                                                                       uint8_t status, uint8_t errors);

// Sends up to `limit` frames the driver queued (from TDH towards TDT),
// loading the checksum context from context descriptors on the way and
// inserting the checksums a frame asks for, records each frame, sets DD in
// descriptors with RS (context descriptors included), and returns how many
// frames it sent.
size_t fake_e1000_transmit(struct fake_e1000_device *device, size_t limit);
void fake_e1000_forget_sent(struct fake_e1000_device *device);

#endif
