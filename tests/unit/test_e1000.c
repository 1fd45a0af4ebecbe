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
    uint8_t frames[DELIVERIES_MAX][E1000_BUFFER_SIZE];
};
static struct deliveries *delivered;

static void record_delivery(void *context, const void *frame, size_t length)
{
    struct deliveries *log = context;
    ck_assert_uint_lt(log->count, DELIVERIES_MAX);
    ck_assert_uint_le(length, E1000_BUFFER_SIZE);
    memcpy(log->frames[log->count], frame, length);
    log->lengths[log->count] = length;
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

static void check_in_sequence(void *context, const void *frame, size_t length)
{
    struct sequence_check *check = context;
    assert_frame(frame, length, length_for(check->next), check->next);
    check->next++;
    check->frames++;
}

static void send_frame(uint32_t sequence)
{
    uint8_t frame[E1000_BUFFER_SIZE];
    size_t length = length_for(sequence);
    make_frame(frame, length, sequence);
    ck_assert_msg(e1000_transmit(&nic, frame, length), "frame %u refused", sequence);
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
    ck_assert(e1000_transmit(&nic, frame, sizeof frame));
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
    ck_assert(e1000_transmit(&nic, arp, sizeof arp));
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
    ck_assert(!e1000_transmit(&nic, frame, 0));
    ck_assert(!e1000_transmit(&nic, frame, E1000_FRAME_MINIMUM - 1));
    ck_assert(!e1000_transmit(&nic, frame, E1000_BUFFER_SIZE + 1));
    ck_assert(!e1000_transmit(&nic, frame, 65536 + 100));   // would wrap the descriptor's 16-bit length
    ck_assert_uint_eq(nic.counters.transmit_bad_length, 4);
    ck_assert_uint_eq(peek(E1000_TDT), 0);   // nothing queued

    ck_assert(e1000_transmit(&nic, frame, E1000_FRAME_MINIMUM));
    ck_assert(e1000_transmit(&nic, frame, E1000_BUFFER_SIZE));
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
    ck_assert(!e1000_transmit(&nic, frame, sizeof frame));
    ck_assert_uint_eq(nic.counters.transmit_ring_full, 1);
    ck_assert_uint_eq(peek(E1000_TDT), E1000_TRANSMIT_DESCRIPTORS - 1);
    ck_assert_uint_eq(peek(E1000_TDH), 0);

    // The device sends ten; transmit reclaims them by itself and has room.
    ck_assert_uint_eq(fake_e1000_transmit(device, 10), 10);
    for (int i = 0; i < 10; i++)
        send_frame(sequence++);
    ck_assert_uint_eq(nic.counters.transmitted_frames, 10);
    ck_assert(!e1000_transmit(&nic, frame, sizeof frame));
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
    ck_assert(e1000_transmit(&nic, frame, sizeof frame));
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
    for (uint32_t i = 0; i < 5; i++)   // byte for byte: the CRC was stripped (SECRC)
        assert_frame(delivered->frames[i], delivered->lengths[i], lengths[i], 100 + i);
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
