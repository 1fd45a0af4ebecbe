/*
 * A PCI configuration space in memory, in place of kernel/pci_config.c, for
 * tests/unit/test_pci.c.
 *
 * Each function is 256 bytes of registers with, per bit, whether a write
 * changes it and whether a write of 1 clears it -- the three behaviours
 * configuration registers have (read-write, read-only, write-one-to-clear).
 * That is enough to emulate the parts kernel/pci.c depends on:
 *
 *   - a BAR is a register whose writable bits are its address bits above
 *     the size: writing all ones reads back the size mask (with the
 *     read-only type bits), which is how BARs are sized;
 *   - a missing function reads 0xFFFFFFFF and ignores writes, as a master
 *     abort on a real bus does;
 *   - the status register's error bits clear when written with 1;
 *   - a function flagged "every function" answers with the same registers
 *     whatever function number it is asked for, as some single-function
 *     devices do, so a scan that ignores the multi-function bit counts it
 *     eight times.
 *
 * It also watches for what real hardware would punish: a BAR written while
 * its function decodes memory or I/O (the function would answer at the
 * probe address), an MSI address or data register written while MSI is on,
 * a misaligned dword access. The test reads those counts.
 *
 * Three machines can be built (fake_pci_config_reset):
 *
 *   FAKE_PCI_MACHINE_PC, modelled on QEMU's i440FX PC:
 *     00:00.0 8086:1237 host bridge, with a 256 MiB memory BAR
 *     00:01.0 8086:7000 ISA bridge, multi-function:
 *     00:01.1 8086:7010 IDE, an I/O BAR that decodes 16 address bits only
 *             (00:01.2 absent)
 *     00:01.3 8086:7113 ACPI, irq 9 pin A
 *     00:02.0 1234:1111 display: a 64-bit prefetchable 8 GiB BAR above
 *             4 GiB, and a 32-bit 4 KiB BAR
 *     00:03.0 8086:100e the e1000: 128 KiB memory BAR, 64 I/O ports,
 *             irq 11 pin A, a pending status bit, no capability list (but
 *             a stale capability pointer); answers to every function number
 *     00:04.0 8086:10d3 network, capabilities PM -> MSI (64-bit) ->
 *             PCI Express -> MSI-X, out of address order, one next pointer
 *             with its reserved low bits set
 *     00:05.0 1b36:0005 a 32-bit MSI capability with per-vector masking
 *             for 4 vectors, all 4 left granted and all masked
 *     00:06.0 1234:0bad a capability list that points at itself
 *     00:07.0 8086:244e PCI-to-PCI bridge to bus 1, with a pending
 *             secondary status bit
 *     01:00.0 8086:1533 network, behind the bridge
 *     everything else: absent
 *
 *   FAKE_PCI_MACHINE_ODD, bus numbering the scan must survive:
 *     00:00.0 host bridge, multi-function; 00:00.1 a second host bridge
 *     (the root of bus 1); 00:00.2 an IOMMU (not a host bridge: bus 2 is
 *     not its); 00:01.0 a device whose last BAR claims to be 64-bit;
 *     00:02.0 a bridge with no secondary bus number; 01:00.0 a
 *     device; 01:01.0 a bridge back to bus 1; 02:00.0 a device no bridge
 *     or host controller leads to.
 *
 *   FAKE_PCI_MACHINE_CROWDED, more functions than kernel/pci.c's table:
 *     32 multi-function devices of 8 functions on bus 0 (256), the last a
 *     bridge to bus 1; 01:00.0 a bridge to bus 2, 01:01.0 a device;
 *     02:00.0 a device: 259 functions on 3 buses.
 *
 * The declarations the test uses are at the top of tests/unit/test_pci.c.
 */
#include "pci.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum fake_pci_machine {
    FAKE_PCI_MACHINE_PC,
    FAKE_PCI_MACHINE_ODD,
    FAKE_PCI_MACHINE_CROWDED,
};

struct fake_function {
    uint8_t bus, device, function;
    bool every_function;
    uint8_t msi;                    // offset of its MSI capability; 0: none
    uint8_t registers[256];
    uint8_t writable[256];          // bits a write changes
    uint8_t clear_on_one[256];      // bits a write of 1 clears
    unsigned command_writes;
    unsigned bar_writes_while_decoding;
};

#define FAKE_FUNCTIONS_MAX 300

static struct fake_function functions[FAKE_FUNCTIONS_MAX];
static size_t function_count;
static unsigned misaligned_accesses;
static unsigned msi_writes_while_enabled;
static unsigned long config_reads;
static unsigned long config_reads_on_bus[256];

/* ---- building a machine ------------------------------------------------ */

static void put16(uint8_t *at, uint16_t value) { memcpy(at, &value, 2); }
static void put32(uint8_t *at, uint32_t value) { memcpy(at, &value, 4); }
static uint16_t get16(const uint8_t *at) { uint16_t value; memcpy(&value, at, 2); return value; }
static uint32_t get32(const uint8_t *at) { uint32_t value; memcpy(&value, at, 4); return value; }

// class_revision: class << 24 | subclass << 16 | prog_if << 8 | revision,
// as the dword at 0x08 holds them.
static struct fake_function *add(uint8_t bus, uint8_t device, uint8_t function, uint16_t vendor_id,
                                 uint16_t device_id, uint32_t class_revision, uint8_t header_type)
{
    if (function_count == FAKE_FUNCTIONS_MAX)
        abort();
    struct fake_function *added = &functions[function_count++];
    memset(added, 0, sizeof *added);
    added->bus = bus;
    added->device = device;
    added->function = function;
    put16(added->registers + PCI_VENDOR_ID, vendor_id);
    put16(added->registers + PCI_DEVICE_ID, device_id);
    put32(added->registers + PCI_REVISION, class_revision);
    added->registers[PCI_HEADER_TYPE] = header_type;
    put16(added->writable + PCI_COMMAND, 0x0407);         // I/O, memory, bus master, INTx# disable
    put16(added->clear_on_one + PCI_STATUS, 0xF900);      // the error bits
    added->writable[PCI_INTERRUPT_LINE] = 0xFF;
    added->registers[PCI_INTERRUPT_LINE] = 0xFF;
    return added;
}

static void set_command(struct fake_function *function, uint16_t command)
{
    put16(function->registers + PCI_COMMAND, command);
}

static void set_status(struct fake_function *function, uint16_t status)
{
    put16(function->registers + PCI_STATUS, status);
}

// `value` is the BAR as the firmware left it (address and type bits);
// `writable` the address bits the function implements: ~(size - 1) above
// the type bits.
static void set_bar(struct fake_function *function, unsigned index, uint32_t value, uint32_t writable)
{
    put32(function->registers + PCI_BAR0 + 4 * index, value);
    put32(function->writable + PCI_BAR0 + 4 * index, writable);
}

static void set_interrupt(struct fake_function *function, uint8_t line, uint8_t pin)
{
    function->registers[PCI_INTERRUPT_LINE] = line;
    function->registers[PCI_INTERRUPT_PIN] = pin;
}

// Adds a capability entry; the first one added starts the list.
static void add_capability(struct fake_function *function, uint8_t offset, uint8_t id, uint8_t next)
{
    if (!(get16(function->registers + PCI_STATUS) & PCI_STATUS_CAPABILITIES)) {
        set_status(function, get16(function->registers + PCI_STATUS) | PCI_STATUS_CAPABILITIES);
        function->registers[PCI_CAPABILITIES_POINTER] = offset;
    }
    function->registers[offset] = id;
    function->registers[offset + 1] = next;
}

// An MSI capability with message control `control`: its address, upper
// address (64-bit), data and mask (per-vector masking) registers writable.
static void add_msi(struct fake_function *function, uint8_t offset, uint8_t next, uint16_t control, uint32_t mask)
{
    add_capability(function, offset, PCI_CAPABILITY_MSI, next);
    function->msi = offset;
    put16(function->registers + offset + 2, control);
    put16(function->writable + offset + 2, 0x0071);      // enable, multiple message enable
    put32(function->writable + offset + 4, 0xFFFFFFFC);
    bool wide = control & (1u << 7);
    uint8_t data = (uint8_t)(offset + (wide ? 0x0C : 0x08));
    if (wide)
        put32(function->writable + offset + 8, 0xFFFFFFFF);
    put16(function->writable + data, 0xFFFF);
    if (control & (1u << 8)) {
        put32(function->registers + data + 4, mask);
        put32(function->writable + data + 4, 0x0000000F);
    }
}

static struct fake_function *add_bridge(uint8_t bus, uint8_t device, uint8_t function, uint8_t header_type,
                                        uint8_t secondary)
{
    struct fake_function *bridge = add(bus, device, function, 0x8086, 0x244e, 0x06040001, header_type);
    bridge->registers[0x18] = bus;
    bridge->registers[PCI_SECONDARY_BUS] = secondary;
    bridge->registers[0x1A] = secondary;
    memset(bridge->writable + 0x18, 0xFF, 3);
    put16(bridge->writable + 0x1C, 0xF0F0);               // I/O base and limit
    put16(bridge->clear_on_one + PCI_SECONDARY_STATUS, 0xF900);
    set_command(bridge, 0x0007);
    return bridge;
}

static void build_pc(void)
{
    struct fake_function *host = add(0, 0, 0, 0x8086, 0x1237, 0x06000002, 0x00);
    set_command(host, 0x0006);
    set_bar(host, 0, 0xE0000000, 0xF0000000);

    set_command(add(0, 1, 0, 0x8086, 0x7000, 0x06010000, 0x80), 0x0007);
    struct fake_function *ide = add(0, 1, 1, 0x8086, 0x7010, 0x01018000, 0x00);
    set_command(ide, 0x0005);
    set_bar(ide, 4, 0x0000C041, 0x0000FFF0);
    set_interrupt(add(0, 1, 3, 0x8086, 0x7113, 0x06800003, 0x00), 9, 1);

    struct fake_function *display = add(0, 2, 0, 0x1234, 0x1111, 0x03000002, 0x00);
    set_command(display, 0x0003);
    set_bar(display, 0, 0x0000000C, 0x00000000);         // 64-bit, prefetchable; 8 GiB: no low address bits
    set_bar(display, 1, 0x00000080, 0xFFFFFFFE);         // upper half: at 0x80_0000_0000
    set_bar(display, 2, 0xFEBF0000, 0xFFFFF000);

    struct fake_function *e1000 = add(0, 3, 0, 0x8086, 0x100e, 0x02000003, 0x00);
    e1000->every_function = true;
    set_command(e1000, 0x0003);
    set_status(e1000, 0x2000);                            // received master abort, pending
    e1000->registers[PCI_CAPABILITIES_POINTER] = 0xDC;    // stale: the status register says no list
    set_bar(e1000, 0, 0xFEBC0000, 0xFFFE0000);
    set_bar(e1000, 1, 0x0000C001, 0xFFFFFFC0);
    set_interrupt(e1000, 11, 1);

    struct fake_function *msi64 = add(0, 4, 0, 0x8086, 0x10d3, 0x02000000, 0x00);
    set_command(msi64, 0x0007);
    set_bar(msi64, 0, 0xFEB80000, 0xFFFE0000);
    set_bar(msi64, 2, 0x0000C021, 0xFFFFFFE0);
    set_bar(msi64, 3, 0xFEBD0000, 0xFFFFC000);
    set_interrupt(msi64, 10, 1);
    add_capability(msi64, 0xC8, PCI_CAPABILITY_POWER_MANAGEMENT, 0xD0);
    add_msi(msi64, 0xD0, 0xE0, 0x0080, 0);
    add_capability(msi64, 0xE0, PCI_CAPABILITY_EXPRESS, 0xA3);   // reserved low bits set
    add_capability(msi64, 0xA0, PCI_CAPABILITY_MSIX, 0x00);

    struct fake_function *msi32 = add(0, 5, 0, 0x1b36, 0x0005, 0x00FF0000, 0x00);
    set_command(msi32, 0x0002);
    set_bar(msi32, 0, 0xFEBD4000, 0xFFFFF000);
    set_interrupt(msi32, 5, 1);
    add_msi(msi32, 0x40, 0x00, 0x0124, 0xF);             // masking, 4 vectors capable, 4 granted

    struct fake_function *looping = add(0, 6, 0, 0x1234, 0x0bad, 0xFF000000, 0x00);
    add_capability(looping, 0x50, PCI_CAPABILITY_VENDOR, 0x50);

    struct fake_function *bridge = add_bridge(0, 7, 0, 0x01, 1);
    put16(bridge->registers + PCI_SECONDARY_STATUS, 0x2000);

    struct fake_function *behind = add(1, 0, 0, 0x8086, 0x1533, 0x02000003, 0x00);
    set_command(behind, 0x0006);
    set_bar(behind, 0, 0xFE800000, 0xFFFE0000);
    set_bar(behind, 3, 0xFE820000, 0xFFFFC000);
    set_interrupt(behind, 11, 1);
}

static void build_odd(void)
{
    add(0, 0, 0, 0x8086, 0x1237, 0x06000000, 0x80);
    add(0, 0, 1, 0x8086, 0x1237, 0x06000000, 0x00);
    add(0, 0, 2, 0x1022, 0x1481, 0x08060000, 0x00);
    struct fake_function *misdeclared = add(0, 1, 0, 0x1af4, 0x1000, 0x02000000, 0x00);
    set_bar(misdeclared, 0, 0xFEB00000, 0xFFFFF000);
    set_bar(misdeclared, 5, 0xFEB01004, 0xFFFFF000);     // "64-bit", with no slot after it
    add_bridge(0, 2, 0, 0x01, 0);
    add(1, 0, 0, 0x8086, 0x10d3, 0x02000000, 0x00);
    add_bridge(1, 1, 0, 0x01, 1);
    add(2, 0, 0, 0x1234, 0x1111, 0x03000000, 0x00);
}

static void build_crowded(void)
{
    for (uint8_t device = 0; device < 32; device++)
        for (uint8_t function = 0; function < 8; function++)
            if (device == 31 && function == 7)
                add_bridge(0, device, function, 0x01, 1);
            else
                add(0, device, function, 0x1234, (uint16_t)(device << 8 | function), 0xFF000000,
                    function == 0 ? 0x80 : 0x00);
    add_bridge(1, 0, 0, 0x01, 2);
    add(1, 1, 0, 0x1234, 0x0101, 0xFF000000, 0x00);
    add(2, 0, 0, 0x1234, 0x0200, 0xFF000000, 0x00);
}

void fake_pci_config_reset(int machine)
{
    function_count = 0;
    misaligned_accesses = 0;
    msi_writes_while_enabled = 0;
    config_reads = 0;
    memset(config_reads_on_bus, 0, sizeof config_reads_on_bus);
    switch (machine) {
    case FAKE_PCI_MACHINE_PC:
        build_pc();
        break;
    case FAKE_PCI_MACHINE_ODD:
        build_odd();
        break;
    case FAKE_PCI_MACHINE_CROWDED:
        build_crowded();
        break;
    default:
        abort();
    }
}

/* ---- the hardware interface ------------------------------------------- */

static struct fake_function *find(uint8_t bus, uint8_t device, uint8_t function)
{
    for (size_t i = 0; i < function_count; i++) {
        struct fake_function *candidate = &functions[i];
        if (candidate->bus == bus && candidate->device == device &&
            (candidate->function == function || candidate->every_function))
            return candidate;
    }
    return NULL;
}

static bool bad_address(uint8_t device, uint8_t function, uint8_t offset)
{
    if (device < 32 && function < 8 && (offset & 3) == 0)
        return false;
    misaligned_accesses++;
    return true;
}

uint32_t pci_config_read32(uint8_t bus, uint8_t device, uint8_t function, uint8_t offset)
{
    config_reads++;
    config_reads_on_bus[bus]++;
    if (bad_address(device, function, offset))
        offset &= 0xFC;
    struct fake_function *found = find(bus, device, function);
    return found ? get32(found->registers + offset) : 0xFFFFFFFFu;
}

static bool is_bar(const struct fake_function *function, uint8_t offset)
{
    unsigned count = (function->registers[PCI_HEADER_TYPE] & 0x7F) == 0x01 ? 2 : 6;
    return offset >= PCI_BAR0 && offset < PCI_BAR0 + 4 * count;
}

// The address, upper address and data registers (not the mask bits, which
// may change while MSI is on).
static bool is_msi_message(const struct fake_function *function, uint8_t offset)
{
    if (function->msi == 0)
        return false;
    bool wide = get16(function->registers + function->msi + 2) & (1u << 7);
    return offset >= function->msi + 4 && offset < function->msi + (wide ? 0x10 : 0x0C);
}

void pci_config_write32(uint8_t bus, uint8_t device, uint8_t function, uint8_t offset, uint32_t value)
{
    if (bad_address(device, function, offset))
        offset &= 0xFC;
    struct fake_function *found = find(bus, device, function);
    if (!found)
        return;
    uint16_t command = get16(found->registers + PCI_COMMAND);
    if (is_bar(found, offset) && (command & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY)))
        found->bar_writes_while_decoding++;
    if (is_msi_message(found, offset) && (get16(found->registers + found->msi + 2) & 1))
        msi_writes_while_enabled++;
    if (offset == PCI_COMMAND)
        found->command_writes++;
    for (unsigned i = 0; i < 4; i++) {
        uint8_t byte = (uint8_t)(value >> 8 * i);
        uint8_t *at = &found->registers[offset + i];
        *at = (uint8_t)((*at & ~found->writable[offset + i]) | (byte & found->writable[offset + i]));
        *at = (uint8_t)(*at & ~(byte & found->clear_on_one[offset + i]));
    }
}

/* ---- what the test inspects ------------------------------------------- */

// Reads and writes past the model's rules and counters: for the test to
// look and to set up a state.
uint32_t fake_pci_config_peek32(uint8_t bus, uint8_t device, uint8_t function, uint8_t offset)
{
    struct fake_function *found = find(bus, device, function);
    return found ? get32(found->registers + (offset & 0xFC)) : 0xFFFFFFFFu;
}

void fake_pci_config_poke32(uint8_t bus, uint8_t device, uint8_t function, uint8_t offset, uint32_t value)
{
    struct fake_function *found = find(bus, device, function);
    if (!found)
        abort();
    put32(found->registers + (offset & 0xFC), value);
}

unsigned fake_pci_config_command_writes(uint8_t bus, uint8_t device, uint8_t function)
{
    struct fake_function *found = find(bus, device, function);
    return found ? found->command_writes : 0;
}

// BAR writes while the function decoded: of the host bridges, or of all
// other functions.
unsigned fake_pci_config_bar_writes_while_decoding(bool host_bridges)
{
    unsigned count = 0;
    for (size_t i = 0; i < function_count; i++) {
        bool host_bridge = get16(functions[i].registers + PCI_SUBCLASS) == 0x0600;
        if (host_bridge == host_bridges)
            count += functions[i].bar_writes_while_decoding;
    }
    return count;
}

unsigned fake_pci_config_misaligned_accesses(void)
{
    return misaligned_accesses;
}

unsigned fake_pci_config_msi_writes_while_enabled(void)
{
    return msi_writes_while_enabled;
}

unsigned long fake_pci_config_reads(void)
{
    return config_reads;
}

unsigned long fake_pci_config_reads_on_bus(uint8_t bus)
{
    return config_reads_on_bus[bus];
}
