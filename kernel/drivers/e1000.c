/*
 * The Intel e1000 (8254x) driver core: reset, MAC address, link, rings,
 * interrupt control.
 *
 * The device moves frames between the wire and memory by itself (bus-master
 * DMA). Software and device share two rings of 16-byte descriptors in
 * memory, one for receiving and one for transmitting, and pass descriptors
 * to each other through a pair of registers per ring: the head (RDH, TDH),
 * which only the device advances, and the tail (RDT, TDT), which only
 * software writes. The device owns the descriptors from head up to but not
 * including tail; software owns the rest. head == tail means the device owns
 * none, which is why a ring can never hand over all of its descriptors: the
 * device could not tell a full ring from an empty one.
 *
 * Receiving. Every receive descriptor points at a 2048-byte buffer of its
 * own. At init the device gets all descriptors but one (RDH = 0,
 * RDT = count - 1). When a frame arrives the device writes it into the
 * buffer of the descriptor at RDH, writes the descriptor back (length,
 * errors, status with DD "descriptor done" and EOP "end of packet") and
 * advances RDH. If RDH has caught up with RDT there is no descriptor left:
 * frames wait in the device's on-chip FIFO and are dropped when it
 * overflows (counted in the MPC register, with RXO raised). The device
 * never writes a descriptor software owns. Software walks the ring from
 * receive_next while DD is set, delivers each frame, clears the status so
 * the descriptor reads as empty when it comes round again, and finally sets
 * RDT to the last descriptor it processed. That one stays software's (it is
 * the ring's one empty slot) and all before it go back to the device, as
 * the manual's section 3.2.6 describes.
 *
 * Transmitting. Every transmit descriptor owns a 2048-byte buffer too: a
 * frame is copied into the buffer of the descriptor at TDT, the descriptor
 * is filled in (length, EOP, IFCS "insert the CRC", RS "report status") and
 * TDT is advanced past it (a frame whose checksum the device is to compute
 * may take a context descriptor before it: see Checksums below); the
 * device sends descriptors from TDH up to TDT and sets DD in each when done. Software reclaims descriptors from
 * transmit_clean while DD is set. Copying costs a memcpy per frame and buys
 * simplicity: the caller's frame is free again at once, and no reference to
 * network-stack memory outlives the call. (Zero-copy would hand the stack's
 * buffers to the device and free them on reclaim.)
 *
 * Memory ordering. The device must not see a tail register move before the
 * descriptors (and buffer contents) it covers are in memory, and software
 * must not read a received descriptor's length or its buffer before it has
 * seen DD. The rings and buffers are ordinary write-back memory, which the
 * 8254x reads and writes coherently (PCI snooping); BAR0 is mapped uncached.
 * On x86 stores become visible in program order, including a store to
 * uncached memory after stores to write-back memory, and loads are not
 * reordered with older loads; the device's writes to memory are likewise
 * seen in the order it made them. So the processor keeps the order by
 * itself, and only the compiler has to be stopped from moving accesses
 * across the tail write and the DD check: e1000_compiler_barrier. (A
 * weakly-ordered processor would need real fences here; Linux writes
 * dma_wmb() and dma_rmb() at these spots, which are compiler barriers on
 * x86.) Descriptor fields are read and written through volatile pointers,
 * so that every check of DD really reads memory the device may have just
 * written.
 *
 * Checksums. The device verifies the IPv4 header and TCP/UDP checksums of
 * what it receives (RXCSUM.IPOFLD and TUOFLD) and reports, per frame, which
 * it checked (IPCS, TCPCS) and which were wrong (IPE, TCPE), unless IXSM
 * says to ignore all of that. Only "checked and right" goes up to the
 * caller; a frame the device found wrong is still delivered, unverified,
 * so that the network stack checks it itself and has the last word, as
 * Linux's e1000 does. On transmit the device computes a TCP or UDP checksum
 * when the frame's data descriptor asks for it (an extended descriptor with
 * POPTS.TXSM); where the checksum starts and where it goes come from the
 * last context descriptor queued before it, which the device keeps. The
 * driver remembers what it last queued and writes a context descriptor only
 * when a frame's layout differs, so a stream of TCP segments over IPv4 with
 * the same header length costs one context descriptor in all. Context
 * descriptors ask for status (RS) too, so that reclaiming can walk the ring
 * checking DD in every descriptor; they are not counted as frames. The
 * IPv4 header checksum is not offloaded: the stack computes it over twenty
 * bytes, and leaving it to the card would tie the interface to IPv4.
 *
 * Interrupts are handled NAPI-style (see e1000.h): the interrupt handler
 * only masks the device; the thread that runs the driver does the work and
 * unmasks when done, so under load the device raises no interrupts at all.
 *
 * Waiting without a timer. Reset and EEPROM reads finish after a while;
 * this file depends on no clock, so it waits by polling a register a bounded
 * number of times. An uncached register read is a round trip to the device:
 * at least half a microsecond on PCI hardware, and under emulation a trap
 * into the hypervisor (a microsecond or more with KVM, a few hundred
 * nanoseconds with QEMU's TCG). The bounds below therefore allow at least
 * tens of milliseconds, far more than the device needs, while a device that
 * never answers fails the boot step in well under a second instead of
 * hanging it.
 *
 * Not done here, and where it would go:
 *   - TCP segmentation offload (a context descriptor with TSE, then one
 *     large frame over several data descriptors), which would need frames
 *     larger than a buffer.
 *   - Interrupt moderation (ITR, RDTR, RADV): off; NAPI already stops
 *     interrupts under load.
 *   - Multicast filtering (the MTA is cleared, so no multicast is received),
 *     VLANs, jumbo frames, the statistics registers (0x4000-0x40FF: missed
 *     frames, CRC errors, ...), and the 82541/82547's EERD layout.
 */
#include "e1000.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

// The bounded waits, in register reads (see the essay for why reads).
// The reset takes microseconds; the 82540's EEPROM is a Microwire part that
// needs a few tens of microseconds per word. Polling a device that never
// finishes costs at most a second or so at emulation speeds.
#define E1000_RESET_POLL_LIMIT   1000000u
#define E1000_EEPROM_POLL_LIMIT  100000u

// Collision threshold 15: 16 attempts in all, as IEEE 802.3 asks. Collision
// distance 0x40 byte times: the manual's value for full duplex and for
// 10/100 half duplex (gigabit half duplex, 0x200, does not happen with the
// PHYs these devices have in practice). Both only matter in half duplex.
#define E1000_COLLISION_THRESHOLD  0x0F
#define E1000_COLLISION_DISTANCE   0x40
// Inter-packet gap: the manual's recommended TIPG for the 82540EP/EM and
// 82545GM/EM with a copper PHY (IPGT 10, IPGR1 8, IPGR2 6, in byte times).
#define E1000_TIPG_IPGT   10
#define E1000_TIPG_IPGR1  8
#define E1000_TIPG_IPGR2  6

// The descriptor rings must start on a 16-byte boundary (8254x SDM 3.2.6).
#define E1000_DMA_ALIGNMENT 16

_Static_assert(E1000_RECEIVE_DESCRIPTORS * sizeof(struct e1000_receive_descriptor) % 128 == 0,
               "RDLEN must be a multiple of 128 bytes");
_Static_assert(E1000_TRANSMIT_DESCRIPTORS * sizeof(struct e1000_transmit_descriptor) % 128 == 0,
               "TDLEN must be a multiple of 128 bytes");
_Static_assert(E1000_RECEIVE_DESCRIPTORS >= 8 && E1000_TRANSMIT_DESCRIPTORS >= 8,
               "the device needs at least 8 descriptors per ring");
_Static_assert(E1000_BUFFER_SIZE == 2048, "RCTL is programmed with BSIZE 2048");

// The definitions of the register accessors declared in e1000_registers.h.
// Weak, so that the unit tests' fake device replaces them; a weak function
// is never inlined, which costs a call per register access, nothing beside
// the access itself.
__attribute__((weak)) uint32_t e1000_register_read(volatile uint32_t *registers, uint32_t offset)
{
    return registers[offset / 4];
}

__attribute__((weak)) void e1000_register_write(volatile uint32_t *registers, uint32_t offset, uint32_t value)
{
    registers[offset / 4] = value;
}

static uint32_t e1000_read(const struct e1000 *nic, uint32_t offset)
{
    return e1000_register_read(nic->registers, offset);
}

static void e1000_write(const struct e1000 *nic, uint32_t offset, uint32_t value)
{
    e1000_register_write(nic->registers, offset, value);
}

// Stops the compiler from moving memory accesses across this point; the
// processor needs no fence on x86 (see the essay).
static inline void e1000_compiler_barrier(void)
{
    __asm__ volatile("" ::: "memory");
}

__attribute__((format(printf, 3, 4)))
static bool e1000_fail(char *error, size_t error_size, const char *format, ...)
{
    if (error && error_size > 0) {
        va_list arguments;
        va_start(arguments, format);
        vsnprintf(error, error_size, format, arguments);
        va_end(arguments);
    }
    return false;
}

// ---- Reset, MAC address, link -------------------------------------------------

// A global reset puts the registers back to their power-on values (the
// multicast table excepted) and stops any DMA a boot ROM (PXE) may have
// left running into memory that is now ours.
static bool e1000_reset(struct e1000 *nic, char *error, size_t error_size)
{
    // Quiet the device first: no interrupts, no new DMA. The read of STATUS
    // makes sure these writes have reached the device (PCI posts writes).
    e1000_write(nic, E1000_IMC, E1000_INTERRUPT_ALL);
    e1000_write(nic, E1000_RCTL, 0);
    e1000_write(nic, E1000_TCTL, 0);
    (void)e1000_read(nic, E1000_STATUS);

    e1000_write(nic, E1000_CTRL, e1000_read(nic, E1000_CTRL) | E1000_CTRL_RST);
    // RST clears itself when the reset is over. Until then only CTRL is
    // read: the other registers are not yet valid.
    for (uint32_t reads = 0; reads < E1000_RESET_POLL_LIMIT; reads++) {
        if (!(e1000_read(nic, E1000_CTRL) & E1000_CTRL_RST)) {
            // The reset unmasks nothing, but the device may have been
            // left with causes pending: mask and clear them all.
            e1000_write(nic, E1000_IMC, E1000_INTERRUPT_ALL);
            (void)e1000_read(nic, E1000_ICR);
            return true;
        }
    }
    return e1000_fail(error, error_size, "reset did not finish: CTRL.RST still set after %u reads",
                      E1000_RESET_POLL_LIMIT);
}

// Reads one 16-bit EEPROM word through EERD: the device does the serial
// protocol and sets DONE when the word is in EERD's upper half.
static bool e1000_eeprom_read(struct e1000 *nic, uint8_t address, uint16_t *word, char *error, size_t error_size)
{
    e1000_write(nic, E1000_EERD, E1000_EERD_START | (uint32_t)address << E1000_EERD_ADDRESS_SHIFT);
    for (uint32_t reads = 0; reads < E1000_EEPROM_POLL_LIMIT; reads++) {
        uint32_t value = e1000_read(nic, E1000_EERD);
        if (value & E1000_EERD_DONE) {
            *word = (uint16_t)(value >> E1000_EERD_DATA_SHIFT);
            return true;
        }
    }
    return e1000_fail(error, error_size, "EEPROM read of word %u did not finish: EERD.DONE still clear after %u reads",
                      address, E1000_EEPROM_POLL_LIMIT);
}

// After reset the device has usually loaded the MAC address from its EEPROM
// into receive address 0 and marked it valid; QEMU and VMware always do. If
// not, we read the EEPROM ourselves and program receive address 0, without
// which the device would drop every frame sent to us.
static bool e1000_read_mac_address(struct e1000 *nic, char *error, size_t error_size)
{
    uint8_t *mac = nic->mac_address;
    uint32_t high = e1000_read(nic, E1000_RAH(0));
    if (high & E1000_RAH_AV) {
        uint32_t low = e1000_read(nic, E1000_RAL(0));
        for (int i = 0; i < 4; i++)
            mac[i] = (uint8_t)(low >> (8 * i));
        mac[4] = (uint8_t)high;
        mac[5] = (uint8_t)(high >> 8);
    } else {
        for (uint8_t i = 0; i < 3; i++) {
            uint16_t word = 0;
            if (!e1000_eeprom_read(nic, E1000_EEPROM_MAC_ADDRESS_WORD + i, &word, error, error_size))
                return false;
            mac[2 * i] = (uint8_t)word;
            mac[2 * i + 1] = (uint8_t)(word >> 8);
        }
        // Low half first: the address is only used once AV is set.
        e1000_write(nic, E1000_RAL(0), (uint32_t)mac[0] | (uint32_t)mac[1] << 8 | (uint32_t)mac[2] << 16 |
                                       (uint32_t)mac[3] << 24);
        e1000_write(nic, E1000_RAH(0), (uint32_t)mac[4] | (uint32_t)mac[5] << 8 | E1000_RAH_AV);
    }

    // A station address is unicast (bit 0 of the first byte clear) and not
    // all zeros: anything else means an erased or corrupt EEPROM.
    bool all_zero = true;
    for (int i = 0; i < E1000_MAC_ADDRESS_LENGTH; i++)
        all_zero = all_zero && mac[i] == 0;
    if (all_zero || (mac[0] & 1))
        return e1000_fail(error, error_size, "invalid MAC address %02x:%02x:%02x:%02x:%02x:%02x (%s)",
                          mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], all_zero ? "all zeros" : "multicast");
    return true;
}

// The 82540/82545 have the PHY inside: the PHY negotiates speed and duplex
// after reset by itself, and the MAC follows it once "set link up" is on
// (8254x SDM 14.3). Nothing may force a speed or duplex, reset the PHY, or
// invert loss of signal (that is for fiber).
static void e1000_set_link_up(struct e1000 *nic)
{
    uint32_t control = e1000_read(nic, E1000_CTRL);
    control |= E1000_CTRL_SLU | E1000_CTRL_ASDE;
    control &= ~(E1000_CTRL_LRST | E1000_CTRL_ILOS | E1000_CTRL_FRCSPD | E1000_CTRL_FRCDPLX |
                 E1000_CTRL_PHY_RST | E1000_CTRL_VME);
    e1000_write(nic, E1000_CTRL, control);

    // No flow control frames: the manual asks for these to be zero then.
    e1000_write(nic, E1000_FCAL, 0);
    e1000_write(nic, E1000_FCAH, 0);
    e1000_write(nic, E1000_FCT, 0);
    e1000_write(nic, E1000_FCTTV, 0);
}

// Only our own address and broadcast get through: no multicast hash bits,
// no other receive addresses. The MTA is not cleared by reset.
static void e1000_clear_filters(struct e1000 *nic)
{
    for (uint32_t i = 0; i < E1000_MTA_COUNT; i++)
        e1000_write(nic, E1000_MTA + 4 * i, 0);
    for (uint32_t i = 1; i < E1000_RECEIVE_ADDRESS_COUNT; i++) {
        e1000_write(nic, E1000_RAH(i), 0);   // invalid first, then the rest
        e1000_write(nic, E1000_RAL(i), 0);
    }
}

// ---- Ring setup --------------------------------------------------------------------

static void *e1000_allocate(const struct e1000_dma *dma, size_t size, uint64_t *physical, const char *what,
                            char *error, size_t error_size)
{
    *physical = 0;
    void *memory = dma->allocate(dma->context, size, physical);
    if (!memory) {
        e1000_fail(error, error_size, "cannot allocate %zu bytes of DMA memory for the %s", size, what);
        return NULL;
    }
    if ((uintptr_t)memory % E1000_DMA_ALIGNMENT || *physical % E1000_DMA_ALIGNMENT) {
        e1000_fail(error, error_size, "DMA memory for the %s is not %u-byte aligned (virtual %p, physical %#llx)",
                   what, E1000_DMA_ALIGNMENT, memory, (unsigned long long)*physical);
        return NULL;
    }
    return memory;
}

static bool e1000_allocate_rings(struct e1000 *nic, const struct e1000_dma *dma, char *error, size_t error_size)
{
    nic->receive_ring = e1000_allocate(dma, E1000_RECEIVE_DESCRIPTORS * sizeof(struct e1000_receive_descriptor),
                                       &nic->receive_ring_physical, "receive ring", error, error_size);
    if (!nic->receive_ring)
        return false;
    nic->receive_buffers = e1000_allocate(dma, (size_t)E1000_RECEIVE_DESCRIPTORS * E1000_BUFFER_SIZE,
                                          &nic->receive_buffers_physical, "receive buffers", error, error_size);
    if (!nic->receive_buffers)
        return false;
    nic->transmit_ring = e1000_allocate(dma, E1000_TRANSMIT_DESCRIPTORS * sizeof(struct e1000_transmit_descriptor),
                                        &nic->transmit_ring_physical, "transmit ring", error, error_size);
    if (!nic->transmit_ring)
        return false;
    nic->transmit_buffers = e1000_allocate(dma, (size_t)E1000_TRANSMIT_DESCRIPTORS * E1000_BUFFER_SIZE,
                                           &nic->transmit_buffers_physical, "transmit buffers", error, error_size);
    return nic->transmit_buffers != NULL;
}

static uint64_t e1000_receive_buffer_physical(const struct e1000 *nic, uint32_t index)
{
    return nic->receive_buffers_physical + (uint64_t)index * E1000_BUFFER_SIZE;
}

static uint64_t e1000_transmit_buffer_physical(const struct e1000 *nic, uint32_t index)
{
    return nic->transmit_buffers_physical + (uint64_t)index * E1000_BUFFER_SIZE;
}

// 8254x SDM 14.4, receive initialization. The ring is programmed before the
// receiver is enabled.
static void e1000_start_receiver(struct e1000 *nic)
{
    for (uint32_t i = 0; i < E1000_RECEIVE_DESCRIPTORS; i++) {
        volatile struct e1000_receive_descriptor *descriptor = &nic->receive_ring[i];
        descriptor->buffer_address = e1000_receive_buffer_physical(nic, i);
        descriptor->length = 0;
        descriptor->checksum = 0;
        descriptor->status = 0;
        descriptor->errors = 0;
        descriptor->special = 0;
    }
    nic->receive_next = 0;
    nic->receive_discarding = false;
    e1000_compiler_barrier();   // descriptors in memory before the device learns of them

    e1000_write(nic, E1000_RDBAL, (uint32_t)nic->receive_ring_physical);
    e1000_write(nic, E1000_RDBAH, (uint32_t)(nic->receive_ring_physical >> 32));
    e1000_write(nic, E1000_RDLEN, E1000_RECEIVE_DESCRIPTORS * sizeof(struct e1000_receive_descriptor));
    e1000_write(nic, E1000_RDH, 0);
    e1000_write(nic, E1000_RDT, E1000_RECEIVE_DESCRIPTORS - 1);   // all but one to the device
    e1000_write(nic, E1000_RDTR, 0);   // interrupt as soon as a frame is in
    e1000_write(nic, E1000_RADV, 0);
    e1000_write(nic, E1000_RXCSUM, E1000_RXCSUM_IPOFLD | E1000_RXCSUM_TUOFLD);

    // On: broadcast accepted, 2048-byte buffers, CRC stripped (the network
    // stack has no use for it), no promiscuity, no loopback, no long
    // frames, RXDMT0 when half the ring is used up.
    e1000_write(nic, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_BAM | E1000_RCTL_BSIZE_2048 | E1000_RCTL_SECRC |
                                 E1000_RCTL_RDMTS_HALF);
}

// 8254x SDM 14.5, transmit initialization.
static void e1000_start_transmitter(struct e1000 *nic)
{
    for (uint32_t i = 0; i < E1000_TRANSMIT_DESCRIPTORS; i++) {
        volatile struct e1000_transmit_descriptor *descriptor = &nic->transmit_ring[i];
        descriptor->buffer_address = e1000_transmit_buffer_physical(nic, i);
        descriptor->length = 0;
        descriptor->checksum_offset = 0;
        descriptor->command = 0;
        descriptor->status = 0;
        descriptor->checksum_start = 0;
        descriptor->special = 0;
    }
    nic->transmit_next = 0;
    nic->transmit_clean = 0;
    nic->transmit_context_loaded = false;   // a reset device holds no context
    e1000_compiler_barrier();

    e1000_write(nic, E1000_TDBAL, (uint32_t)nic->transmit_ring_physical);
    e1000_write(nic, E1000_TDBAH, (uint32_t)(nic->transmit_ring_physical >> 32));
    e1000_write(nic, E1000_TDLEN, E1000_TRANSMIT_DESCRIPTORS * sizeof(struct e1000_transmit_descriptor));
    e1000_write(nic, E1000_TDH, 0);
    e1000_write(nic, E1000_TDT, 0);   // empty
    e1000_write(nic, E1000_TIPG, E1000_TIPG_IPGT << E1000_TIPG_IPGT_SHIFT | E1000_TIPG_IPGR1 << E1000_TIPG_IPGR1_SHIFT |
                                 E1000_TIPG_IPGR2 << E1000_TIPG_IPGR2_SHIFT);
    e1000_write(nic, E1000_TCTL, E1000_TCTL_EN | E1000_TCTL_PSP |
                                 E1000_COLLISION_THRESHOLD << E1000_TCTL_CT_SHIFT |
                                 E1000_COLLISION_DISTANCE << E1000_TCTL_COLD_SHIFT);
}

bool e1000_init(struct e1000 *nic, volatile uint32_t *registers, const struct e1000_dma *dma,
                char *error, size_t error_size)
{
    memset(nic, 0, sizeof *nic);
    if (!registers || !dma || !dma->allocate)
        return e1000_fail(error, error_size, "no registers or no DMA allocator given");
    nic->registers = registers;

    if (!e1000_reset(nic, error, error_size))
        return false;
    if (!e1000_read_mac_address(nic, error, error_size))
        return false;
    e1000_set_link_up(nic);
    e1000_clear_filters(nic);
    if (!e1000_allocate_rings(nic, dma, error, error_size))
        return false;
    e1000_start_receiver(nic);
    e1000_start_transmitter(nic);
    return true;
}

bool e1000_link_up(struct e1000 *nic)
{
    return (e1000_read(nic, E1000_STATUS) & E1000_STATUS_LU) != 0;
}

void e1000_mac_address(const struct e1000 *nic, uint8_t out[E1000_MAC_ADDRESS_LENGTH])
{
    memcpy(out, nic->mac_address, E1000_MAC_ADDRESS_LENGTH);
}

// ---- Transmitting ---------------------------------------------------------------------

// Descriptors software may fill now: one always stays empty (see the essay).
static uint32_t e1000_transmit_free(const struct e1000 *nic)
{
    uint32_t in_flight =
        (nic->transmit_next + E1000_TRANSMIT_DESCRIPTORS - nic->transmit_clean) % E1000_TRANSMIT_DESCRIPTORS;
    return E1000_TRANSMIT_DESCRIPTORS - 1 - in_flight;
}

// A context descriptor carries no frame: extended (DEXT) with type 0.
static bool e1000_is_context_descriptor(volatile struct e1000_transmit_data_descriptor *descriptor)
{
    return (descriptor->command & E1000_TRANSMIT_COMMAND_DEXT) && !(descriptor->type_length & 0xF0);
}

size_t e1000_transmit_reclaim(struct e1000 *nic)
{
    size_t reclaimed = 0;
    while (nic->transmit_clean != nic->transmit_next) {
        volatile struct e1000_transmit_descriptor *descriptor = &nic->transmit_ring[nic->transmit_clean];
        uint8_t status = descriptor->status;
        if (!(status & E1000_TRANSMIT_STATUS_DD))
            break;   // the device sends in order: nothing after this one is done either
        e1000_compiler_barrier();
        // Legacy and data descriptors share the fields read here.
        volatile struct e1000_transmit_data_descriptor *frame =
            (volatile struct e1000_transmit_data_descriptor *)descriptor;
        if (e1000_is_context_descriptor(frame)) {
            // a checksum layout, not a frame
        } else if (status & (E1000_TRANSMIT_STATUS_EC | E1000_TRANSMIT_STATUS_LC)) {
            nic->counters.transmit_errors++;
        } else {
            nic->counters.transmitted_frames++;
            nic->counters.transmitted_bytes += frame->length;
        }
        descriptor->status = 0;
        nic->transmit_clean = (nic->transmit_clean + 1) % E1000_TRANSMIT_DESCRIPTORS;
        reclaimed++;
    }
    return reclaimed;
}

// Queues a context descriptor saying where TCP/UDP checksums start and go,
// for the data descriptors after it.
static void e1000_queue_context(struct e1000 *nic, const struct e1000_transmit_checksum *checksum)
{
    volatile struct e1000_transmit_context_descriptor *context =
        (volatile struct e1000_transmit_context_descriptor *)&nic->transmit_ring[nic->transmit_next];
    context->ip_checksum_start = 0;   // the IPv4 header checksum is the stack's (see the essay)
    context->ip_checksum_offset = 0;
    context->ip_checksum_end = 0;
    context->checksum_start = checksum->start;
    context->checksum_offset = (uint8_t)(checksum->start + checksum->offset);
    context->checksum_end = 0;   // to the end of each frame
    context->payload_length[0] = context->payload_length[1] = context->payload_length[2] = 0;
    context->status = 0;
    context->header_length = 0;
    context->maximum_segment_size = 0;
    context->command = E1000_TRANSMIT_COMMAND_DEXT | E1000_TRANSMIT_COMMAND_RS;
    nic->transmit_context = *checksum;
    nic->transmit_context_loaded = true;
    nic->counters.transmit_contexts++;
    nic->transmit_next = (nic->transmit_next + 1) % E1000_TRANSMIT_DESCRIPTORS;
}

bool e1000_transmit(struct e1000 *nic, const void *frame, size_t length,
                    const struct e1000_transmit_checksum *checksum)
{
    if (length < E1000_FRAME_MINIMUM || length > E1000_BUFFER_SIZE ||
        (checksum && (checksum->start + checksum->offset > UINT8_MAX ||
                      (size_t)checksum->start + checksum->offset + 2 > length))) {
        nic->counters.transmit_bad_length++;
        return false;
    }
    bool new_context = checksum && (!nic->transmit_context_loaded ||
                                    nic->transmit_context.start != checksum->start ||
                                    nic->transmit_context.offset != checksum->offset);
    uint32_t needed = new_context ? 2 : 1;
    // Reclaiming only when the ring looks full keeps the common path short.
    if (e1000_transmit_free(nic) < needed) {
        e1000_transmit_reclaim(nic);
        if (e1000_transmit_free(nic) < needed) {
            nic->counters.transmit_ring_full++;
            return false;
        }
    }
    if (new_context)
        e1000_queue_context(nic, checksum);

    uint32_t index = nic->transmit_next;
    memcpy(nic->transmit_buffers + (size_t)index * E1000_BUFFER_SIZE, frame, length);
    uint8_t command = E1000_TRANSMIT_COMMAND_EOP | E1000_TRANSMIT_COMMAND_IFCS | E1000_TRANSMIT_COMMAND_RS;
    if (checksum) {
        // An extended data descriptor, under the context queued last.
        volatile struct e1000_transmit_data_descriptor *descriptor =
            (volatile struct e1000_transmit_data_descriptor *)&nic->transmit_ring[index];
        descriptor->buffer_address = e1000_transmit_buffer_physical(nic, index);
        descriptor->length = (uint16_t)length;
        descriptor->type_length = E1000_TRANSMIT_DTYP_DATA;
        descriptor->status = 0;
        descriptor->options = E1000_TRANSMIT_OPTION_TXSM;
        descriptor->special = 0;
        descriptor->command = command | E1000_TRANSMIT_COMMAND_DEXT;
        nic->counters.transmit_checksum_offloaded++;
    } else {
        volatile struct e1000_transmit_descriptor *descriptor = &nic->transmit_ring[index];
        descriptor->buffer_address = e1000_transmit_buffer_physical(nic, index);
        descriptor->length = (uint16_t)length;
        descriptor->checksum_offset = 0;
        descriptor->checksum_start = 0;
        descriptor->special = 0;
        descriptor->status = 0;
        descriptor->command = command;
    }

    nic->transmit_next = (index + 1) % E1000_TRANSMIT_DESCRIPTORS;
    // The buffer and descriptor must be in memory before the device sees
    // the new tail; the processor keeps store order, the compiler must too.
    e1000_compiler_barrier();
    e1000_write(nic, E1000_TDT, nic->transmit_next);
    return true;
}

// ---- Receiving -----------------------------------------------------------------------

// What the device checked of a good frame and found right (E1000_VERIFIED_*).
static unsigned e1000_checksums_verified(struct e1000 *nic, uint8_t status, uint8_t errors)
{
    if (status & E1000_RECEIVE_STATUS_IXSM)
        return 0;
    unsigned verified = 0;
    if ((status & E1000_RECEIVE_STATUS_IPCS) && !(errors & E1000_RECEIVE_ERROR_IPE))
        verified |= E1000_VERIFIED_IPV4_HEADER;
    if ((status & E1000_RECEIVE_STATUS_TCPCS) && !(errors & E1000_RECEIVE_ERROR_TCPE)) {
        verified |= E1000_VERIFIED_TCP_UDP;
        nic->counters.receive_checksum_verified++;
    }
    if (errors & (E1000_RECEIVE_ERROR_IPE | E1000_RECEIVE_ERROR_TCPE))
        nic->counters.receive_checksum_errors++;
    return verified;
}

size_t e1000_receive(struct e1000 *nic,
                     void (*deliver)(void *context, const void *frame, size_t length, unsigned verified),
                     void *context, size_t budget)
{
    size_t delivered = 0;
    uint32_t index = nic->receive_next;
    uint32_t last_processed = 0;
    uint32_t processed = 0;

    // The loop ends at the latest at the descriptor at RDT: it is software's,
    // its status was cleared, and the device cannot fill it before RDT moves,
    // which happens only below. So no call can find more than count - 1
    // descriptors done; the bound on `processed` says so, and keeps a
    // device that broke the protocol (DD on descriptors it does not own)
    // from holding us here, since dropped frames are not charged to the
    // budget.
    while (delivered < budget && processed < E1000_RECEIVE_DESCRIPTORS - 1) {
        volatile struct e1000_receive_descriptor *descriptor = &nic->receive_ring[index];
        uint8_t status = descriptor->status;
        if (!(status & E1000_RECEIVE_STATUS_DD))
            break;
        // Read the rest of the descriptor, and the buffer, only after DD.
        e1000_compiler_barrier();
        uint16_t length = descriptor->length;
        uint8_t errors = descriptor->errors;
        bool end_of_packet = (status & E1000_RECEIVE_STATUS_EOP) != 0;

        if (nic->receive_discarding) {
            // The rest of a frame that did not fit one buffer.
            if (end_of_packet)
                nic->receive_discarding = false;
        } else if (!end_of_packet) {
            // With 2048-byte buffers and long frames off this should not
            // happen; drop the whole frame rather than deliver a piece.
            nic->counters.receive_oversized++;
            nic->receive_discarding = true;
        } else if ((errors & E1000_RECEIVE_ERRORS_FRAME) || length == 0 || length > E1000_BUFFER_SIZE) {
            nic->counters.receive_errors++;
        } else {
            deliver(context, nic->receive_buffers + (size_t)index * E1000_BUFFER_SIZE, length,
                    e1000_checksums_verified(nic, status, errors));
            nic->counters.received_frames++;
            nic->counters.received_bytes += length;
            delivered++;
        }

        // Empty again, for when the device gives it back filled.
        descriptor->buffer_address = e1000_receive_buffer_physical(nic, index);
        descriptor->status = 0;
        descriptor->errors = 0;
        descriptor->length = 0;
        last_processed = index;
        processed++;
        index = (index + 1) % E1000_RECEIVE_DESCRIPTORS;
    }

    nic->receive_next = index;
    if (processed > 0) {
        // Everything before last_processed goes back to the device; the
        // cleared descriptors must be in memory before it may fill them.
        e1000_compiler_barrier();
        e1000_write(nic, E1000_RDT, last_processed);
    }
    return delivered;
}

// ---- Interrupts ----------------------------------------------------------------------

uint32_t e1000_interrupt_cause(struct e1000 *nic)
{
    return e1000_read(nic, E1000_ICR);
}

void e1000_interrupts_enable(struct e1000 *nic)
{
    e1000_write(nic, E1000_IMS, E1000_INTERRUPTS_ENABLED);
}

void e1000_interrupts_disable(struct e1000 *nic)
{
    e1000_write(nic, E1000_IMC, E1000_INTERRUPT_ALL);
    // PCI posts writes: read something back so that the mask has reached
    // the device, and the interrupt line is down, when this returns.
    (void)e1000_read(nic, E1000_STATUS);
}
