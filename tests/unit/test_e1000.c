/*
 * Unit tests for kernel/drivers/e1000.c against the fake device in
 * fake_e1000_device.c: what e1000_init programs (reset, MAC address from the
 * receive address registers or from the EEPROM, link, filters, both rings),
 * its failures (a reset or EEPROM read that never finishes, no DMA memory,
 * misaligned memory, an invalid address), link state and interrupt control,
 * and the rings: frames out and in byte for byte and in order, both rings
 * wrapping several times, a full transmit ring, the receive budget, a
 * receive ring the driver does not drain, bad frames, bad lengths, and a
 * receive loop that stays bounded even when the device misbehaves.
 *
 * Then checksum offload, with real Ethernet + IPv4 + TCP/UDP/ICMP frames
 * built here the way a stack hands them over (the pseudo-header's sum in
 * the checksum field). Transmitting: the context and data descriptors
 * e1000_transmit writes, checksums on the wire that an independent check
 * (pseudo-header and segment summing to 0xFFFF) accepts, for TCP, UDP and
 * TCP behind IPv4 options, a context descriptor only when the layout
 * changes (legacy frames in between leave it alone; e1000_init forgets
 * it), a frame needing a new context refused whole when only one
 * descriptor is free, legacy, context and data descriptors wrapping round
 * the ring together, and layouts refused because the field lies outside
 * the frame or beyond the context descriptor's one byte. Receiving: which
 * E1000_VERIFIED_* bits come up for the status and error bits the device
 * may report (IPCS, TCPCS, IPE, TCPE, and QEMU's IXSM), and for frames the
 * fake checks itself, as an 8254x with RXCSUM on does.
 *
 * Every test ends by checking that the fake saw no step outside the
 * device's contract (fake_e1000_device.h lists what it watches).
 */
#include "drivers/e1000.h"
#include "fake_e1000_device.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t qemu_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t vmware_mac[6] = { 0x00, 0x0C, 0x29, 0xAB, 0xCD, 0xEF };

static struct fake_dma dma;
static struct fake_e1000_device *device;
static struct e1000_dma nic_dma;
static struct e1000 nic;
static char error[256];

static void setup(void)
{
    fake_dma_init(&dma);
    device = calloc(1, sizeof *device);
    ck_assert_ptr_nonnull(device);
    fake_e1000_device_init(device, &dma, qemu_mac);
    nic_dma = (struct e1000_dma){ fake_dma_allocate, &dma };
    memset(&nic, 0, sizeof nic);
    memset(error, 0, sizeof error);
}

static void teardown(void)
{
    fake_e1000_device_destroy(device);
    free(device);
    device = NULL;
    fake_dma_destroy(&dma);
}

static void assert_no_violations(void)
{
    ck_assert_msg(device->violations == 0, "the driver stepped outside the device's contract %zu times; first: %s",
                  device->violations, device->violation);
}

static bool init(void)
{
    return e1000_init(&nic, fake_e1000_bar0(device), &nic_dma, error, sizeof error);
}

static void start(void)
{
    ck_assert_msg(init(), "e1000_init failed: %s", error);
}

static uint32_t peek(uint32_t offset)
{
    return fake_e1000_peek(device, offset);
}

static uint64_t ring_base(uint32_t low, uint32_t high)
{
    return (uint64_t)peek(high) << 32 | peek(low);
}

static struct e1000_receive_descriptor *receive_ring(void)
{
    return (struct e1000_receive_descriptor *)(uintptr_t)ring_base(E1000_RDBAL, E1000_RDBAH);
}

static struct e1000_transmit_descriptor *transmit_ring(void)
{
    return (struct e1000_transmit_descriptor *)(uintptr_t)ring_base(E1000_TDBAL, E1000_TDBAH);
}

// Frame `sequence`: an Ethernet header to our address from a made-up one,
// EtherType 0x88B5 (local experimental), the sequence number, then bytes
// that differ from frame to frame and from position to position.
static void make_frame(uint8_t *frame, size_t length, uint32_t sequence)
{
    static const uint8_t source[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
    uint8_t header[18];
    memcpy(header, qemu_mac, 6);
    memcpy(header + 6, source, 6);
    header[12] = 0x88;
    header[13] = 0xB5;
    memcpy(header + 14, &sequence, 4);
    for (size_t i = 0; i < length; i++)
        frame[i] = i < sizeof header ? header[i] : (uint8_t)(sequence * 131 + i * 7 + (i >> 8));
}

// Lengths that cover the range of Ethernet frames without CRC, 14 to 1514.
static size_t length_for(uint32_t sequence)
{
    return 14 + (sequence * 389) % (1514 - 14 + 1);
}

static void assert_frame(const uint8_t *bytes, size_t length, size_t expected_length, uint32_t sequence)
{
    static uint8_t expected[E1000_BUFFER_SIZE];
    ck_assert_uint_eq(length, expected_length);
    make_frame(expected, expected_length, sequence);
    ck_assert_msg(memcmp(bytes, expected, expected_length) == 0, "frame %u differs", sequence);
}

// Frame `sequence` as it left the device: the device pads frames shorter
// than the Ethernet minimum (60 bytes without the CRC) with zeros.
static void assert_sent(const struct fake_e1000_frame *sent, uint32_t sequence)
{
    size_t length = length_for(sequence);
    ck_assert_uint_eq(sent->length, length < 60 ? 60 : length);
    assert_frame(sent->bytes, length, length, sequence);
    for (size_t i = length; i < sent->length; i++)
        ck_assert_msg(sent->bytes[i] == 0, "frame %u: padding byte %zu is %#x", sequence, i, sent->bytes[i]);
}

// What e1000_receive delivered, copied (the driver's buffer is only valid
// during the call).
#define DELIVERIES_MAX 600
struct deliveries {
    size_t count;
    size_t lengths[DELIVERIES_MAX];
    unsigned verified[DELIVERIES_MAX];   // E1000_VERIFIED_* bits
    uint8_t frames[DELIVERIES_MAX][E1000_BUFFER_SIZE];
};
static struct deliveries *delivered;

static void record_delivery(void *context, const void *frame, size_t length, unsigned verified)
{
    struct deliveries *log = context;
    ck_assert_uint_lt(log->count, DELIVERIES_MAX);
    ck_assert_uint_le(length, E1000_BUFFER_SIZE);
    memcpy(log->frames[log->count], frame, length);
    log->lengths[log->count] = length;
    log->verified[log->count] = verified;
    log->count++;
}

static void setup_with_log(void)
{
    setup();
    delivered = calloc(1, sizeof *delivered);
    ck_assert_ptr_nonnull(delivered);
}

static void teardown_with_log(void)
{
    free(delivered);
    delivered = NULL;
    teardown();
}

// Frames checked as they arrive, for runs longer than the log.
struct sequence_check {
    uint32_t next;
    size_t frames;
};

static void check_in_sequence(void *context, const void *frame, size_t length, unsigned verified)
{
    struct sequence_check *check = context;
    assert_frame(frame, length, length_for(check->next), check->next);
    ck_assert_uint_eq(verified, 0);   // not IPv4: nothing for the device to check
    check->next++;
    check->frames++;
}

static void send_frame(uint32_t sequence)
{
    uint8_t frame[E1000_BUFFER_SIZE];
    size_t length = length_for(sequence);
    make_frame(frame, length, sequence);
    ck_assert_msg(e1000_transmit(&nic, frame, length, NULL), "frame %u refused", sequence);
}

static enum fake_e1000_receive_result arrive(uint32_t sequence)
{
    uint8_t frame[E1000_BUFFER_SIZE];
    size_t length = length_for(sequence);
    make_frame(frame, length, sequence);
    return fake_e1000_receive(device, frame, length);
}

// ---- Initialisation -----------------------------------------------------------

START_TEST(init_programs_the_device)
{
    start();
    ck_assert_uint_eq(device->resets, 1);
    ck_assert(!device->resetting);

    // Link: set up, speed and duplex from the PHY.
    uint32_t control = peek(E1000_CTRL);
    ck_assert(control & E1000_CTRL_SLU);
    ck_assert(control & E1000_CTRL_ASDE);
    ck_assert_uint_eq(control & (E1000_CTRL_RST | E1000_CTRL_PHY_RST | E1000_CTRL_ILOS | E1000_CTRL_LRST |
                                 E1000_CTRL_FRCSPD | E1000_CTRL_FRCDPLX), 0);
    ck_assert(e1000_link_up(&nic));

    // Interrupts masked, and the cause the reset left pending cleared.
    ck_assert_uint_eq(device->interrupt_mask, 0);
    ck_assert_uint_eq(device->interrupt_cause, 0);

    // Only our address and broadcast get through.
    for (uint32_t i = 0; i < E1000_MTA_COUNT; i++)
        ck_assert_msg(peek(E1000_MTA + 4 * i) == 0, "MTA[%u] = %#x", i, peek(E1000_MTA + 4 * i));
    for (uint32_t i = 1; i < E1000_RECEIVE_ADDRESS_COUNT; i++)
        ck_assert_msg(!(peek(E1000_RAH(i)) & E1000_RAH_AV), "receive address %u still valid", i);
    ck_assert(peek(E1000_RAH(0)) & E1000_RAH_AV);

    // Four DMA blocks: two rings, two sets of buffers.
    ck_assert_uint_eq(dma.block_count, 4);

    // The receive ring: all descriptors but one belong to the device.
    uint64_t receive_base = ring_base(E1000_RDBAL, E1000_RDBAH);
    ck_assert_uint_eq(receive_base % 16, 0);
    ck_assert_uint_eq(peek(E1000_RDLEN), E1000_RECEIVE_DESCRIPTORS * 16);
    ck_assert_uint_eq(peek(E1000_RDLEN) % 128, 0);
    ck_assert_ptr_nonnull(fake_dma_find(&dma, receive_base, peek(E1000_RDLEN)));
    ck_assert_uint_eq(peek(E1000_RDH), 0);
    ck_assert_uint_eq(peek(E1000_RDT), E1000_RECEIVE_DESCRIPTORS - 1);
    const struct e1000_receive_descriptor *receive = receive_ring();
    for (uint32_t i = 0; i < E1000_RECEIVE_DESCRIPTORS; i++) {
        ck_assert_uint_eq(receive[i].status, 0);
        const struct fake_dma_block *block = fake_dma_find(&dma, receive[i].buffer_address, E1000_BUFFER_SIZE);
        ck_assert_msg(block != NULL, "receive buffer %u is outside DMA memory", i);
        ck_assert_msg(receive[i].buffer_address + E1000_BUFFER_SIZE <= receive_base ||
                          receive[i].buffer_address >= receive_base + peek(E1000_RDLEN),
                      "receive buffer %u overlaps the ring", i);
        for (uint32_t j = 0; j < i; j++) {
            uint64_t a = receive[i].buffer_address, b = receive[j].buffer_address;
            ck_assert_msg(a + E1000_BUFFER_SIZE <= b || b + E1000_BUFFER_SIZE <= a,
                          "receive buffers %u and %u overlap", j, i);
        }
    }
    uint32_t receive_control = peek(E1000_RCTL);
    ck_assert(receive_control & E1000_RCTL_EN);
    ck_assert(receive_control & E1000_RCTL_BAM);
    ck_assert(receive_control & E1000_RCTL_SECRC);
    ck_assert_uint_eq(receive_control & (E1000_RCTL_BSIZE_MASK | E1000_RCTL_BSEX), 0);   // 2048-byte buffers
    ck_assert_uint_eq(receive_control & (E1000_RCTL_SBP | E1000_RCTL_UPE | E1000_RCTL_MPE | E1000_RCTL_LPE |
                                         E1000_RCTL_LBM_MASK | E1000_RCTL_VFE), 0);
    ck_assert_uint_eq(receive_control, E1000_RCTL_EN | E1000_RCTL_BAM | E1000_RCTL_SECRC);

    // The transmit ring: empty.
    uint64_t transmit_base = ring_base(E1000_TDBAL, E1000_TDBAH);
    ck_assert_uint_eq(transmit_base % 16, 0);
    ck_assert_uint_eq(peek(E1000_TDLEN), E1000_TRANSMIT_DESCRIPTORS * 16);
    ck_assert_uint_eq(peek(E1000_TDLEN) % 128, 0);
    ck_assert_ptr_nonnull(fake_dma_find(&dma, transmit_base, peek(E1000_TDLEN)));
    ck_assert_uint_ne(transmit_base, receive_base);
    ck_assert_uint_eq(peek(E1000_TDH), 0);
    ck_assert_uint_eq(peek(E1000_TDT), 0);
    uint32_t transmit_control = peek(E1000_TCTL);
    ck_assert(transmit_control & E1000_TCTL_EN);
    ck_assert(transmit_control & E1000_TCTL_PSP);
    ck_assert_uint_eq((transmit_control & E1000_TCTL_CT_MASK) >> E1000_TCTL_CT_SHIFT, 0x0F);
    ck_assert_uint_eq((transmit_control & E1000_TCTL_COLD_MASK) >> E1000_TCTL_COLD_SHIFT, 0x40);
    ck_assert_uint_eq(peek(E1000_TIPG), 10u | 8u << 10 | 6u << 20);
    assert_no_violations();
}
END_TEST

START_TEST(init_waits_for_a_slow_reset)
{
    device->reset_reads = 50000;
    start();
    ck_assert(!device->resetting);
    ck_assert_uint_eq(device->resets, 1);
    assert_no_violations();   // nothing but CTRL was touched while it lasted
}
END_TEST

START_TEST(reset_that_never_finishes_fails)
{
    device->reset_reads = FAKE_E1000_NEVER;
    ck_assert(!init());
    ck_assert_msg(strstr(error, "reset did not finish") != NULL, "error: %s", error);
    ck_assert_uint_eq(dma.allocations, 0);
    device->resetting = false;   // what the driver did before giving up is all that is checked
    assert_no_violations();
}
END_TEST

START_TEST(mac_address_from_the_receive_address_registers)
{
    start();
    uint8_t mac[6];
    e1000_mac_address(&nic, mac);
    ck_assert_mem_eq(mac, qemu_mac, 6);
    ck_assert_uint_eq(device->eeprom_accesses, 0);
    assert_no_violations();
}
END_TEST

START_TEST(mac_address_from_the_eeprom)
{
    fake_e1000_device_init(device, &dma, vmware_mac);
    device->reset_loads_mac_address = false;
    device->eeprom_reads = 7;
    start();
    uint8_t mac[6];
    e1000_mac_address(&nic, mac);
    ck_assert_mem_eq(mac, vmware_mac, 6);
    ck_assert_uint_eq(device->eeprom_accesses, 3);
    // Programmed into receive address 0, or the filter would drop our frames.
    ck_assert_uint_eq(peek(E1000_RAL(0)), 0xAB290C00u);
    ck_assert_uint_eq(peek(E1000_RAH(0)), 0xEFCDu | E1000_RAH_AV);
    assert_no_violations();
}
END_TEST

START_TEST(eeprom_that_never_answers_fails)
{
    device->reset_loads_mac_address = false;
    device->eeprom_reads = FAKE_E1000_NEVER;
    ck_assert(!init());
    ck_assert_msg(strstr(error, "EEPROM read of word 0 did not finish") != NULL, "error: %s", error);
    ck_assert_uint_eq(dma.allocations, 0);
    assert_no_violations();
}
END_TEST

START_TEST(invalid_mac_addresses_are_refused)
{
    static const uint8_t zero[6] = { 0 };
    static const uint8_t multicast[6] = { 0x01, 0x00, 0x5E, 0x00, 0x00, 0x01 };

    fake_e1000_device_init(device, &dma, zero);
    device->reset_loads_mac_address = false;
    ck_assert(!init());
    ck_assert_msg(strstr(error, "invalid MAC address 00:00:00:00:00:00") != NULL, "error: %s", error);

    fake_e1000_device_init(device, &dma, multicast);   // this time loaded into RAL0/RAH0
    ck_assert(!init());
    ck_assert_msg(strstr(error, "invalid MAC address 01:00:5e:00:00:01 (multicast)") != NULL, "error: %s", error);
    ck_assert_uint_eq(dma.allocations, 0);
    assert_no_violations();
}
END_TEST

START_TEST(allocation_failures_are_reported)
{
    static const char *const expected[] = { "receive ring", "receive buffers", "transmit ring", "transmit buffers" };
    for (size_t failing = 0; failing < 4; failing++) {
        fake_dma_destroy(&dma);
        fake_dma_init(&dma);
        fake_e1000_device_init(device, &dma, qemu_mac);
        dma.fail_at = failing;
        ck_assert(!init());
        ck_assert_msg(strstr(error, "cannot allocate") && strstr(error, expected[failing]), "error: %s", error);
        // Nothing was switched on with half its memory missing.
        ck_assert_uint_eq(peek(E1000_RCTL) & E1000_RCTL_EN, 0);
        ck_assert_uint_eq(peek(E1000_TCTL) & E1000_TCTL_EN, 0);
        assert_no_violations();
    }

    fake_dma_destroy(&dma);
    fake_dma_init(&dma);
    fake_e1000_device_init(device, &dma, qemu_mac);
    dma.misalign_at = 2;
    ck_assert(!init());
    ck_assert_msg(strstr(error, "transmit ring is not 16-byte aligned") != NULL, "error: %s", error);

    // A tiny error buffer gets a truncated, terminated message.
    fake_dma_destroy(&dma);
    fake_dma_init(&dma);
    fake_e1000_device_init(device, &dma, qemu_mac);
    dma.fail_at = 0;
    char tiny[8];
    memset(tiny, 'x', sizeof tiny);
    ck_assert(!e1000_init(&nic, fake_e1000_bar0(device), &nic_dma, tiny, sizeof tiny));
    ck_assert_str_eq(tiny, "cannot ");
    // And no buffer at all is fine too.
    dma.fail_at = dma.allocations;
    ck_assert(!e1000_init(&nic, fake_e1000_bar0(device), &nic_dma, NULL, 0));
    assert_no_violations();
}
END_TEST

// ---- Link and interrupts ---------------------------------------------------------

START_TEST(link_state_and_interrupt_control)
{
    start();
    ck_assert(e1000_link_up(&nic));
    fake_e1000_set_link(device, false);
    ck_assert(!e1000_link_up(&nic));
    ck_assert(!fake_e1000_interrupt_asserted(device));   // masked

    e1000_interrupts_enable(&nic);
    ck_assert_uint_eq(device->interrupt_mask, E1000_INTERRUPTS_ENABLED);
    ck_assert(device->interrupt_mask & E1000_INTERRUPT_RXT0);
    ck_assert(device->interrupt_mask & E1000_INTERRUPT_LSC);
    ck_assert(fake_e1000_interrupt_asserted(device));   // the link change was pending

    // The handler masks; the driver's thread reads the causes, which clears them.
    e1000_interrupts_disable(&nic);
    ck_assert_uint_eq(device->interrupt_mask, 0);
    ck_assert(!fake_e1000_interrupt_asserted(device));
    ck_assert_uint_eq(e1000_interrupt_cause(&nic), E1000_INTERRUPT_LSC);
    ck_assert_uint_eq(e1000_interrupt_cause(&nic), 0);

    // A frame arriving while masked is not lost: unmasking raises it at once.
    fake_e1000_set_link(device, true);
    ck_assert_uint_eq(e1000_interrupt_cause(&nic), E1000_INTERRUPT_LSC);
    ck_assert_uint_eq(arrive(0), FAKE_E1000_RECEIVED);
    ck_assert(!fake_e1000_interrupt_asserted(device));
    e1000_interrupts_enable(&nic);
    ck_assert(fake_e1000_interrupt_asserted(device));
    ck_assert(e1000_interrupt_cause(&nic) & E1000_INTERRUPT_RXT0);
    ck_assert(!fake_e1000_interrupt_asserted(device));
    assert_no_violations();
}
END_TEST

// ---- Transmitting ------------------------------------------------------------------

START_TEST(sent_frame_comes_out_byte_for_byte)
{
    start();
    uint8_t frame[1514];
    make_frame(frame, sizeof frame, 7);
    ck_assert(e1000_transmit(&nic, frame, sizeof frame, NULL));
    // The caller's buffer is free at once: the driver copied it.
    memset(frame, 0, sizeof frame);

    const struct e1000_transmit_descriptor *descriptor = &transmit_ring()[0];
    ck_assert_uint_eq(descriptor->length, 1514);
    ck_assert_uint_eq(descriptor->command,
                      E1000_TRANSMIT_COMMAND_EOP | E1000_TRANSMIT_COMMAND_IFCS | E1000_TRANSMIT_COMMAND_RS);
    ck_assert_uint_eq(peek(E1000_TDT), 1);
    ck_assert_uint_eq(e1000_transmit_reclaim(&nic), 0);   // not sent yet

    ck_assert_uint_eq(fake_e1000_transmit(device, SIZE_MAX), 1);
    ck_assert_uint_eq(device->sent_count, 1);
    assert_frame(device->sent[0].bytes, device->sent[0].length, 1514, 7);
    ck_assert_uint_eq(peek(E1000_TDH), 1);

    ck_assert_uint_eq(e1000_transmit_reclaim(&nic), 1);
    ck_assert_uint_eq(nic.counters.transmitted_frames, 1);
    ck_assert_uint_eq(nic.counters.transmitted_bytes, 1514);
    ck_assert_uint_eq(transmit_ring()[0].status, 0);

    // A short frame goes out padded to the Ethernet minimum by the device.
    uint8_t arp[42];
    make_frame(arp, sizeof arp, 8);
    ck_assert(e1000_transmit(&nic, arp, sizeof arp, NULL));
    ck_assert_uint_eq(fake_e1000_transmit(device, SIZE_MAX), 1);
    ck_assert_uint_eq(device->sent[1].length, 60);
    ck_assert_mem_eq(device->sent[1].bytes, arp, sizeof arp);
    for (size_t i = sizeof arp; i < 60; i++)
        ck_assert_uint_eq(device->sent[1].bytes[i], 0);
    assert_no_violations();
}
END_TEST

START_TEST(transmit_refuses_runts_and_oversized_frames)
{
    start();
    static uint8_t frame[E1000_BUFFER_SIZE + 1];
    make_frame(frame, sizeof frame, 1);
    ck_assert(!e1000_transmit(&nic, frame, 0, NULL));
    ck_assert(!e1000_transmit(&nic, frame, E1000_FRAME_MINIMUM - 1, NULL));
    ck_assert(!e1000_transmit(&nic, frame, E1000_BUFFER_SIZE + 1, NULL));
    ck_assert(!e1000_transmit(&nic, frame, 65536 + 100, NULL));   // would wrap the descriptor's 16-bit length
    ck_assert_uint_eq(nic.counters.transmit_bad_length, 4);
    ck_assert_uint_eq(peek(E1000_TDT), 0);   // nothing queued

    ck_assert(e1000_transmit(&nic, frame, E1000_FRAME_MINIMUM, NULL));
    ck_assert(e1000_transmit(&nic, frame, E1000_BUFFER_SIZE, NULL));
    ck_assert_uint_eq(fake_e1000_transmit(device, SIZE_MAX), 2);
    ck_assert_uint_eq(device->sent[0].length, 60);
    ck_assert_mem_eq(device->sent[0].bytes, frame, E1000_FRAME_MINIMUM);
    ck_assert_uint_eq(device->sent[1].length, E1000_BUFFER_SIZE);
    ck_assert_mem_eq(device->sent[1].bytes, frame, E1000_BUFFER_SIZE);
    ck_assert_uint_eq(nic.counters.transmit_bad_length, 4);
    assert_no_violations();
}
END_TEST

START_TEST(full_transmit_ring_refuses_until_reclaimed)
{
    start();
    uint32_t sequence = 0;
    for (int i = 0; i < E1000_TRANSMIT_DESCRIPTORS - 1; i++)
        send_frame(sequence++);
    ck_assert_uint_eq(peek(E1000_TDT), E1000_TRANSMIT_DESCRIPTORS - 1);

    // One descriptor always stays empty: TDT == TDH would mean "empty".
    uint8_t frame[100];
    make_frame(frame, sizeof frame, 9999);
    ck_assert(!e1000_transmit(&nic, frame, sizeof frame, NULL));
    ck_assert_uint_eq(nic.counters.transmit_ring_full, 1);
    ck_assert_uint_eq(peek(E1000_TDT), E1000_TRANSMIT_DESCRIPTORS - 1);
    ck_assert_uint_eq(peek(E1000_TDH), 0);

    // The device sends ten; transmit reclaims them by itself and has room.
    ck_assert_uint_eq(fake_e1000_transmit(device, 10), 10);
    for (int i = 0; i < 10; i++)
        send_frame(sequence++);
    ck_assert_uint_eq(nic.counters.transmitted_frames, 10);
    ck_assert(!e1000_transmit(&nic, frame, sizeof frame, NULL));
    ck_assert_uint_eq(nic.counters.transmit_ring_full, 2);
    ck_assert_uint_eq(peek(E1000_TDT), 9);   // wrapped

    // Everything goes out, in order, and reclaim takes it all back.
    ck_assert_uint_eq(fake_e1000_transmit(device, SIZE_MAX), E1000_TRANSMIT_DESCRIPTORS - 1);
    ck_assert_uint_eq(e1000_transmit_reclaim(&nic), E1000_TRANSMIT_DESCRIPTORS - 1);
    ck_assert_uint_eq(e1000_transmit_reclaim(&nic), 0);
    ck_assert_uint_eq(device->sent_count, sequence);
    for (uint32_t i = 0; i < sequence; i++)
        assert_sent(&device->sent[i], i);
    ck_assert_uint_eq(nic.counters.transmitted_frames, sequence);
    ck_assert(e1000_transmit(&nic, frame, sizeof frame, NULL));
    assert_no_violations();
}
END_TEST

// ---- Receiving ------------------------------------------------------------------

START_TEST(received_frames_are_delivered_in_order)
{
    start();
    static const size_t lengths[] = { 60, 1514, 64, 14, 1000 };
    uint8_t frame[E1000_BUFFER_SIZE];
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < 5; i++) {
        make_frame(frame, lengths[i], 100 + i);
        ck_assert_uint_eq(fake_e1000_receive(device, frame, lengths[i]), FAKE_E1000_RECEIVED);
        bytes += lengths[i];
    }
    ck_assert_uint_eq(peek(E1000_RDH), 5);

    ck_assert_uint_eq(e1000_receive(&nic, record_delivery, delivered, 64), 5);
    ck_assert_uint_eq(delivered->count, 5);
    for (uint32_t i = 0; i < 5; i++) {   // byte for byte: the CRC was stripped (SECRC)
        assert_frame(delivered->frames[i], delivered->lengths[i], lengths[i], 100 + i);
        ck_assert_uint_eq(delivered->verified[i], 0);   // not IPv4
    }
    ck_assert_uint_eq(nic.counters.receive_checksum_verified, 0);
    ck_assert_uint_eq(nic.counters.receive_checksum_errors, 0);
    ck_assert_uint_eq(nic.counters.received_frames, 5);
    ck_assert_uint_eq(nic.counters.received_bytes, bytes);
    // RDT at the last descriptor processed: the device owns 5 .. 3 again.
    ck_assert_uint_eq(peek(E1000_RDT), 4);
    for (uint32_t i = 0; i < 5; i++)
        ck_assert_uint_eq(receive_ring()[i].status, 0);

    ck_assert_uint_eq(e1000_receive(&nic, record_delivery, delivered, 64), 0);
    ck_assert_uint_eq(peek(E1000_RDT), 4);
    assert_no_violations();
}
END_TEST

START_TEST(receive_budget_is_honoured)
{
    start();
    for (uint32_t i = 0; i < 10; i++)
        ck_assert_uint_eq(arrive(i), FAKE_E1000_RECEIVED);

    ck_assert_uint_eq(e1000_receive(&nic, record_delivery, delivered, 3), 3);
    ck_assert_uint_eq(peek(E1000_RDT), 2);
    ck_assert_uint_eq(e1000_receive(&nic, record_delivery, delivered, 0), 0);
    ck_assert_uint_eq(peek(E1000_RDT), 2);
    ck_assert_uint_eq(e1000_receive(&nic, record_delivery, delivered, 100), 7);
    ck_assert_uint_eq(peek(E1000_RDT), 9);

    ck_assert_uint_eq(delivered->count, 10);
    for (uint32_t i = 0; i < 10; i++)
        assert_frame(delivered->frames[i], delivered->lengths[i], length_for(i), i);
    assert_no_violations();
}
END_TEST

START_TEST(undrained_receive_ring_makes_the_device_drop)
{
    start();
    // The device owns count - 1 descriptors; the next frame has nowhere to go.
    for (uint32_t i = 0; i < E1000_RECEIVE_DESCRIPTORS - 1; i++)
        ck_assert_uint_eq(arrive(i), FAKE_E1000_RECEIVED);
    ck_assert_uint_eq(peek(E1000_RDH), peek(E1000_RDT));
    ck_assert_uint_eq(arrive(5000), FAKE_E1000_DROPPED_NO_DESCRIPTOR);
    ck_assert_uint_eq(arrive(5001), FAKE_E1000_DROPPED_NO_DESCRIPTOR);
    ck_assert_uint_eq(device->dropped_no_descriptor, 2);
    ck_assert(device->interrupt_cause & E1000_INTERRUPT_RXO);

    // No frame the driver had not taken yet was overwritten.
    struct sequence_check check = { 0, 0 };
    ck_assert_uint_eq(e1000_receive(&nic, check_in_sequence, &check, 10), 10);
    // Ten descriptors back: exactly ten more frames fit.
    for (uint32_t i = 0; i < 10; i++)
        ck_assert_uint_eq(arrive(E1000_RECEIVE_DESCRIPTORS - 1 + i), FAKE_E1000_RECEIVED);
    ck_assert_uint_eq(arrive(6000), FAKE_E1000_DROPPED_NO_DESCRIPTOR);
    ck_assert_uint_eq(e1000_receive(&nic, check_in_sequence, &check, 1000), E1000_RECEIVE_DESCRIPTORS - 1);
    ck_assert_uint_eq(check.next, E1000_RECEIVE_DESCRIPTORS - 1 + 10);
    ck_assert_uint_eq(e1000_receive(&nic, check_in_sequence, &check, 1000), 0);
    ck_assert_uint_eq(device->dropped_no_descriptor, 3);
    assert_no_violations();
}
END_TEST

START_TEST(bad_frames_are_dropped_and_counted)
{
    start();
    uint8_t frame[3000];
    ck_assert_uint_eq(arrive(0), FAKE_E1000_RECEIVED);
    make_frame(frame, 200, 900);
    ck_assert_uint_eq(fake_e1000_receive_with_errors(device, frame, 200, E1000_RECEIVE_ERROR_CE),
                      FAKE_E1000_RECEIVED);
    ck_assert_uint_eq(arrive(1), FAKE_E1000_RECEIVED);
    // Longer than one buffer: two descriptors, the first without EOP.
    make_frame(frame, sizeof frame, 901);
    ck_assert_uint_eq(fake_e1000_receive(device, frame, sizeof frame), FAKE_E1000_RECEIVED);
    ck_assert_uint_eq(receive_ring()[3].status, E1000_RECEIVE_STATUS_DD);
    ck_assert_uint_eq(receive_ring()[4].status, E1000_RECEIVE_STATUS_DD | E1000_RECEIVE_STATUS_EOP);
    ck_assert_uint_eq(arrive(2), FAKE_E1000_RECEIVED);
    make_frame(frame, 300, 902);
    ck_assert_uint_eq(fake_e1000_receive_with_errors(device, frame, 300, E1000_RECEIVE_ERROR_RXE),
                      FAKE_E1000_RECEIVED);
    ck_assert_uint_eq(arrive(3), FAKE_E1000_RECEIVED);
    ck_assert_uint_eq(peek(E1000_RDH), 8);

    // Budget 3 for 4 good frames: the bad ones are not charged.
    ck_assert_uint_eq(e1000_receive(&nic, record_delivery, delivered, 3), 3);
    ck_assert_uint_eq(e1000_receive(&nic, record_delivery, delivered, 3), 1);
    ck_assert_uint_eq(delivered->count, 4);
    for (uint32_t i = 0; i < 4; i++)
        assert_frame(delivered->frames[i], delivered->lengths[i], length_for(i), i);
    ck_assert_uint_eq(nic.counters.received_frames, 4);
    ck_assert_uint_eq(nic.counters.receive_errors, 2);
    ck_assert_uint_eq(nic.counters.receive_oversized, 1);
    ck_assert_uint_eq(peek(E1000_RDT), 7);   // every descriptor went back, bad ones included
    assert_no_violations();
}
END_TEST

// Dropped frames are not charged to the budget, so what ends the loop is
// the ring: a device that set DD on descriptors it does not own (here: all
// of them, every one an empty frame) still cannot hold e1000_receive for
// more than count - 1 descriptors.
START_TEST(receive_is_bounded_by_the_ring)
{
    start();
    struct e1000_receive_descriptor *ring = receive_ring();
    for (uint32_t i = 0; i < E1000_RECEIVE_DESCRIPTORS; i++) {
        ring[i].length = 0;
        ring[i].status = E1000_RECEIVE_STATUS_DD | E1000_RECEIVE_STATUS_EOP;
    }
    ck_assert_uint_eq(e1000_receive(&nic, record_delivery, delivered, 10), 0);
    ck_assert_uint_eq(nic.counters.receive_errors, E1000_RECEIVE_DESCRIPTORS - 1);
    ck_assert_uint_eq(peek(E1000_RDT), E1000_RECEIVE_DESCRIPTORS - 2);
    assert_no_violations();
}
END_TEST

// ---- Both rings, many times round -----------------------------------------------

START_TEST(rings_wrap_around)
{
    start();
    // Batches of uneven sizes, so that head and tail meet the ring's end at
    // every offset; more than four times round each ring.
    static const uint32_t batches[] = { 1, 7, 255, 200, 31, 128, 254, 3, 99, 255, 64, 17 };
    const uint32_t total = 4 * E1000_TRANSMIT_DESCRIPTORS + 17;

    uint32_t queued = 0, checked = 0;
    for (size_t b = 0; queued < total; b = (b + 1) % (sizeof batches / sizeof batches[0])) {
        uint32_t batch = batches[b] < total - queued ? batches[b] : total - queued;
        for (uint32_t i = 0; i < batch; i++)
            send_frame(queued++);
        ck_assert_uint_eq(fake_e1000_transmit(device, SIZE_MAX), batch);
        for (size_t i = 0; i < device->sent_count; i++, checked++)
            assert_sent(&device->sent[i], checked);
        fake_e1000_forget_sent(device);
        ck_assert_uint_eq(e1000_transmit_reclaim(&nic), batch);
    }
    ck_assert_uint_eq(checked, total);
    ck_assert_uint_eq(nic.counters.transmitted_frames, total);
    ck_assert_uint_eq(peek(E1000_TDT), total % E1000_TRANSMIT_DESCRIPTORS);
    ck_assert_uint_eq(peek(E1000_TDH), total % E1000_TRANSMIT_DESCRIPTORS);

    // Receiving, with a budget that sometimes leaves frames for the next call.
    const uint32_t receive_total = 4 * E1000_RECEIVE_DESCRIPTORS + 17;
    struct sequence_check check = { 0, 0 };
    uint32_t arrived = 0;
    for (size_t b = 0; arrived < receive_total; b = (b + 1) % (sizeof batches / sizeof batches[0])) {
        uint32_t batch = batches[b] < receive_total - arrived ? batches[b] : receive_total - arrived;
        for (uint32_t i = 0; i < batch; i++)
            ck_assert_uint_eq(arrive(arrived++), FAKE_E1000_RECEIVED);
        while (check.next < arrived)
            ck_assert_uint_gt(e1000_receive(&nic, check_in_sequence, &check, 50), 0);
    }
    ck_assert_uint_eq(check.frames, receive_total);
    ck_assert_uint_eq(nic.counters.received_frames, receive_total);
    ck_assert_uint_eq(device->dropped_no_descriptor, 0);
    ck_assert_uint_eq(peek(E1000_RDH), receive_total % E1000_RECEIVE_DESCRIPTORS);
    ck_assert_uint_eq(peek(E1000_RDT), (receive_total + E1000_RECEIVE_DESCRIPTORS - 1) % E1000_RECEIVE_DESCRIPTORS);
    assert_no_violations();
}
END_TEST

// ---- Checksum offload: frames as a network stack hands them over ------------------

// The Internet checksum's sum (RFC 1071), folded. Written apart from the
// fake device's (byte by byte here, word by word there), so that a mistake
// in one is not repeated in the check of the other.
static uint16_t internet_sum(const uint8_t *bytes, size_t length, uint32_t initial)
{
    uint64_t sum = initial;
    for (size_t i = 0; i < length; i++)
        sum += i % 2 ? bytes[i] : (uint32_t)bytes[i] << 8;
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)sum;
}

static void put_big_endian_16(uint8_t *at, uint32_t value)
{
    at[0] = (uint8_t)(value >> 8);
    at[1] = (uint8_t)value;
}

static uint16_t get_big_endian_16(const uint8_t *at)
{
    return (uint16_t)(at[0] << 8 | at[1]);
}

#define ETHERNET_HEADER_LENGTH 14
#define IP_PROTOCOL_ICMP       1
#define IP_PROTOCOL_TCP        6
#define IP_PROTOCOL_UDP        17

// QEMU's user network: the host, and the guest (us).
static const uint8_t host_ip[4] = { 10, 0, 2, 2 };
static const uint8_t guest_ip[4] = { 10, 0, 2, 15 };

// The pseudo-header's sum for a TCP or UDP segment of `segment_length`
// bytes: source and destination address, protocol, length.
static uint16_t pseudo_header_sum(const uint8_t *ip, uint8_t protocol, size_t segment_length)
{
    uint8_t pseudo[12];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = protocol;
    put_big_endian_16(pseudo + 10, (uint32_t)segment_length);
    return internet_sum(pseudo, sizeof pseudo, 0);
}

// An IPv4 packet from the host to us in an Ethernet frame, the way a stack
// asking for checksum offload hands it to the driver: the IPv4 header whole
// (its checksum is the stack's), `ip_option_words` 4-byte words of IPv4
// options (NOPs) moving the transport header back, a TCP, UDP or ICMP echo
// header, and `payload_length` bytes that differ with `sequence`. The
// transport checksum field holds what the device is to start from: the
// pseudo-header's sum, folded and not complemented (ICMP has none: 0).
// Returns the frame's length; *checksum says where the field is.
static size_t make_ip_frame(uint8_t *frame, uint8_t protocol, size_t ip_option_words, size_t payload_length,
                            uint32_t sequence, struct e1000_transmit_checksum *checksum)
{
    static const uint8_t host_mac[6] = { 0x52, 0x55, 0x0A, 0x00, 0x02, 0x02 };
    size_t ip_header_length = 20 + 4 * ip_option_words;
    size_t transport_header_length = protocol == IP_PROTOCOL_TCP ? 20 : 8;   // UDP, ICMP echo: 8
    size_t segment_length = transport_header_length + payload_length;
    size_t length = ETHERNET_HEADER_LENGTH + ip_header_length + segment_length;
    ck_assert_uint_le(ip_header_length, 60);
    ck_assert_uint_le(length, 1514);
    memset(frame, 0, length);

    memcpy(frame, qemu_mac, 6);
    memcpy(frame + 6, host_mac, 6);
    put_big_endian_16(frame + 12, 0x0800);   // IPv4

    uint8_t *ip = frame + ETHERNET_HEADER_LENGTH;
    ip[0] = (uint8_t)(0x40 | ip_header_length / 4);
    put_big_endian_16(ip + 2, (uint32_t)(ip_header_length + segment_length));
    put_big_endian_16(ip + 4, sequence);     // identification
    put_big_endian_16(ip + 6, 0x4000);       // don't fragment
    ip[8] = 64;                              // time to live
    ip[9] = protocol;
    memcpy(ip + 12, host_ip, 4);
    memcpy(ip + 16, guest_ip, 4);
    memset(ip + 20, 1, ip_header_length - 20);   // NOP options
    put_big_endian_16(ip + 10, (uint16_t)~internet_sum(ip, ip_header_length, 0));

    uint8_t *segment = ip + ip_header_length;
    uint8_t *payload = segment + transport_header_length;
    for (size_t i = 0; i < payload_length; i++)
        payload[i] = (uint8_t)(sequence * 29 + i * 13 + (i >> 7));
    size_t field;
    switch (protocol) {
    case IP_PROTOCOL_TCP:
        put_big_endian_16(segment, 40000 + sequence % 1000);   // source port
        put_big_endian_16(segment + 2, 50051);                 // destination port
        put_big_endian_16(segment + 4, sequence);              // sequence number, high half
        put_big_endian_16(segment + 8, 0x1234);                // acknowledgement number, high half
        segment[12] = 5 << 4;                                  // data offset: 20 bytes
        segment[13] = 0x18;                                    // ACK, PSH
        put_big_endian_16(segment + 14, 0xFFFF);               // window
        field = 16;
        break;
    case IP_PROTOCOL_UDP:
        put_big_endian_16(segment, 5353);
        put_big_endian_16(segment + 2, 40000 + sequence % 1000);
        put_big_endian_16(segment + 4, (uint32_t)segment_length);
        field = 6;
        break;
    default:   // ICMP echo request
        segment[0] = 8;
        put_big_endian_16(segment + 4, 0xBEEF);   // identifier
        put_big_endian_16(segment + 6, sequence);
        field = 2;
        break;
    }
    if (protocol != IP_PROTOCOL_ICMP)
        put_big_endian_16(segment + field, pseudo_header_sum(ip, protocol, segment_length));
    checksum->start = (uint8_t)(ETHERNET_HEADER_LENGTH + ip_header_length);
    checksum->offset = (uint8_t)field;
    return length;
}

// What the stack would have stored without offload: the complement of the
// sum from `start` to the frame's end, the seeded field included; 0 as
// 0xFFFF, which UDP requires (0 says "no checksum") and TCP accepts.
static void finish_checksum_in_software(uint8_t *frame, size_t length, const struct e1000_transmit_checksum *checksum)
{
    uint16_t result = (uint16_t)~internet_sum(frame + checksum->start, length - checksum->start, 0);
    put_big_endian_16(frame + checksum->start + checksum->offset, result == 0 ? 0xFFFF : result);
}

// What a receiver checks: the IPv4 header sums to 0xFFFF, and so does the
// TCP or UDP segment with its pseudo-header (ICMP: the message alone), the
// lengths taken from the IPv4 header, so that padding after the packet is
// ignored. A UDP checksum of 0 is "none" and fails here: one was asked for.
static bool ip_header_checksum_is_right(const uint8_t *frame)
{
    const uint8_t *ip = frame + ETHERNET_HEADER_LENGTH;
    return internet_sum(ip, (ip[0] & 0x0Fu) * 4, 0) == 0xFFFF;
}

static bool transport_checksum_is_right(const uint8_t *frame, size_t length)
{
    const uint8_t *ip = frame + ETHERNET_HEADER_LENGTH;
    size_t ip_header_length = (ip[0] & 0x0Fu) * 4;
    size_t total_length = get_big_endian_16(ip + 2);
    ck_assert_uint_le(ETHERNET_HEADER_LENGTH + total_length, length);
    const uint8_t *segment = ip + ip_header_length;
    size_t segment_length = total_length - ip_header_length;
    uint8_t protocol = ip[9];
    if (protocol == IP_PROTOCOL_ICMP)
        return internet_sum(segment, segment_length, 0) == 0xFFFF;
    if (protocol == IP_PROTOCOL_UDP && get_big_endian_16(segment + 6) == 0)
        return false;
    return internet_sum(segment, segment_length, pseudo_header_sum(ip, protocol, segment_length)) == 0xFFFF;
}

// The frames the transmit tests mix: legacy ones (make_frame, no checksum
// asked for) and offloaded ones of three layouts, TCP and UDP behind a
// plain IPv4 header (start 34, field at 16 and 6 after it) and TCP behind
// twelve bytes of IPv4 options (start 46).
enum frame_kind { FRAME_LEGACY, FRAME_TCP, FRAME_UDP, FRAME_TCP_AFTER_IP_OPTIONS };

static size_t make_frame_of_kind(uint8_t *frame, enum frame_kind kind, uint32_t sequence,
                                 struct e1000_transmit_checksum *checksum)
{
    switch (kind) {
    case FRAME_TCP:
        return make_ip_frame(frame, IP_PROTOCOL_TCP, 0, (sequence * 389) % (1460 + 1), sequence, checksum);
    case FRAME_UDP:
        return make_ip_frame(frame, IP_PROTOCOL_UDP, 0, (sequence * 389) % (1472 + 1), sequence, checksum);
    case FRAME_TCP_AFTER_IP_OPTIONS:
        return make_ip_frame(frame, IP_PROTOCOL_TCP, 3, (sequence * 389) % (1448 + 1), sequence, checksum);
    default:
        make_frame(frame, length_for(sequence), sequence);
        return length_for(sequence);
    }
}

static bool transmit_frame_of_kind(enum frame_kind kind, uint32_t sequence)
{
    uint8_t frame[E1000_BUFFER_SIZE];
    struct e1000_transmit_checksum checksum;
    size_t length = make_frame_of_kind(frame, kind, sequence, &checksum);
    return e1000_transmit(&nic, frame, length, kind == FRAME_LEGACY ? NULL : &checksum);
}

// The frame of `kind` and `sequence` as it must leave the device: a legacy
// one byte for byte, an offloaded one byte for byte but for its checksum,
// which is what the stack would have computed and which a receiver accepts.
static void assert_sent_of_kind(const struct fake_e1000_frame *sent, enum frame_kind kind, uint32_t sequence)
{
    if (kind == FRAME_LEGACY) {
        ck_assert_msg(!sent->tcp_udp_checksum_inserted, "legacy frame %u got a checksum inserted", sequence);
        assert_sent(sent, sequence);
        return;
    }
    uint8_t expected[E1000_BUFFER_SIZE];
    struct e1000_transmit_checksum checksum;
    size_t length = make_frame_of_kind(expected, kind, sequence, &checksum);
    finish_checksum_in_software(expected, length, &checksum);
    ck_assert_msg(sent->tcp_udp_checksum_inserted, "frame %u went out without its checksum", sequence);
    ck_assert_uint_eq(sent->length, length < 60 ? 60 : length);
    ck_assert_msg(memcmp(sent->bytes, expected, length) == 0, "frame %u (kind %d) differs", sequence, kind);
    for (size_t i = length; i < sent->length; i++)
        ck_assert_msg(sent->bytes[i] == 0, "frame %u: padding byte %zu is %#x", sequence, i, sent->bytes[i]);
    ck_assert_msg(ip_header_checksum_is_right(sent->bytes), "frame %u: IPv4 header checksum wrong", sequence);
    ck_assert_msg(transport_checksum_is_right(sent->bytes, sent->length), "frame %u: checksum %#06x wrong",
                  sequence, get_big_endian_16(sent->bytes + checksum.start + checksum.offset));
}

// ---- Checksum offload: transmitting ------------------------------------------------

START_TEST(init_turns_on_receive_checksum_offload)
{
    start();
    // The IPv4 header and TCP/UDP checksums, and no raw packet checksum start (PCSS 0).
    ck_assert_uint_eq(peek(E1000_RXCSUM), E1000_RXCSUM_IPOFLD | E1000_RXCSUM_TUOFLD);
    ck_assert(!nic.transmit_context_loaded);   // a device just reset holds no context
    assert_no_violations();
}
END_TEST

START_TEST(offload_queues_a_context_then_a_data_descriptor)
{
    start();
    uint8_t frame[E1000_BUFFER_SIZE];
    struct e1000_transmit_checksum checksum;
    size_t length = make_frame_of_kind(frame, FRAME_TCP, 1, &checksum);
    ck_assert_uint_eq(checksum.start, 34);
    ck_assert_uint_eq(checksum.offset, 16);
    ck_assert(e1000_transmit(&nic, frame, length, &checksum));
    ck_assert_uint_eq(peek(E1000_TDT), 2);
    ck_assert_uint_eq(nic.counters.transmit_contexts, 1);
    ck_assert_uint_eq(nic.counters.transmit_checksum_offloaded, 1);

    // Descriptor 0: the context. TCP/UDP checksum from byte 34, stored at
    // byte 50, to the frame's end; no IPv4 header checksum, no segmentation.
    const struct e1000_transmit_context_descriptor *context =
        (const struct e1000_transmit_context_descriptor *)&transmit_ring()[0];
    ck_assert_uint_eq(context->checksum_start, 34);
    ck_assert_uint_eq(context->checksum_offset, 50);
    ck_assert_uint_eq(context->checksum_end, 0);
    ck_assert_uint_eq(context->ip_checksum_start, 0);
    ck_assert_uint_eq(context->ip_checksum_offset, 0);
    ck_assert_uint_eq(context->ip_checksum_end, 0);
    ck_assert_uint_eq(context->payload_length[2] >> 4, 0);   // DTYP 0: context
    ck_assert_uint_eq(context->command, E1000_TRANSMIT_COMMAND_DEXT | E1000_TRANSMIT_COMMAND_RS);
    ck_assert_uint_eq(context->status, 0);

    // Descriptor 1: the frame, in an extended data descriptor asking for the checksum.
    const struct e1000_transmit_data_descriptor *data =
        (const struct e1000_transmit_data_descriptor *)&transmit_ring()[1];
    ck_assert_ptr_nonnull(fake_dma_find(&dma, data->buffer_address, length));
    ck_assert_uint_eq(data->length, length);
    ck_assert_uint_eq(data->type_length, E1000_TRANSMIT_DTYP_DATA);
    ck_assert_uint_eq(data->command, E1000_TRANSMIT_COMMAND_DEXT | E1000_TRANSMIT_COMMAND_EOP |
                                     E1000_TRANSMIT_COMMAND_IFCS | E1000_TRANSMIT_COMMAND_RS);
    ck_assert_uint_eq(data->options, E1000_TRANSMIT_OPTION_TXSM);
    ck_assert_uint_eq(data->status, 0);

    ck_assert_uint_eq(fake_e1000_transmit(device, SIZE_MAX), 1);
    ck_assert_uint_eq(device->transmit_contexts_loaded, 1);
    ck_assert_uint_eq(device->transmit_checksums_inserted, 1);
    assert_sent_of_kind(&device->sent[0], FRAME_TCP, 1);
    ck_assert(!device->sent[0].ip_checksum_inserted);
    // Both written back; reclaiming takes both and counts one frame.
    ck_assert(transmit_ring()[0].status & E1000_TRANSMIT_STATUS_DD);
    ck_assert(transmit_ring()[1].status & E1000_TRANSMIT_STATUS_DD);
    ck_assert_uint_eq(e1000_transmit_reclaim(&nic), 2);
    ck_assert_uint_eq(nic.counters.transmitted_frames, 1);
    ck_assert_uint_eq(nic.counters.transmitted_bytes, length);
    ck_assert_uint_eq(transmit_ring()[0].status, 0);
    ck_assert_uint_eq(transmit_ring()[1].status, 0);
    assert_no_violations();
}
END_TEST

// Sends frames of one kind with the given payload lengths, checks each on
// the wire, then loops it back into the receiver, whose checksum check
// (the fake's, as the 8254x does it) must accept it too.
static void offload_round_trip(uint8_t protocol, size_t ip_option_words, const size_t *payload_lengths,
                               size_t count)
{
    start();
    for (uint32_t i = 0; i < count; i++) {
        uint8_t frame[E1000_BUFFER_SIZE];
        struct e1000_transmit_checksum checksum;
        size_t length = make_ip_frame(frame, protocol, ip_option_words, payload_lengths[i], i, &checksum);
        uint8_t expected[E1000_BUFFER_SIZE];
        memcpy(expected, frame, length);
        finish_checksum_in_software(expected, length, &checksum);
        ck_assert_msg(e1000_transmit(&nic, frame, length, &checksum), "payload %zu refused", payload_lengths[i]);
        ck_assert_uint_eq(fake_e1000_transmit(device, SIZE_MAX), 1);

        const struct fake_e1000_frame *sent = &device->sent[i];
        ck_assert(sent->tcp_udp_checksum_inserted);
        ck_assert_uint_eq(sent->length, length < 60 ? 60 : length);
        ck_assert_msg(memcmp(sent->bytes, expected, length) == 0, "payload %zu: frame differs", payload_lengths[i]);
        ck_assert_msg(transport_checksum_is_right(sent->bytes, sent->length), "payload %zu: checksum %#06x wrong",
                      payload_lengths[i], get_big_endian_16(sent->bytes + checksum.start + checksum.offset));

        ck_assert_uint_eq(fake_e1000_receive(device, sent->bytes, sent->length), FAKE_E1000_RECEIVED);
        ck_assert_uint_eq(e1000_receive(&nic, record_delivery, delivered, 1), 1);
        ck_assert_uint_eq(delivered->verified[i], E1000_VERIFIED_IPV4_HEADER | E1000_VERIFIED_TCP_UDP);
    }
    ck_assert_uint_eq(nic.counters.transmit_contexts, 1);   // one layout throughout
    ck_assert_uint_eq(nic.counters.transmit_checksum_offloaded, count);
    ck_assert_uint_eq(e1000_transmit_reclaim(&nic), count + 1);
    ck_assert_uint_eq(nic.counters.transmitted_frames, count);
    ck_assert_uint_eq(nic.counters.receive_checksum_verified, count);
    ck_assert_uint_eq(nic.counters.receive_checksum_errors, 0);
    assert_no_violations();
}

START_TEST(offloaded_tcp_checksum_is_right)
{
    // Empty (a bare ACK, padded on the wire), odd and even lengths, a full frame.
    static const size_t payloads[] = { 0, 1, 2, 3, 100, 513, 1024, 1459, 1460 };
    offload_round_trip(IP_PROTOCOL_TCP, 0, payloads, sizeof payloads / sizeof payloads[0]);
}
END_TEST

START_TEST(offloaded_tcp_checksum_after_ip_options_is_right)
{
    // The longest IPv4 header: forty bytes of options, the TCP header at 74.
    static const size_t payloads[] = { 0, 7, 1420 };
    offload_round_trip(IP_PROTOCOL_TCP, 10, payloads, sizeof payloads / sizeof payloads[0]);
}
END_TEST

START_TEST(offloaded_udp_checksum_is_right)
{
    static const size_t payloads[] = { 0, 1, 18, 37, 512, 1471, 1472 };
    offload_round_trip(IP_PROTOCOL_UDP, 0, payloads, sizeof payloads / sizeof payloads[0]);
}
END_TEST

// A UDP datagram whose checksum comes out as 0 must go out as 0xFFFF: 0
// would tell the receiver there is no checksum at all.
START_TEST(offloaded_udp_checksum_of_zero_goes_out_as_all_ones)
{
    start();
    uint8_t frame[E1000_BUFFER_SIZE];
    struct e1000_transmit_checksum checksum;
    size_t length = make_ip_frame(frame, IP_PROTOCOL_UDP, 0, 64, 5, &checksum);
    // Make the last payload word cancel the rest of the sum exactly.
    put_big_endian_16(frame + length - 2, 0);
    uint16_t rest = internet_sum(frame + checksum.start, length - checksum.start, 0);
    put_big_endian_16(frame + length - 2, (uint16_t)~rest);
    ck_assert_uint_eq(internet_sum(frame + checksum.start, length - checksum.start, 0), 0xFFFF);

    ck_assert(e1000_transmit(&nic, frame, length, &checksum));
    ck_assert_uint_eq(fake_e1000_transmit(device, SIZE_MAX), 1);
    ck_assert_uint_eq(get_big_endian_16(device->sent[0].bytes + checksum.start + checksum.offset), 0xFFFF);
    ck_assert(transport_checksum_is_right(device->sent[0].bytes, device->sent[0].length));
    assert_no_violations();
}
END_TEST

// The driver writes a context descriptor only when the layout changes:
// frames without a checksum leave the device's context alone, so they do
// not make the next offloaded frame pay for a new one.
START_TEST(checksum_context_is_written_only_when_the_layout_changes)
{
    start();
    static const struct {
        enum frame_kind kind;
        uint32_t frames;
        uint64_t contexts_after;   // nic.counters.transmit_contexts after them
    } steps[] = {
        { FRAME_TCP, 5, 1 },
        { FRAME_LEGACY, 2, 1 },
        { FRAME_TCP, 2, 1 },
        { FRAME_UDP, 3, 2 },
        { FRAME_LEGACY, 1, 2 },
        { FRAME_TCP, 1, 3 },
        { FRAME_TCP_AFTER_IP_OPTIONS, 2, 4 },
        { FRAME_TCP, 1, 5 },
    };
    enum frame_kind kinds[64];
    uint32_t sequence = 0, offloaded = 0;
    uint64_t bytes = 0;
    for (size_t step = 0; step < sizeof steps / sizeof steps[0]; step++) {
        for (uint32_t i = 0; i < steps[step].frames; i++, sequence++) {
            uint8_t frame[E1000_BUFFER_SIZE];
            struct e1000_transmit_checksum checksum;
            bytes += make_frame_of_kind(frame, steps[step].kind, sequence, &checksum);
            ck_assert(transmit_frame_of_kind(steps[step].kind, sequence));
            kinds[sequence] = steps[step].kind;
            offloaded += steps[step].kind != FRAME_LEGACY;
        }
        ck_assert_msg(nic.counters.transmit_contexts == steps[step].contexts_after,
                      "step %zu: %llu contexts, expected %llu", step,
                      (unsigned long long)nic.counters.transmit_contexts,
                      (unsigned long long)steps[step].contexts_after);
    }
    ck_assert_uint_eq(nic.counters.transmit_checksum_offloaded, offloaded);
    ck_assert_uint_eq(peek(E1000_TDT), sequence + 5);   // a descriptor per frame and per context

    ck_assert_uint_eq(fake_e1000_transmit(device, SIZE_MAX), sequence);
    ck_assert_uint_eq(device->transmit_contexts_loaded, 5);
    ck_assert_uint_eq(device->transmit_checksums_inserted, offloaded);
    for (uint32_t i = 0; i < sequence; i++)
        assert_sent_of_kind(&device->sent[i], kinds[i], i);

    // Reclaiming takes back contexts and frames and counts only the frames.
    ck_assert_uint_eq(e1000_transmit_reclaim(&nic), sequence + 5);
    ck_assert_uint_eq(nic.counters.transmitted_frames, sequence);
    ck_assert_uint_eq(nic.counters.transmitted_bytes, bytes);
    ck_assert_uint_eq(nic.counters.transmit_errors, 0);
    assert_no_violations();
}
END_TEST

// A reset device forgets its context, so e1000_init must make the driver
// forget it too: the first offloaded frame after it takes a new context
// descriptor (the fake records a violation for a checksum asked for with
// no context loaded).
START_TEST(reinit_forgets_the_checksum_context)
{
    start();
    ck_assert(transmit_frame_of_kind(FRAME_TCP, 0));
    ck_assert_uint_eq(fake_e1000_transmit(device, SIZE_MAX), 1);
    ck_assert_uint_eq(e1000_transmit_reclaim(&nic), 2);

    start();
    ck_assert_uint_eq(device->resets, 2);
    ck_assert(!device->transmit_context_loaded);
    ck_assert(transmit_frame_of_kind(FRAME_TCP, 1));
    ck_assert_uint_eq(nic.counters.transmit_contexts, 1);
    ck_assert_uint_eq(peek(E1000_TDT), 2);
    ck_assert_uint_eq(fake_e1000_transmit(device, SIZE_MAX), 1);
    assert_sent_of_kind(&device->sent[1], FRAME_TCP, 1);
    ck_assert_uint_eq(device->transmit_contexts_loaded, 2);
    assert_no_violations();
}
END_TEST

// What went into the ring, in order, for checking what came out.
struct transmit_log {
    uint32_t count;
    enum frame_kind kinds[1024];
};

static bool transmit_logged(struct transmit_log *log, enum frame_kind kind)
{
    ck_assert_uint_lt(log->count, sizeof log->kinds / sizeof log->kinds[0]);
    if (!transmit_frame_of_kind(kind, log->count))
        return false;
    log->kinds[log->count++] = kind;
    return true;
}

static void assert_all_sent(const struct transmit_log *log)
{
    ck_assert_uint_eq(device->sent_count, log->count);
    for (uint32_t i = 0; i < log->count; i++)
        assert_sent_of_kind(&device->sent[i], log->kinds[i], i);
}

// A frame that needs a new context needs two descriptors, and goes in
// whole or not at all: with one free it is refused and nothing of it is
// queued (no context descriptor without its frame, and the driver's idea
// of the device's context unchanged), while a frame under the loaded
// layout, or without a checksum, still fits.
START_TEST(new_context_needs_two_free_descriptors)
{
    start();
    struct transmit_log log = { 0 };
    ck_assert(transmit_logged(&log, FRAME_TCP));   // context and frame: 2 descriptors
    while (peek(E1000_TDT) < E1000_TRANSMIT_DESCRIPTORS - 2)
        ck_assert(transmit_logged(&log, FRAME_LEGACY));
    // 254 descriptors in flight, one free (and the one that always stays empty).

    ck_assert(!transmit_logged(&log, FRAME_UDP));
    ck_assert_uint_eq(nic.counters.transmit_ring_full, 1);
    ck_assert_uint_eq(nic.counters.transmit_bad_length, 0);
    ck_assert_uint_eq(peek(E1000_TDT), E1000_TRANSMIT_DESCRIPTORS - 2);
    ck_assert_uint_eq(nic.counters.transmit_contexts, 1);
    ck_assert_uint_eq(nic.counters.transmit_checksum_offloaded, 1);
    ck_assert_uint_eq(nic.transmit_context.offset, 16);   // still TCP's

    ck_assert(transmit_logged(&log, FRAME_TCP));   // the loaded layout: one descriptor
    ck_assert_uint_eq(peek(E1000_TDT), E1000_TRANSMIT_DESCRIPTORS - 1);
    ck_assert_uint_eq(nic.counters.transmit_contexts, 1);
    ck_assert(!transmit_logged(&log, FRAME_LEGACY));   // now full for everything
    ck_assert(!transmit_logged(&log, FRAME_TCP));
    ck_assert_uint_eq(nic.counters.transmit_ring_full, 3);

    // The device sends the first frame: its context and data descriptors
    // come free. Transmit reclaims them by itself.
    ck_assert_uint_eq(fake_e1000_transmit(device, 1), 1);
    ck_assert_uint_eq(peek(E1000_TDH), 2);
    ck_assert(transmit_logged(&log, FRAME_LEGACY));   // one free again
    ck_assert_uint_eq(peek(E1000_TDT), 0);            // wrapped
    ck_assert_uint_eq(nic.counters.transmitted_frames, 1);
    ck_assert(!transmit_logged(&log, FRAME_UDP));
    ck_assert_uint_eq(nic.counters.transmit_ring_full, 4);
    ck_assert_uint_eq(peek(E1000_TDT), 0);
    ck_assert(transmit_logged(&log, FRAME_LEGACY));
    ck_assert_uint_eq(peek(E1000_TDT), 1);

    // Room again: the UDP frame goes in with its context, at 1 and 2.
    ck_assert_uint_eq(fake_e1000_transmit(device, SIZE_MAX), log.count - 1);
    ck_assert(transmit_logged(&log, FRAME_UDP));
    ck_assert_uint_eq(nic.counters.transmit_contexts, 2);
    ck_assert_uint_eq(peek(E1000_TDT), 3);
    const struct e1000_transmit_context_descriptor *context =
        (const struct e1000_transmit_context_descriptor *)&transmit_ring()[1];
    ck_assert_uint_eq(context->checksum_offset, 34 + 6);
    ck_assert_uint_eq(fake_e1000_transmit(device, SIZE_MAX), 1);

    assert_all_sent(&log);
    ck_assert_uint_eq(device->transmit_contexts_loaded, 2);
    e1000_transmit_reclaim(&nic);
    ck_assert_uint_eq(nic.counters.transmitted_frames, log.count);
    ck_assert_uint_eq(peek(E1000_TDH), peek(E1000_TDT));
    assert_no_violations();
}
END_TEST

// Legacy, context and data descriptors in one ring, several times round:
// a descriptor slot is a context one time and a legacy descriptor the
// next, so whatever the driver writes must leave nothing of what the slot
// held before; and a context descriptor in the ring's last slot has its
// frame in slot 0.
START_TEST(mixed_descriptors_wrap_around)
{
    start();
    static const enum frame_kind pattern[] = {
        FRAME_TCP, FRAME_TCP, FRAME_UDP, FRAME_LEGACY, FRAME_TCP_AFTER_IP_OPTIONS, FRAME_TCP,
        FRAME_LEGACY, FRAME_LEGACY, FRAME_UDP, FRAME_UDP, FRAME_TCP,
    };
    static const uint32_t batches[] = { 1, 7, 127, 100, 31, 64, 126, 3, 99, 127, 64, 17, 2, 5 };
    const uint32_t total = 4 * E1000_TRANSMIT_DESCRIPTORS + 17;
    uint32_t queued = 0, checked = 0, contexts_in_last_slot = 0;
    uint64_t descriptors = 0;

    for (size_t b = 0; queued < total; b = (b + 1) % (sizeof batches / sizeof batches[0])) {
        // At most two descriptors a frame: 127 frames always fit an empty ring.
        uint32_t batch = batches[b] < total - queued ? batches[b] : total - queued;
        uint64_t contexts_before = nic.counters.transmit_contexts;
        for (uint32_t i = 0; i < batch; i++, queued++) {
            uint32_t slot = nic.transmit_next;
            uint64_t contexts = nic.counters.transmit_contexts;
            ck_assert_msg(transmit_frame_of_kind(pattern[queued % 11], queued), "frame %u refused", queued);
            if (nic.counters.transmit_contexts != contexts && slot == E1000_TRANSMIT_DESCRIPTORS - 1)
                contexts_in_last_slot++;
        }
        uint64_t batch_descriptors = batch + (nic.counters.transmit_contexts - contexts_before);
        descriptors += batch_descriptors;
        ck_assert_uint_eq(fake_e1000_transmit(device, SIZE_MAX), batch);
        for (size_t i = 0; i < device->sent_count; i++, checked++)
            assert_sent_of_kind(&device->sent[i], pattern[checked % 11], checked);
        fake_e1000_forget_sent(device);
        ck_assert_uint_eq(e1000_transmit_reclaim(&nic), batch_descriptors);
    }
    ck_assert_uint_eq(checked, total);
    ck_assert_uint_gt(contexts_in_last_slot, 0);
    ck_assert_uint_gt(descriptors, 4 * E1000_TRANSMIT_DESCRIPTORS);
    ck_assert_uint_eq(nic.counters.transmitted_frames, total);
    ck_assert_uint_eq(nic.counters.transmit_contexts, device->transmit_contexts_loaded);
    ck_assert_uint_eq(nic.counters.transmit_checksum_offloaded, device->transmit_checksums_inserted);
    ck_assert_uint_eq(peek(E1000_TDT), descriptors % E1000_TRANSMIT_DESCRIPTORS);
    ck_assert_uint_eq(peek(E1000_TDH), peek(E1000_TDT));
    assert_no_violations();
}
END_TEST

// The checksum field must lie inside the frame, and its place must fit the
// context descriptor's one byte (TUCSO). A refused frame queues nothing,
// costs no context and leaves the driver's idea of the context alone.
START_TEST(bad_checksum_layouts_are_refused)
{
    start();
    static uint8_t frame[E1000_BUFFER_SIZE + 1];
    make_frame(frame, sizeof frame, 3);
    static const struct {
        struct e1000_transmit_checksum checksum;
        size_t length;
        bool accepted;
    } cases[] = {
        { { 34, 16 }, 51, false },      // the field's second byte is past the end
        { { 34, 16 }, 52, true },       // the field is the frame's last two bytes
        { { 200, 10 }, 100, false },    // starts past the end
        { { 250, 6 }, 1000, false },    // stored at 256: beyond TUCSO
        { { 1, 255 }, 1000, false },
        { { 255, 0 }, 300, true },      // stored at 255: the last place TUCSO can say
        { { 1, 255 }, 1000, false },    // refused after an accepted one: no new context either
        { { 255, 0 }, 400, true },      // same layout again: no new context
        { { 34, 16 }, E1000_FRAME_MINIMUM - 1, false },
        { { 34, 16 }, E1000_BUFFER_SIZE + 1, false },
        { { 0, 12 }, E1000_FRAME_MINIMUM, true },   // the EtherType as the field: the shortest frame
    };
    uint64_t refused = 0, accepted = 0;
    uint32_t descriptors = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t contexts = nic.counters.transmit_contexts;
        bool result = e1000_transmit(&nic, frame, cases[i].length, &cases[i].checksum);
        ck_assert_msg(result == cases[i].accepted, "case %zu: {%u, %u} on %zu bytes %s", i,
                      cases[i].checksum.start, cases[i].checksum.offset, cases[i].length,
                      result ? "accepted" : "refused");
        if (result) {
            accepted++;
            descriptors += 1 + (uint32_t)(nic.counters.transmit_contexts - contexts);
        } else {
            refused++;
            ck_assert_uint_eq(nic.counters.transmit_contexts, contexts);
        }
        ck_assert_uint_eq(nic.counters.transmit_bad_length, refused);
        ck_assert_uint_eq(peek(E1000_TDT), descriptors);
    }
    ck_assert_uint_eq(nic.counters.transmit_contexts, 3);   // {34, 16}, {255, 0}, {0, 12}
    ck_assert_uint_eq(nic.counters.transmit_ring_full, 0);

    // The accepted ones go out with the checksum where they asked for it.
    ck_assert_uint_eq(fake_e1000_transmit(device, SIZE_MAX), accepted);
    size_t sent = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!cases[i].accepted)
            continue;
        uint8_t expected[E1000_BUFFER_SIZE];
        memcpy(expected, frame, cases[i].length);
        finish_checksum_in_software(expected, cases[i].length, &cases[i].checksum);
        ck_assert(device->sent[sent].tcp_udp_checksum_inserted);
        ck_assert_msg(memcmp(device->sent[sent].bytes, expected, cases[i].length) == 0, "case %zu differs", i);
        sent++;
    }
    assert_no_violations();
}
END_TEST

// ---- Checksum offload: receiving --------------------------------------------------

// A frame arrives with the given status and error bits; returns the
// `verified` it was delivered with.
static unsigned arrive_with_status(const uint8_t *frame, size_t length, uint8_t status, uint8_t errors)
{
    size_t before = delivered->count;
    ck_assert_uint_eq(fake_e1000_receive_with_checksum_status(device, frame, length, status, errors),
                      FAKE_E1000_RECEIVED);
    ck_assert_uint_eq(e1000_receive(&nic, record_delivery, delivered, 10), 1);
    ck_assert_uint_eq(delivered->count, before + 1);
    ck_assert_uint_eq(delivered->lengths[before], length);
    ck_assert_msg(memcmp(delivered->frames[before], frame, length) == 0, "frame %zu differs", before);
    return delivered->verified[before];
}

// A TCP/IPv4 frame as it comes from the wire: checksums complete.
static size_t make_received_frame(uint8_t *frame, uint8_t protocol, size_t payload_length, uint32_t sequence)
{
    struct e1000_transmit_checksum checksum;
    size_t length = make_ip_frame(frame, protocol, 0, payload_length, sequence, &checksum);
    finish_checksum_in_software(frame, length, &checksum);
    return length;
}

START_TEST(verified_checksums_are_reported)
{
    start();
    uint8_t frame[E1000_BUFFER_SIZE];
    size_t length = make_received_frame(frame, IP_PROTOCOL_TCP, 200, 1);
    ck_assert_uint_eq(arrive_with_status(frame, length, E1000_RECEIVE_STATUS_IPCS | E1000_RECEIVE_STATUS_TCPCS, 0),
                      E1000_VERIFIED_IPV4_HEADER | E1000_VERIFIED_TCP_UDP);
    ck_assert_uint_eq(nic.counters.receive_checksum_verified, 1);
    // Nothing checked, nothing said.
    ck_assert_uint_eq(arrive_with_status(frame, length, 0, 0), 0);
    ck_assert_uint_eq(nic.counters.receive_checksum_verified, 1);
    ck_assert_uint_eq(nic.counters.receive_checksum_errors, 0);
    ck_assert_uint_eq(nic.counters.received_frames, 2);
    assert_no_violations();
}
END_TEST

START_TEST(wrong_checksums_are_delivered_unverified)
{
    start();
    uint8_t frame[E1000_BUFFER_SIZE];
    size_t length = make_received_frame(frame, IP_PROTOCOL_TCP, 300, 2);
    const uint8_t both = E1000_RECEIVE_STATUS_IPCS | E1000_RECEIVE_STATUS_TCPCS;

    // The stack gets the frame and checks it itself.
    ck_assert_uint_eq(arrive_with_status(frame, length, both, E1000_RECEIVE_ERROR_TCPE), E1000_VERIFIED_IPV4_HEADER);
    ck_assert_uint_eq(nic.counters.receive_checksum_errors, 1);
    ck_assert_uint_eq(arrive_with_status(frame, length, both, E1000_RECEIVE_ERROR_IPE), E1000_VERIFIED_TCP_UDP);
    ck_assert_uint_eq(nic.counters.receive_checksum_errors, 2);
    ck_assert_uint_eq(arrive_with_status(frame, length, both, E1000_RECEIVE_ERROR_IPE | E1000_RECEIVE_ERROR_TCPE), 0);
    ck_assert_uint_eq(nic.counters.receive_checksum_errors, 3);

    ck_assert_uint_eq(nic.counters.receive_checksum_verified, 1);   // the IPE one's TCP checksum
    ck_assert_uint_eq(nic.counters.received_frames, 3);
    ck_assert_uint_eq(nic.counters.receive_errors, 0);   // not bad frames: bad checksums
    assert_no_violations();
}
END_TEST

START_TEST(ipv4_header_alone_is_verified_for_icmp)
{
    start();
    uint8_t frame[E1000_BUFFER_SIZE];
    size_t length = make_received_frame(frame, IP_PROTOCOL_ICMP, 56, 3);   // ping's default size
    ck_assert(transport_checksum_is_right(frame, length));
    ck_assert_uint_eq(arrive_with_status(frame, length, E1000_RECEIVE_STATUS_IPCS, 0), E1000_VERIFIED_IPV4_HEADER);
    ck_assert_uint_eq(nic.counters.receive_checksum_verified, 0);   // that counts TCP/UDP only
    ck_assert_uint_eq(nic.counters.receive_checksum_errors, 0);
    assert_no_violations();
}
END_TEST

// QEMU checks nothing and sets IXSM in every frame, which overrules
// whatever else the descriptor says.
START_TEST(ignore_checksum_indication_verifies_nothing)
{
    start();
    uint8_t frame[E1000_BUFFER_SIZE];
    size_t length = make_received_frame(frame, IP_PROTOCOL_TCP, 100, 4);
    const uint8_t both = E1000_RECEIVE_STATUS_IPCS | E1000_RECEIVE_STATUS_TCPCS;
    ck_assert_uint_eq(arrive_with_status(frame, length, E1000_RECEIVE_STATUS_IXSM, 0), 0);
    ck_assert_uint_eq(arrive_with_status(frame, length, E1000_RECEIVE_STATUS_IXSM | both, 0), 0);
    ck_assert_uint_eq(arrive_with_status(frame, length, E1000_RECEIVE_STATUS_IXSM | both, E1000_RECEIVE_ERROR_TCPE),
                      0);

    // The fake as QEMU: a good frame and a corrupt one, both unverified.
    device->receive_ignores_checksums = true;
    ck_assert_uint_eq(fake_e1000_receive(device, frame, length), FAKE_E1000_RECEIVED);
    frame[length - 1] ^= 0xFF;
    ck_assert_uint_eq(fake_e1000_receive(device, frame, length), FAKE_E1000_RECEIVED);
    ck_assert_uint_eq(e1000_receive(&nic, record_delivery, delivered, 10), 2);
    ck_assert_uint_eq(delivered->count, 5);
    ck_assert_uint_eq(delivered->verified[3], 0);
    ck_assert_uint_eq(delivered->verified[4], 0);

    ck_assert_uint_eq(nic.counters.receive_checksum_verified, 0);
    ck_assert_uint_eq(nic.counters.receive_checksum_errors, 0);   // IXSM: the error bits mean nothing either
    ck_assert_uint_eq(nic.counters.received_frames, 5);
    assert_no_violations();
}
END_TEST

// The fake as an 8254x: it checks what RXCSUM asks for in the frames
// themselves. What the driver delivers must follow from the bytes.
START_TEST(device_checks_received_checksums_itself)
{
    start();
    const unsigned both = E1000_VERIFIED_IPV4_HEADER | E1000_VERIFIED_TCP_UDP;
    uint8_t frame[E1000_BUFFER_SIZE];
    struct {
        size_t length;
        unsigned verified;
        const char *what;
    } expected[16];
    size_t count = 0;
#define ARRIVES(bits, description)                                                              \
    do {                                                                                        \
        ck_assert_uint_eq(fake_e1000_receive(device, frame, length), FAKE_E1000_RECEIVED);     \
        expected[count].length = length;                                                        \
        expected[count].verified = (bits);                                                      \
        expected[count].what = (description);                                                   \
        count++;                                                                                \
    } while (0)

    size_t length = make_received_frame(frame, IP_PROTOCOL_TCP, 1000, 10);
    ARRIVES(both, "TCP");
    length = make_received_frame(frame, IP_PROTOCOL_UDP, 333, 11);
    ARRIVES(both, "UDP");
    // A bare ACK, padded to the Ethernet minimum by its sender.
    length = make_received_frame(frame, IP_PROTOCOL_TCP, 0, 12);
    ck_assert_uint_eq(length, 54);
    memset(frame + length, 0, 6);
    length = 60;
    ARRIVES(both, "padded TCP");
    length = make_received_frame(frame, IP_PROTOCOL_ICMP, 56, 13);
    ARRIVES(E1000_VERIFIED_IPV4_HEADER, "ICMP");
    length = make_received_frame(frame, IP_PROTOCOL_UDP, 20, 14);
    put_big_endian_16(frame + 34 + 6, 0);   // sent without a checksum
    ARRIVES(E1000_VERIFIED_IPV4_HEADER, "UDP without a checksum");
    length = make_received_frame(frame, IP_PROTOCOL_TCP, 500, 15);
    frame[300] ^= 0x40;   // a payload bit flipped on the way
    ARRIVES(E1000_VERIFIED_IPV4_HEADER, "TCP, payload corrupt");
    length = make_received_frame(frame, IP_PROTOCOL_TCP, 500, 16);
    frame[14 + 8]--;      // the TTL, not in the pseudo-header: only the IPv4 header checksum breaks
    ARRIVES(E1000_VERIFIED_TCP_UDP, "TCP, IPv4 header corrupt");
    length = make_received_frame(frame, IP_PROTOCOL_UDP, 100, 17);
    put_big_endian_16(frame + 14 + 6, 0x2000);   // more fragments: the datagram is not all here
    put_big_endian_16(frame + 14 + 10, 0);
    put_big_endian_16(frame + 14 + 10, (uint16_t)~internet_sum(frame + 14, 20, 0));
    ARRIVES(E1000_VERIFIED_IPV4_HEADER, "UDP fragment");
    length = length_for(18);
    make_frame(frame, length, 18);
    ARRIVES(0, "not IPv4");
#undef ARRIVES

    ck_assert_uint_eq(e1000_receive(&nic, record_delivery, delivered, 100), count);
    for (size_t i = 0; i < count; i++) {
        ck_assert_uint_eq(delivered->lengths[i], expected[i].length);
        ck_assert_msg(delivered->verified[i] == expected[i].verified, "%s: verified %#x, expected %#x",
                      expected[i].what, delivered->verified[i], expected[i].verified);
    }
    ck_assert_uint_eq(nic.counters.receive_checksum_verified, 4);   // TCP, UDP, padded TCP, TTL-corrupt TCP
    ck_assert_uint_eq(nic.counters.receive_checksum_errors, 2);
    ck_assert_uint_eq(nic.counters.received_frames, count);

    // Without RXCSUM's bits the device checks nothing (the driver always
    // sets them; this is why).
    device->registers[E1000_RXCSUM / 4] = 0;
    length = make_received_frame(frame, IP_PROTOCOL_TCP, 100, 19);
    ck_assert_uint_eq(fake_e1000_receive(device, frame, length), FAKE_E1000_RECEIVED);
    ck_assert_uint_eq(e1000_receive(&nic, record_delivery, delivered, 100), 1);
    ck_assert_uint_eq(delivered->verified[count], 0);
    assert_no_violations();
}
END_TEST

static Suite *e1000_suite(void)
{
    Suite *suite = suite_create("e1000");

    TCase *initialisation = tcase_create("initialisation");
    tcase_add_checked_fixture(initialisation, setup, teardown);
    tcase_set_timeout(initialisation, 60);
    tcase_add_test(initialisation, init_programs_the_device);
    tcase_add_test(initialisation, init_waits_for_a_slow_reset);
    tcase_add_test(initialisation, reset_that_never_finishes_fails);
    tcase_add_test(initialisation, mac_address_from_the_receive_address_registers);
    tcase_add_test(initialisation, mac_address_from_the_eeprom);
    tcase_add_test(initialisation, eeprom_that_never_answers_fails);
    tcase_add_test(initialisation, invalid_mac_addresses_are_refused);
    tcase_add_test(initialisation, allocation_failures_are_reported);
    tcase_add_test(initialisation, link_state_and_interrupt_control);
    suite_add_tcase(suite, initialisation);

    TCase *rings = tcase_create("rings");
    tcase_add_checked_fixture(rings, setup_with_log, teardown_with_log);
    tcase_set_timeout(rings, 60);
    tcase_add_test(rings, sent_frame_comes_out_byte_for_byte);
    tcase_add_test(rings, transmit_refuses_runts_and_oversized_frames);
    tcase_add_test(rings, full_transmit_ring_refuses_until_reclaimed);
    tcase_add_test(rings, received_frames_are_delivered_in_order);
    tcase_add_test(rings, receive_budget_is_honoured);
    tcase_add_test(rings, undrained_receive_ring_makes_the_device_drop);
    tcase_add_test(rings, bad_frames_are_dropped_and_counted);
    tcase_add_test(rings, receive_is_bounded_by_the_ring);
    tcase_add_test(rings, rings_wrap_around);
    suite_add_tcase(suite, rings);

    TCase *checksums = tcase_create("checksums");
    tcase_add_checked_fixture(checksums, setup_with_log, teardown_with_log);
    tcase_set_timeout(checksums, 60);
    tcase_add_test(checksums, init_turns_on_receive_checksum_offload);
    tcase_add_test(checksums, offload_queues_a_context_then_a_data_descriptor);
    tcase_add_test(checksums, offloaded_tcp_checksum_is_right);
    tcase_add_test(checksums, offloaded_tcp_checksum_after_ip_options_is_right);
    tcase_add_test(checksums, offloaded_udp_checksum_is_right);
    tcase_add_test(checksums, offloaded_udp_checksum_of_zero_goes_out_as_all_ones);
    tcase_add_test(checksums, checksum_context_is_written_only_when_the_layout_changes);
    tcase_add_test(checksums, reinit_forgets_the_checksum_context);
    tcase_add_test(checksums, new_context_needs_two_free_descriptors);
    tcase_add_test(checksums, mixed_descriptors_wrap_around);
    tcase_add_test(checksums, bad_checksum_layouts_are_refused);
    tcase_add_test(checksums, verified_checksums_are_reported);
    tcase_add_test(checksums, wrong_checksums_are_delivered_unverified);
    tcase_add_test(checksums, ipv4_header_alone_is_verified_for_icmp);
    tcase_add_test(checksums, ignore_checksum_indication_verifies_nothing);
    tcase_add_test(checksums, device_checks_received_checksums_itself);
    suite_add_tcase(suite, checksums);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(e1000_suite());
    srunner_run_all(runner, CK_ENV);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
