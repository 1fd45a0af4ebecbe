/*
 * The fake e1000 and its DMA memory (see fake_e1000_device.h for what it
 * models and why).
 *
 * It models the device only as far as the driver relies on it, but there
 * as the 8254x manual describes the device, not as the driver happens to
 * use it: descriptors are found through the ring base registers and the
 * buffer addresses in them, frames longer than a buffer are spread over
 * several descriptors, a receiver without SECRC stores the CRC, a
 * transmitter with PSP pads short frames, and the device only ever touches
 * the descriptors the head and tail registers give it. Transmit descriptors
 * are told apart the way the device tells them apart (DEXT, then DTYP), the
 * checksum context outlives the frames that use it, checksums are inserted
 * only into a frame whose first descriptor asked for them, and the receive
 * checksum bits go into the descriptor that carries EOP, the only one whose
 * status and errors the manual makes valid for them.
 */
#include "fake_e1000_device.h"
#include "drivers/e1000_registers.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// TSE, "TCP segmentation enable", in the command byte of context and data
// descriptors (the bit legacy descriptors call IC). The driver does not
// segment, and the fake does not model segmentation: a descriptor asking
// for it is a violation here, not a frame cut into pieces.
#define FAKE_E1000_TRANSMIT_COMMAND_TSE (1u << 2)

// ---- DMA memory ------------------------------------------------------------

void fake_dma_init(struct fake_dma *dma)
{
    memset(dma, 0, sizeof *dma);
    dma->fail_at = SIZE_MAX;
    dma->misalign_at = SIZE_MAX;
}

void fake_dma_destroy(struct fake_dma *dma)
{
    for (size_t i = 0; i < dma->block_count; i++)
        free(dma->blocks[i].allocation);
    dma->block_count = 0;
}

void *fake_dma_allocate(void *context, size_t size, uint64_t *physical_address)
{
    struct fake_dma *dma = context;
    size_t call = dma->allocations++;
    if (call == dma->fail_at || dma->block_count == FAKE_DMA_BLOCKS_MAX)
        return NULL;
    size_t offset = call == dma->misalign_at ? 8 : 0;
    size_t rounded = (size + offset + 4095) / 4096 * 4096;
    uint8_t *allocation = aligned_alloc(4096, rounded);
    if (!allocation)
        return NULL;
    memset(allocation, 0, rounded);
    uint8_t *memory = allocation + offset;
    dma->blocks[dma->block_count++] = (struct fake_dma_block){ memory, size, allocation };
    *physical_address = (uint64_t)(uintptr_t)memory;
    return memory;
}

const struct fake_dma_block *fake_dma_find(const struct fake_dma *dma, uint64_t physical, size_t size)
{
    for (size_t i = 0; i < dma->block_count; i++) {
        const struct fake_dma_block *block = &dma->blocks[i];
        uint64_t start = (uint64_t)(uintptr_t)block->memory;
        if (physical >= start && physical - start <= block->size && size <= block->size - (physical - start))
            return block;
    }
    return NULL;
}

// ---- The device ------------------------------------------------------------

// The device the register accessors act on: e1000_register_read gets only
// the BAR0 pointer, which must be this device's.
static struct fake_e1000_device *fake_e1000_current;

__attribute__((format(printf, 2, 3)))
static void fake_e1000_violation(struct fake_e1000_device *device, const char *format, ...)
{
    if (device->violations++ == 0) {
        va_list arguments;
        va_start(arguments, format);
        vsnprintf(device->violation, sizeof device->violation, format, arguments);
        va_end(arguments);
    }
}

static uint32_t *fake_e1000_register(struct fake_e1000_device *device, uint32_t offset)
{
    return &device->registers[offset / 4];
}

static void fake_e1000_load_mac_address(struct fake_e1000_device *device)
{
    const uint16_t *words = device->eeprom;
    *fake_e1000_register(device, E1000_RAL(0)) = (uint32_t)words[0] | (uint32_t)words[1] << 16;
    *fake_e1000_register(device, E1000_RAH(0)) = (uint32_t)words[2] | E1000_RAH_AV;
}

static uint32_t fake_e1000_status(const struct fake_e1000_device *device)
{
    // Full duplex at 1000 Mb/s, as QEMU reports it.
    return E1000_STATUS_FD | 2u << E1000_STATUS_SPEED_SHIFT | (device->link_up ? E1000_STATUS_LU : 0);
}

void fake_e1000_device_init(struct fake_e1000_device *device, struct fake_dma *dma, const uint8_t mac[6])
{
    memset(device, 0, sizeof *device);
    device->dma = dma;
    device->link_up = true;
    device->reset_reads = 3;
    device->reset_loads_mac_address = true;
    device->eeprom_reads = 2;
    for (int i = 0; i < 3; i++)
        device->eeprom[i] = (uint16_t)(mac[2 * i] | mac[2 * i + 1] << 8);
    for (int i = 3; i < FAKE_E1000_EEPROM_WORDS; i++)
        device->eeprom[i] = (uint16_t)(0x1000 + i);
    // What a firmware or an earlier driver may have left behind.
    for (uint32_t i = 0; i < E1000_MTA_COUNT; i++)
        *fake_e1000_register(device, E1000_MTA + 4 * i) = 0xA5A5A5A5u ^ i;
    for (uint32_t i = 1; i < E1000_RECEIVE_ADDRESS_COUNT; i++) {
        *fake_e1000_register(device, E1000_RAL(i)) = 0x12345678u + i;
        *fake_e1000_register(device, E1000_RAH(i)) = E1000_RAH_AV | i;
    }
    fake_e1000_load_mac_address(device);
    *fake_e1000_register(device, E1000_CTRL) = E1000_CTRL_FD;
    *fake_e1000_register(device, E1000_STATUS) = fake_e1000_status(device);
    fake_e1000_current = device;
}

void fake_e1000_device_destroy(struct fake_e1000_device *device)
{
    fake_e1000_forget_sent(device);
    free(device->transmit_pending);
    device->transmit_pending = NULL;
    if (fake_e1000_current == device)
        fake_e1000_current = NULL;
}

volatile uint32_t *fake_e1000_bar0(struct fake_e1000_device *device)
{
    return device->registers;
}

uint32_t fake_e1000_peek(const struct fake_e1000_device *device, uint32_t offset)
{
    switch (offset) {
    case E1000_STATUS:
        return fake_e1000_status(device);
    case E1000_ICR:
        return device->interrupt_cause;
    case E1000_IMS:
        return device->interrupt_mask;
    default:
        return device->registers[offset / 4];
    }
}

void fake_e1000_set_link(struct fake_e1000_device *device, bool up)
{
    if (device->link_up != up)
        device->interrupt_cause |= E1000_INTERRUPT_LSC;
    device->link_up = up;
}

bool fake_e1000_interrupt_asserted(const struct fake_e1000_device *device)
{
    return (device->interrupt_cause & device->interrupt_mask) != 0;
}

// A global reset: registers back to their power-on values, except the
// multicast table and the receive addresses 1-15, which reset leaves alone
// (the manual gives them no defined value). The MAC address is reloaded
// from the EEPROM when the scenario says so.
static void fake_e1000_start_reset(struct fake_e1000_device *device)
{
    uint32_t kept[E1000_MTA_COUNT + 2 * E1000_RECEIVE_ADDRESS_COUNT];
    memcpy(kept, fake_e1000_register(device, E1000_MTA), sizeof kept);
    memset(device->registers, 0, sizeof device->registers);
    memcpy(fake_e1000_register(device, E1000_MTA), kept, sizeof kept);
    *fake_e1000_register(device, E1000_RAL(0)) = 0;
    *fake_e1000_register(device, E1000_RAH(0)) = 0;
    if (device->reset_loads_mac_address)
        fake_e1000_load_mac_address(device);
    *fake_e1000_register(device, E1000_CTRL) = E1000_CTRL_FD | E1000_CTRL_RST;
    device->interrupt_mask = 0;
    // The link coming back after the reset leaves a cause pending.
    device->interrupt_cause = device->link_up ? E1000_INTERRUPT_LSC : 0;
    device->eeprom_reads_left = 0;
    free(device->transmit_pending);
    device->transmit_pending = NULL;
    device->transmit_pending_length = 0;
    device->transmit_pending_descriptors = 0;
    device->transmit_context_loaded = false;   // the context is device state: a reset loses it
    memset(&device->transmit_context, 0, sizeof device->transmit_context);
    device->resets++;
    device->resetting = true;
    device->reset_reads_left = device->reset_reads;
}

static struct fake_e1000_device *fake_e1000_device_for(volatile uint32_t *registers, uint32_t offset)
{
    struct fake_e1000_device *device = fake_e1000_current;
    if (!device || registers != device->registers) {
        fprintf(stderr, "fake e1000: register %#x accessed through %p, which is no fake device's BAR0\n", offset,
                (void *)registers);
        abort();
    }
    if (offset % 4 || offset >= FAKE_E1000_REGISTER_BYTES) {
        fake_e1000_violation(device, "register access at offset %#x, outside BAR0 or not 4-byte aligned", offset);
        return NULL;
    }
    return device;
}

uint32_t e1000_register_read(volatile uint32_t *registers, uint32_t offset)
{
    struct fake_e1000_device *device = fake_e1000_device_for(registers, offset);
    if (!device)
        return 0xFFFFFFFFu;
    if (device->resetting && offset != E1000_CTRL)
        fake_e1000_violation(device, "register %#x read while the reset is in progress", offset);

    uint32_t *reg = fake_e1000_register(device, offset);
    switch (offset) {
    case E1000_CTRL:
        if (device->resetting) {
            if (device->reset_reads_left > 0) {
                if (device->reset_reads_left != FAKE_E1000_NEVER)
                    device->reset_reads_left--;
                return *reg;
            }
            device->resetting = false;
            *reg &= ~E1000_CTRL_RST;
        }
        return *reg;
    case E1000_STATUS:
        return fake_e1000_status(device);
    case E1000_ICR: {
        uint32_t cause = device->interrupt_cause;
        device->interrupt_cause = 0;
        return cause;
    }
    case E1000_IMS:
        return device->interrupt_mask;
    case E1000_EERD:
        if ((*reg & E1000_EERD_START) && !(*reg & E1000_EERD_DONE)) {
            if (device->eeprom_reads_left > 0) {
                if (device->eeprom_reads_left != FAKE_E1000_NEVER)
                    device->eeprom_reads_left--;
                return *reg;
            }
            uint32_t address = (*reg >> E1000_EERD_ADDRESS_SHIFT) & 0xFF;
            uint16_t word = address < FAKE_E1000_EEPROM_WORDS ? device->eeprom[address] : 0xFFFF;
            *reg = (*reg & 0xFFFF) | E1000_EERD_DONE | (uint32_t)word << E1000_EERD_DATA_SHIFT;
        }
        return *reg;
    default:
        return *reg;
    }
}

// A ring about to be enabled must be where the device can reach it.
static void fake_e1000_check_ring(struct fake_e1000_device *device, const char *name, uint32_t base_low,
                                  uint32_t base_high, uint32_t length_register)
{
    uint64_t base = (uint64_t)fake_e1000_peek(device, base_high) << 32 | fake_e1000_peek(device, base_low);
    uint32_t length = fake_e1000_peek(device, length_register);
    if (length == 0 || length % 128)
        fake_e1000_violation(device, "%s enabled with a ring length of %u bytes (not a nonzero multiple of 128)",
                             name, length);
    else if (base % 16)
        fake_e1000_violation(device, "%s enabled with a ring at %#llx, not 16-byte aligned", name,
                             (unsigned long long)base);
    else if (!fake_dma_find(device->dma, base, length))
        fake_e1000_violation(device, "%s enabled with a ring at %#llx (%u bytes) outside DMA memory", name,
                             (unsigned long long)base, length);
}

void e1000_register_write(volatile uint32_t *registers, uint32_t offset, uint32_t value)
{
    struct fake_e1000_device *device = fake_e1000_device_for(registers, offset);
    if (!device)
        return;
    if (device->resetting) {
        fake_e1000_violation(device, "register %#x written (%#x) while the reset is in progress", offset, value);
        return;
    }

    uint32_t *reg = fake_e1000_register(device, offset);
    uint32_t old = *reg;
    switch (offset) {
    case E1000_CTRL:
        *reg = value;
        if (value & E1000_CTRL_RST)
            fake_e1000_start_reset(device);
        return;
    case E1000_STATUS:
        return;   // read-only
    case E1000_ICR:
        device->interrupt_cause &= ~value;   // writing 1s clears those causes
        return;
    case E1000_ICS:
        device->interrupt_cause |= value;
        return;
    case E1000_IMS:
        device->interrupt_mask |= value;
        return;
    case E1000_IMC:
        device->interrupt_mask &= ~value;
        return;
    case E1000_EERD:
        if (value & E1000_EERD_START) {
            device->eeprom_accesses++;
            device->eeprom_reads_left = device->eeprom_reads;
            *reg = value & ~(E1000_EERD_DONE | 0xFFFF0000u);
        }
        return;
    case E1000_RDH:
    case E1000_RDT:
    case E1000_TDH:
    case E1000_TDT: {
        bool receive = offset == E1000_RDH || offset == E1000_RDT;
        uint32_t length = fake_e1000_peek(device, receive ? E1000_RDLEN : E1000_TDLEN);
        uint32_t count = length / 16;
        bool enabled = fake_e1000_peek(device, receive ? E1000_RCTL : E1000_TCTL) & (receive ? E1000_RCTL_EN
                                                                                              : E1000_TCTL_EN);
        if (value >= count)
            fake_e1000_violation(device, "%s set to %u, beyond the ring of %u descriptors",
                                 offset == E1000_RDH ? "RDH" : offset == E1000_RDT ? "RDT"
                                 : offset == E1000_TDH ? "TDH" : "TDT", value, count);
        else if ((offset == E1000_RDH || offset == E1000_TDH) && enabled)
            fake_e1000_violation(device, "%s written while the ring is enabled", receive ? "RDH" : "TDH");
        *reg = value;
        return;
    }
    case E1000_RCTL:
        *reg = value;
        if ((value & E1000_RCTL_EN) && !(old & E1000_RCTL_EN))
            fake_e1000_check_ring(device, "receiver", E1000_RDBAL, E1000_RDBAH, E1000_RDLEN);
        return;
    case E1000_TCTL:
        *reg = value;
        if ((value & E1000_TCTL_EN) && !(old & E1000_TCTL_EN))
            fake_e1000_check_ring(device, "transmitter", E1000_TDBAL, E1000_TDBAH, E1000_TDLEN);
        return;
    default:
        *reg = value;
        return;
    }
}

// ---- Checksums -------------------------------------------------------------

// The Internet checksum's ones-complement sum (RFC 1071): `length` bytes as
// big-endian 16-bit words, an odd last byte padded with a zero, added to
// `sum`. Not folded yet: 32 bits hold the sum of far more than a frame.
static uint32_t fake_e1000_sum(const uint8_t *bytes, size_t length, uint32_t sum)
{
    for (size_t i = 0; i + 1 < length; i += 2)
        sum += (uint32_t)bytes[i] << 8 | bytes[i + 1];
    if (length % 2)
        sum += (uint32_t)bytes[length - 1] << 8;
    return sum;
}

// Adds the carries back in until the sum fits 16 bits.
static uint16_t fake_e1000_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)sum;
}

// ---- The wire --------------------------------------------------------------

// The receive buffer size RCTL selects.
static size_t fake_e1000_receive_buffer_size(uint32_t control)
{
    size_t size = 2048u >> ((control & E1000_RCTL_BSIZE_MASK) >> 16);
    if (control & E1000_RCTL_BSEX)
        size *= 16;
    return size;
}

static void *fake_e1000_dma_pointer(struct fake_e1000_device *device, uint64_t physical, size_t size,
                                    const char *what)
{
    if (!fake_dma_find(device->dma, physical, size)) {
        fake_e1000_violation(device, "%s at %#llx (%zu bytes) is outside DMA memory", what,
                             (unsigned long long)physical, size);
        return NULL;
    }
    return (void *)(uintptr_t)physical;
}

// What receive checksum offload reports for `frame` in the status and
// error fields of its last descriptor. With RXCSUM.IPOFLD the device checks
// the header checksum of an IPv4 packet in an untagged Ethernet frame
// (IPCS; IPE when wrong); with TUOFLD also the TCP or UDP checksum, over the
// pseudo-header and the segment, of a packet that is not a fragment (TCPCS;
// TCPE when wrong). The packet's total length says where the segment ends,
// since a short frame may carry padding after it. Anything else (not IPv4,
// a header that does not fit, another protocol) gets no bit at all.
static void fake_e1000_check_received(const struct fake_e1000_device *device, const uint8_t *frame, size_t length,
                                      uint8_t *status, uint8_t *errors)
{
    *status = 0;
    *errors = 0;
    if (device->receive_ignores_checksums) {
        *status = E1000_RECEIVE_STATUS_IXSM;   // QEMU: "ignore the checksum bits", in every frame
        return;
    }
    uint32_t control = fake_e1000_peek(device, E1000_RXCSUM);
    bool check_ip = (control & E1000_RXCSUM_IPOFLD) != 0;
    bool check_tcp_udp = (control & E1000_RXCSUM_TUOFLD) != 0;
    enum { ethernet_header = 14, ethertype_ipv4 = 0x0800, protocol_tcp = 6, protocol_udp = 17 };

    if (!check_ip && !check_tcp_udp)
        return;
    if (length < ethernet_header + 20 || ((uint32_t)frame[12] << 8 | frame[13]) != ethertype_ipv4)
        return;
    const uint8_t *ip = frame + ethernet_header;
    size_t header_length = (ip[0] & 0x0Fu) * 4;
    size_t total_length = (size_t)ip[2] << 8 | ip[3];
    if (ip[0] >> 4 != 4 || header_length < 20 || total_length < header_length ||
        ethernet_header + total_length > length)
        return;

    if (check_ip) {
        *status |= E1000_RECEIVE_STATUS_IPCS;
        if (fake_e1000_fold(fake_e1000_sum(ip, header_length, 0)) != 0xFFFF)
            *errors |= E1000_RECEIVE_ERROR_IPE;
    }

    // More fragments (flag bit 0x2000), or a fragment offset: the segment
    // is not all here, so its checksum cannot be checked.
    bool fragment = ((uint32_t)ip[6] << 8 | ip[7]) & 0x3FFF;
    uint8_t protocol = ip[9];
    const uint8_t *segment = ip + header_length;
    size_t segment_length = total_length - header_length;
    bool tcp = protocol == protocol_tcp && segment_length >= 20;
    bool udp = protocol == protocol_udp && segment_length >= 8;
    if (!check_tcp_udp || fragment || !(tcp || udp))
        return;
    if (udp && segment[6] == 0 && segment[7] == 0)
        return;   // sent without a checksum: nothing to check
    // The pseudo-header: source and destination address, protocol, length.
    uint32_t sum = fake_e1000_sum(ip + 12, 8, protocol + (uint32_t)segment_length);
    sum = fake_e1000_sum(segment, segment_length, sum);
    *status |= E1000_RECEIVE_STATUS_TCPCS;
    if (fake_e1000_fold(sum) != 0xFFFF)
        *errors |= E1000_RECEIVE_ERROR_TCPE;
}

// Puts a frame into the receive ring from RDH on; `status` (beside DD and
// EOP) and `errors` go into its last descriptor.
static enum fake_e1000_receive_result fake_e1000_receive_frame(struct fake_e1000_device *device, const void *frame,
                                                               size_t length, uint8_t status, uint8_t errors)
{
    uint32_t control = fake_e1000_peek(device, E1000_RCTL);
    if (!(control & E1000_RCTL_EN)) {
        device->dropped_disabled++;
        return FAKE_E1000_DROPPED_DISABLED;
    }
    uint32_t count = fake_e1000_peek(device, E1000_RDLEN) / 16;
    uint32_t head = fake_e1000_peek(device, E1000_RDH);
    uint32_t tail = fake_e1000_peek(device, E1000_RDT);
    uint64_t base = (uint64_t)fake_e1000_peek(device, E1000_RDBAH) << 32 | fake_e1000_peek(device, E1000_RDBAL);
    struct e1000_receive_descriptor *ring = fake_e1000_dma_pointer(device, base, (size_t)count * 16, "receive ring");
    if (!ring)
        return FAKE_E1000_DROPPED_DISABLED;

    // What lands in memory: the frame, and its CRC unless SECRC strips it
    // (the fake's CRC is four recognisable bytes, not a real CRC-32).
    size_t stored_length = length + (control & E1000_RCTL_SECRC ? 0 : 4);
    uint8_t *stored = malloc(stored_length);
    memcpy(stored, frame, length);
    memset(stored + length, 0xCC, stored_length - length);

    size_t buffer_size = fake_e1000_receive_buffer_size(control);
    uint32_t pieces = (uint32_t)((stored_length + buffer_size - 1) / buffer_size);
    uint32_t free_descriptors = (tail + count - head) % count;   // RDH up to, not including, RDT
    if (free_descriptors < pieces) {
        free(stored);
        device->dropped_no_descriptor++;
        device->interrupt_cause |= E1000_INTERRUPT_RXO;
        return FAKE_E1000_DROPPED_NO_DESCRIPTOR;
    }

    size_t done = 0;
    for (uint32_t piece = 0; piece < pieces; piece++) {
        struct e1000_receive_descriptor *descriptor = &ring[head];
        if (descriptor->status & E1000_RECEIVE_STATUS_DD)
            fake_e1000_violation(device, "receive descriptor %u was given back to the device with DD still set",
                                 head);
        size_t piece_length = stored_length - done < buffer_size ? stored_length - done : buffer_size;
        uint8_t *buffer = fake_e1000_dma_pointer(device, descriptor->buffer_address, buffer_size, "receive buffer");
        if (buffer)
            memcpy(buffer, stored + done, piece_length);
        done += piece_length;
        bool last = piece + 1 == pieces;
        descriptor->length = (uint16_t)piece_length;
        descriptor->checksum = 0;
        descriptor->errors = last ? errors : 0;
        descriptor->special = 0;
        descriptor->status = (uint8_t)(E1000_RECEIVE_STATUS_DD | (last ? E1000_RECEIVE_STATUS_EOP | status : 0));
        head = (head + 1) % count;
    }
    free(stored);
    *fake_e1000_register(device, E1000_RDH) = head;

    device->interrupt_cause |= E1000_INTERRUPT_RXT0;
    // RCTL.RDMTS 00: the minimum threshold is half the ring.
    uint32_t still_free = (tail + count - head) % count;
    if (still_free <= count / 2)
        device->interrupt_cause |= E1000_INTERRUPT_RXDMT0;
    return FAKE_E1000_RECEIVED;
}

enum fake_e1000_receive_result fake_e1000_receive_with_errors(struct fake_e1000_device *device, const void *frame,
                                                              size_t length, uint8_t errors)
{
    uint8_t checksum_status, checksum_errors;
    fake_e1000_check_received(device, frame, length, &checksum_status, &checksum_errors);
    return fake_e1000_receive_frame(device, frame, length, checksum_status, checksum_errors | errors);
}

enum fake_e1000_receive_result fake_e1000_receive(struct fake_e1000_device *device, const void *frame, size_t length)
{
    return fake_e1000_receive_with_errors(device, frame, length, 0);
}

enum fake_e1000_receive_result fake_e1000_receive_with_checksum_status(struct fake_e1000_device *device,
                                                                       const void *frame, size_t length,
                                                                       uint8_t status, uint8_t errors)
{
    uint8_t descriptor_status = (uint8_t)(status & ~(E1000_RECEIVE_STATUS_DD | E1000_RECEIVE_STATUS_EOP));
    return fake_e1000_receive_frame(device, frame, length, descriptor_status, errors);
}

static void fake_e1000_record(struct fake_e1000_device *device, const struct fake_e1000_frame *frame)
{
    if (device->sent_count == device->sent_capacity) {
        device->sent_capacity = device->sent_capacity ? 2 * device->sent_capacity : 64;
        device->sent = realloc(device->sent, device->sent_capacity * sizeof *device->sent);
    }
    device->sent[device->sent_count++] = *frame;
}

// The three kinds of transmit descriptor (8254x SDM 3.3): DEXT clear is a
// legacy descriptor (whose byte 10 is CSO); DEXT set makes byte 10's high
// nibble the descriptor type, 0 a context and 1 a data descriptor.
enum fake_e1000_transmit_kind {
    FAKE_E1000_TRANSMIT_LEGACY,
    FAKE_E1000_TRANSMIT_CONTEXT,
    FAKE_E1000_TRANSMIT_DATA,
    FAKE_E1000_TRANSMIT_UNKNOWN,
};

static enum fake_e1000_transmit_kind fake_e1000_transmit_kind(const struct e1000_transmit_descriptor *descriptor)
{
    if (!(descriptor->command & E1000_TRANSMIT_COMMAND_DEXT))
        return FAKE_E1000_TRANSMIT_LEGACY;
    const struct e1000_transmit_data_descriptor *extended = (const void *)descriptor;
    switch (extended->type_length >> 4) {
    case 0:
        return FAKE_E1000_TRANSMIT_CONTEXT;
    case E1000_TRANSMIT_DTYP_DATA >> 4:
        return FAKE_E1000_TRANSMIT_DATA;
    default:
        return FAKE_E1000_TRANSMIT_UNKNOWN;
    }
}

// A context descriptor: the device keeps what it says for every following
// frame. It belongs between frames; the manual gives no meaning to one in
// the middle of a frame's data descriptors.
static void fake_e1000_load_context(struct fake_e1000_device *device,
                                    const struct e1000_transmit_context_descriptor *context, uint32_t index)
{
    if (device->transmit_pending_descriptors > 0)
        fake_e1000_violation(device, "context descriptor %u inside a frame (after %zu of its descriptors)", index,
                             device->transmit_pending_descriptors);
    if (context->command & FAKE_E1000_TRANSMIT_COMMAND_TSE)
        fake_e1000_violation(device, "context descriptor %u asks for TCP segmentation (TSE), not modelled", index);
    device->transmit_context = (struct fake_e1000_checksum_context){
        .ip_start = context->ip_checksum_start,
        .ip_field = context->ip_checksum_offset,
        .ip_end = context->ip_checksum_end,
        .tcp_udp_start = context->checksum_start,
        .tcp_udp_field = context->checksum_offset,
        .tcp_udp_end = context->checksum_end,
    };
    device->transmit_context_loaded = true;
    device->transmit_contexts_loaded++;
}

// Inserts one checksum into a complete frame as the device does: the sum
// of bytes start .. end (end 0, or past the frame: its last byte), the
// field included, complemented and stored big-endian at `field`; a result
// of 0 is stored as 0xFFFF, as QEMU does (net_checksum_finish_nozero), which
// means the same to a TCP receiver and keeps a UDP checksum from reading
// as "none". A layout that does not fit the frame is a violation.
static bool fake_e1000_insert_checksum(struct fake_e1000_device *device, uint8_t *frame, size_t length,
                                       unsigned start, unsigned field, unsigned end, const char *which)
{
    size_t last = end == 0 || end >= length ? length - 1 : end;
    if (start > last || (size_t)field + 2 > length) {
        fake_e1000_violation(device, "%s checksum asked for a %zu-byte frame with start %u, field %u, end %u: "
                             "outside the frame", which, length, start, field, end);
        return false;
    }
    uint16_t checksum = (uint16_t)~fake_e1000_fold(fake_e1000_sum(frame + start, last + 1 - start, 0));
    if (checksum == 0)
        checksum = 0xFFFF;
    frame[field] = (uint8_t)(checksum >> 8);
    frame[field + 1] = (uint8_t)checksum;
    return true;
}

// The frame's EOP has come: insert the checksums its first descriptor asked
// for, under the context loaded now, pad it (PSP), and put it on the wire.
static void fake_e1000_finish_frame(struct fake_e1000_device *device, uint32_t control, uint32_t index)
{
    uint8_t *bytes = device->transmit_pending;
    size_t length = device->transmit_pending_length;
    uint8_t options = device->transmit_pending_extended ? device->transmit_pending_options : 0;
    const struct fake_e1000_checksum_context *context = &device->transmit_context;
    struct fake_e1000_frame frame = { 0 };

    if ((options & (E1000_TRANSMIT_OPTION_TXSM | E1000_TRANSMIT_OPTION_IXSM)) && !device->transmit_context_loaded) {
        fake_e1000_violation(device, "frame ending in transmit descriptor %u asks for checksums (POPTS %#x) "
                             "with no context descriptor loaded", index, options);
        options = 0;
    }
    if (options & E1000_TRANSMIT_OPTION_TXSM) {
        frame.tcp_udp_checksum_inserted =
            fake_e1000_insert_checksum(device, bytes, length, context->tcp_udp_start, context->tcp_udp_field,
                                       context->tcp_udp_end, "TCP/UDP");
        device->transmit_checksums_inserted += frame.tcp_udp_checksum_inserted;
    }
    if (options & E1000_TRANSMIT_OPTION_IXSM)
        frame.ip_checksum_inserted = fake_e1000_insert_checksum(device, bytes, length, context->ip_start,
                                                                context->ip_field, context->ip_end, "IPv4 header");

    // PSP pads to the Ethernet minimum of 64 bytes with the CRC, after the
    // checksums: padding is not part of the packet.
    frame.length = (control & E1000_TCTL_PSP) && length < 60 ? 60 : length;
    frame.bytes = calloc(1, frame.length);
    memcpy(frame.bytes, bytes, length);
    fake_e1000_record(device, &frame);

    free(device->transmit_pending);
    device->transmit_pending = NULL;
    device->transmit_pending_length = 0;
    device->transmit_pending_descriptors = 0;
}

// A legacy or data descriptor: its buffer joins the frame being gathered.
// The first descriptor of a frame decides what it is: legacy or extended,
// and (for a data descriptor) which checksums to insert; the rest must be
// of the same kind.
static void fake_e1000_gather(struct fake_e1000_device *device, const struct e1000_transmit_descriptor *descriptor,
                              bool extended, uint32_t index)
{
    const struct e1000_transmit_data_descriptor *data = (const void *)descriptor;
    if (extended && (data->command & FAKE_E1000_TRANSMIT_COMMAND_TSE))
        fake_e1000_violation(device, "data descriptor %u asks for TCP segmentation (TSE), not modelled", index);
    if (device->transmit_pending_descriptors == 0) {
        device->transmit_pending_extended = extended;
        device->transmit_pending_options = extended ? data->options : 0;
    } else if (device->transmit_pending_extended != extended) {
        fake_e1000_violation(device, "transmit descriptor %u is %s, the frame's first was %s", index,
                             extended ? "a data descriptor" : "legacy",
                             extended ? "legacy" : "a data descriptor");
    }
    const uint8_t *bytes = fake_e1000_dma_pointer(device, descriptor->buffer_address, descriptor->length,
                                                  "transmit buffer");
    size_t total = device->transmit_pending_length + descriptor->length;
    device->transmit_pending = realloc(device->transmit_pending, total > 0 ? total : 1);
    if (bytes)
        memcpy(device->transmit_pending + device->transmit_pending_length, bytes, descriptor->length);
    device->transmit_pending_length = total;
    device->transmit_pending_descriptors++;
}

size_t fake_e1000_transmit(struct fake_e1000_device *device, size_t limit)
{
    uint32_t control = fake_e1000_peek(device, E1000_TCTL);
    if (!(control & E1000_TCTL_EN))
        return 0;
    uint32_t count = fake_e1000_peek(device, E1000_TDLEN) / 16;
    uint32_t head = fake_e1000_peek(device, E1000_TDH);
    uint32_t tail = fake_e1000_peek(device, E1000_TDT);
    uint64_t base = (uint64_t)fake_e1000_peek(device, E1000_TDBAH) << 32 | fake_e1000_peek(device, E1000_TDBAL);
    struct e1000_transmit_descriptor *ring = fake_e1000_dma_pointer(device, base, (size_t)count * 16,
                                                                     "transmit ring");
    if (!ring)
        return 0;

    size_t sent = 0, processed = 0, written_back = 0;
    while (head != tail && sent < limit) {
        struct e1000_transmit_descriptor *descriptor = &ring[head];
        // Command and status sit in the same bytes in all three kinds.
        enum fake_e1000_transmit_kind kind = fake_e1000_transmit_kind(descriptor);
        if (kind == FAKE_E1000_TRANSMIT_CONTEXT) {
            fake_e1000_load_context(device, (const struct e1000_transmit_context_descriptor *)descriptor, head);
        } else if (kind == FAKE_E1000_TRANSMIT_UNKNOWN) {
            fake_e1000_violation(device, "transmit descriptor %u has DEXT and descriptor type %u, "
                                 "neither context (0) nor data (1)", head, descriptor->checksum_offset >> 4);
        } else {
            fake_e1000_gather(device, descriptor, kind == FAKE_E1000_TRANSMIT_DATA, head);
            if (descriptor->command & E1000_TRANSMIT_COMMAND_EOP) {
                if (!(descriptor->command & E1000_TRANSMIT_COMMAND_IFCS))
                    fake_e1000_violation(device, "frame in transmit descriptor %u sent without a CRC (IFCS clear)",
                                         head);
                fake_e1000_finish_frame(device, control, head);
                sent++;
            }
        }
        if (descriptor->command & E1000_TRANSMIT_COMMAND_RS) {
            descriptor->status |= E1000_TRANSMIT_STATUS_DD;
            written_back++;
        }
        head = (head + 1) % count;
        processed++;
    }
    *fake_e1000_register(device, E1000_TDH) = head;
    if (written_back > 0)   // TXDW: "transmit descriptor written back"
        device->interrupt_cause |= E1000_INTERRUPT_TXDW;
    if (processed > 0 && head == tail)
        device->interrupt_cause |= E1000_INTERRUPT_TXQE;
    return sent;
}

void fake_e1000_forget_sent(struct fake_e1000_device *device)
{
    for (size_t i = 0; i < device->sent_count; i++)
        free(device->sent[i].bytes);
    free(device->sent);
    device->sent = NULL;
    device->sent_count = 0;
    device->sent_capacity = 0;
}
