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
 * the descriptors the head and tail registers give it.
 */
#include "fake_e1000_device.h"
#include "drivers/e1000_registers.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

enum fake_e1000_receive_result fake_e1000_receive_with_errors(struct fake_e1000_device *device, const void *frame,
                                                              size_t length, uint8_t errors)
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
        descriptor->status = (uint8_t)(E1000_RECEIVE_STATUS_DD | (last ? E1000_RECEIVE_STATUS_EOP : 0));
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

enum fake_e1000_receive_result fake_e1000_receive(struct fake_e1000_device *device, const void *frame, size_t length)
{
    return fake_e1000_receive_with_errors(device, frame, length, 0);
}

static void fake_e1000_record(struct fake_e1000_device *device, uint8_t *bytes, size_t length)
{
    if (device->sent_count == device->sent_capacity) {
        device->sent_capacity = device->sent_capacity ? 2 * device->sent_capacity : 64;
        device->sent = realloc(device->sent, device->sent_capacity * sizeof *device->sent);
    }
    device->sent[device->sent_count++] = (struct fake_e1000_frame){ bytes, length };
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

    size_t sent = 0, processed = 0;
    while (head != tail && sent < limit) {
        struct e1000_transmit_descriptor *descriptor = &ring[head];
        if (descriptor->command & E1000_TRANSMIT_COMMAND_DEXT)
            fake_e1000_violation(device, "transmit descriptor %u is not a legacy descriptor", head);
        const uint8_t *data = fake_e1000_dma_pointer(device, descriptor->buffer_address, descriptor->length,
                                                     "transmit buffer");
        size_t total = device->transmit_pending_length + descriptor->length;
        device->transmit_pending = realloc(device->transmit_pending, total > 0 ? total : 1);
        if (data)
            memcpy(device->transmit_pending + device->transmit_pending_length, data, descriptor->length);
        device->transmit_pending_length = total;

        if (descriptor->command & E1000_TRANSMIT_COMMAND_EOP) {
            if (!(descriptor->command & E1000_TRANSMIT_COMMAND_IFCS))
                fake_e1000_violation(device, "frame in transmit descriptor %u sent without a CRC (IFCS clear)",
                                     head);
            // PSP pads to the Ethernet minimum of 64 bytes with the CRC.
            size_t wire_length = total;
            if ((control & E1000_TCTL_PSP) && wire_length < 60)
                wire_length = 60;
            uint8_t *frame = calloc(1, wire_length);
            memcpy(frame, device->transmit_pending, total);
            fake_e1000_record(device, frame, wire_length);
            free(device->transmit_pending);
            device->transmit_pending = NULL;
            device->transmit_pending_length = 0;
            sent++;
        }
        if (descriptor->command & E1000_TRANSMIT_COMMAND_RS)
            descriptor->status |= E1000_TRANSMIT_STATUS_DD;
        head = (head + 1) % count;
        processed++;
    }
    *fake_e1000_register(device, E1000_TDH) = head;
    if (sent > 0)
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
