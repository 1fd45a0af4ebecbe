/*
 * PCI: finding the devices, and the little every driver does with one.
 *
 * A PCI function -- one device, or one part of a multi-function device --
 * is addressed as bus:device.function (256 buses, 32 devices on each, 8
 * functions in each device) and has 256 bytes of configuration space: a
 * standard header (vendor and device IDs, class code, command and status
 * registers, base address registers, interrupt pin) and, after it, a list of
 * capabilities. kernel/pci_config.c reaches one dword of it at a time; this
 * file is the logic above, and runs unchanged in the unit tests over a fake
 * configuration space (tests/unit/fake_pci_config.c).
 *
 * Enumeration. The firmware has numbered the buses and put every BAR at an
 * address already; we only look. Bus 0 is the root. Each of its 32 device
 * slots either answers with a vendor ID or reads 0xFFFF (empty). A device
 * whose function 0 has bit 7 of its header type set has up to 7 more
 * functions, each of which may be present or not; a device without it must
 * not be asked for more -- some single-function devices answer to every
 * function number with the same registers, and would be counted eight
 * times. A PCI-to-PCI bridge (header type 1) leads to the bus whose number
 * it holds in its secondary bus register, which is scanned the same way,
 * depth first. A multi-function host bridge at 00:00 is taken, by the
 * usual convention, as several host controllers, function N the root of
 * bus N; its functions that are not host bridges (an IOMMU, say) are
 * ordinary devices. A bitmap of the buses seen keeps a bridge that points
 * back at a bus already scanned from looping. Walking the bridges rather
 * than trying all 256 buses costs about 240 configuration accesses on
 * QEMU's PC instead of over 8192, each of them a trap to the hypervisor
 * under virtualization.
 *
 * BARs. A base address register holds where the function decodes a range
 * and, in its low bits, what kind of range: bit 0 set for I/O ports, else
 * memory, with bits 1-2 saying 64-bit (the next register holds the upper
 * half) and bit 3 prefetchable. The size is not stored anywhere: the
 * address bits below the size are wired to zero. So we write all ones, read
 * back, and put the original value back; the lowest address bit that stuck
 * is the size. While the BAR holds all ones the function would answer at
 * that address, on top of whatever really lives there, so its memory and
 * I/O decoding are turned off in the command register during the probe and
 * the command register is restored afterwards. The one exception is a host
 * bridge: it stands between the CPUs and memory, and turning its decoding
 * off can upset that path on some chipsets, so its BARs (which it seldom
 * has) are probed with decoding on, as Linux does (its mmio_always_on
 * quirk for every host bridge).
 *
 * Under QEMU the probe's cost is the command register, not the BARs: each
 * time decoding goes off or on, QEMU rebuilds its memory map. A function
 * with BARs costs two such writes; on QEMU's PC under TCG the whole step
 * takes a few milliseconds, three quarters of it in those writes.
 *
 * Capabilities. Bit 4 of the status register says the function has a list:
 * the byte at 0x34 points to the first entry, each entry starts with an ID
 * byte and the offset of the next (0 ends the list; the two low bits are
 * reserved and masked). The walk stops after as many entries as fit in the
 * space, so a broken list that loops cannot hang the boot.
 *
 * MSI. A function with the MSI capability can signal an interrupt by writing
 * a message -- a data word to an address -- instead of raising its INTx#
 * pin, which on a PC would need the ACPI interrupt routing tables to follow
 * through the IOAPIC. The x86 address 0xFEE00000 | destination << 12 reaches
 * the local APIC of that CPU, and the data word is the vector (delivery mode
 * and trigger in bits 8-15: zero for fixed delivery, edge-triggered). The
 * capability comes in two layouts, with a 32-bit or a 64-bit address, which
 * moves the data register; pci_enable_msi handles both.
 *
 * Concurrency. pci_init runs once on the boot CPU. Afterwards the table is
 * read-only; writes that read, modify and write a register take pci_lock,
 * so two drivers changing one function's command register do not undo each
 * other. pci_config.c's own lock keeps each dword access whole.
 */
#include "pci.h"
#include "printk.h"
#include "spinlock.h"
#include <stdio.h>

#define PCI_BUSES                 256
#define PCI_DEVICES_PER_BUS       32
#define PCI_FUNCTIONS_PER_DEVICE  8
#define PCI_VENDOR_NONE           0xFFFF
#define PCI_CARDBUS_CAPABILITIES_POINTER 0x14
#define PCI_BRIDGE_BARS           2

#define PCI_BAR_IO_SPACE          0x1u
#define PCI_BAR_MEMORY_TYPE_MASK  0x6u
#define PCI_BAR_MEMORY_TYPE_64    0x4u
#define PCI_BAR_PREFETCHABLE      0x8u
#define PCI_BAR_MEMORY_ADDRESS    0xFFFFFFF0u
#define PCI_BAR_IO_ADDRESS        0xFFFFFFFCu

// Capabilities sit after the 64-byte standard header, 4-byte aligned; the
// most entries the rest of the space can hold bounds a walk.
#define PCI_CAPABILITY_FIRST      0x40
#define PCI_CAPABILITY_WALK_MAX   ((256 - PCI_CAPABILITY_FIRST) / 4)

// The MSI capability, at offsets from its start.
#define MSI_CONTROL               0x02
#define MSI_ADDRESS               0x04
#define MSI_ADDRESS_UPPER         0x08   // 64-bit layout only
#define MSI_DATA_32               0x08
#define MSI_DATA_64               0x0C
#define MSI_MASK_32               0x0C   // with per-vector masking
#define MSI_MASK_64               0x10
#define MSI_CONTROL_ENABLE        (1u << 0)
#define MSI_CONTROL_MULTIPLE_ENABLE (7u << 4)   // log2 of the vectors granted; 0: one
#define MSI_CONTROL_64BIT         (1u << 7)
#define MSI_CONTROL_PER_VECTOR_MASKING (1u << 8)
#define MSI_ADDRESS_LOCAL_APIC    0xFEE00000u
#define MSI_ADDRESS_DESTINATION_SHIFT 12
#define MSI_VECTOR_FIRST          32             // 0-31 are the CPU's exceptions

static struct pci_device pci_devices[PCI_DEVICES_MAX];
static size_t pci_devices_recorded;
// Where a function beyond the table is read, logged and forgotten.
static struct pci_device pci_device_beyond_table;
static size_t pci_devices_dropped;
static uint8_t pci_buses_scanned[PCI_BUSES / 8];
static size_t pci_bus_count;
static bool pci_enumerated;
static struct spinlock pci_lock = SPINLOCK_INITIALIZER;

/* ---- configuration space of one function ------------------------------ */

static uint8_t pci_header_layout(const struct pci_device *device)
{
    return device->header_type & PCI_HEADER_LAYOUT_MASK;
}

static bool pci_is_host_bridge(const struct pci_device *device)
{
    return device->class_code == PCI_CLASS_BRIDGE && device->subclass == PCI_SUBCLASS_BRIDGE_HOST;
}

static bool pci_aligned(const struct pci_device *device, uint8_t offset, unsigned width)
{
    if ((offset & (width - 1)) == 0)
        return true;
    log_warning("pci %02x:%02x.%x: refused a %u-byte configuration access at misaligned offset %#x\n",
                device->bus, device->device, device->function, width, offset);
    return false;
}

static uint32_t pci_read_dword(const struct pci_device *device, uint8_t offset)
{
    return pci_config_read32(device->bus, device->device, device->function, offset);
}

static void pci_write_dword(const struct pci_device *device, uint8_t offset, uint32_t value)
{
    pci_config_write32(device->bus, device->device, device->function, offset, value);
}

uint32_t pci_read32(const struct pci_device *device, uint8_t offset)
{
    if (!pci_aligned(device, offset, 4))
        return 0xFFFFFFFFu;
    return pci_read_dword(device, offset);
}

uint16_t pci_read16(const struct pci_device *device, uint8_t offset)
{
    if (!pci_aligned(device, offset, 2))
        return 0xFFFF;
    return (uint16_t)(pci_read_dword(device, offset & 0xFC) >> (offset & 3) * 8);
}

uint8_t pci_read8(const struct pci_device *device, uint8_t offset)
{
    return (uint8_t)(pci_read_dword(device, offset & 0xFC) >> (offset & 3) * 8);
}

// The bits of the dword at `dword_offset` that a write of 1 clears: the
// status register beside the command register, and a bridge's secondary
// status beside its I/O base and limit. The rest of those registers is
// read-only, so writing zeros there changes nothing.
static uint32_t pci_write_one_to_clear_bits(const struct pci_device *device, uint8_t dword_offset)
{
    if (dword_offset == (PCI_STATUS & 0xFC))
        return 0xFFFF0000u;
    if (pci_header_layout(device) == PCI_HEADER_BRIDGE && dword_offset == (PCI_SECONDARY_STATUS & 0xFC))
        return 0xFFFF0000u;
    return 0;
}

// Writes `value` into the `field_mask`-wide field at `offset`: the dword is
// read, the field replaced, and the dword written back, with zeros in
// whatever write-one-to-clear register shares it, so that writing the
// command register does not clear the status bits it read. Call with
// pci_lock held (or during enumeration).
static void pci_write_field(const struct pci_device *device, uint8_t offset, uint32_t field_mask, uint32_t value)
{
    uint8_t dword_offset = offset & 0xFC;
    unsigned shift = (offset & 3) * 8;
    uint32_t field = field_mask << shift;
    uint32_t kept = ~field & ~pci_write_one_to_clear_bits(device, dword_offset);
    uint32_t old = pci_read_dword(device, dword_offset);
    pci_write_dword(device, dword_offset, (old & kept) | ((value << shift) & field));
}

void pci_write32(const struct pci_device *device, uint8_t offset, uint32_t value)
{
    if (!pci_aligned(device, offset, 4))
        return;
    uint64_t flags = spinlock_lock_irqsave(&pci_lock);
    pci_write_dword(device, offset, value);
    spinlock_unlock_irqrestore(&pci_lock, flags);
}

void pci_write16(const struct pci_device *device, uint8_t offset, uint16_t value)
{
    if (!pci_aligned(device, offset, 2))
        return;
    uint64_t flags = spinlock_lock_irqsave(&pci_lock);
    pci_write_field(device, offset, 0xFFFF, value);
    spinlock_unlock_irqrestore(&pci_lock, flags);
}

void pci_write8(const struct pci_device *device, uint8_t offset, uint8_t value)
{
    uint64_t flags = spinlock_lock_irqsave(&pci_lock);
    pci_write_field(device, offset, 0xFF, value);
    spinlock_unlock_irqrestore(&pci_lock, flags);
}

/* ---- base address registers ------------------------------------------- */

static unsigned pci_bar_count(const struct pci_device *device)
{
    switch (pci_header_layout(device)) {
    case PCI_HEADER_GENERAL:
        return PCI_BARS_MAX;
    case PCI_HEADER_BRIDGE:
        return PCI_BRIDGE_BARS;
    default:
        return 0;   // CardBus: its one base register is the socket's, not a BAR
    }
}

// Writes all ones into the register, reads back which bits took them, and
// puts the original value back.
static uint32_t pci_bar_probe(const struct pci_device *device, uint8_t offset, uint32_t original)
{
    pci_write_dword(device, offset, 0xFFFFFFFFu);
    uint32_t probed = pci_read_dword(device, offset);
    pci_write_dword(device, offset, original);
    return probed;
}

// The size a probed address mask stands for: its lowest set bit, since the
// bits below the size are wired to zero. (Not ~mask + 1, which is only right
// when every bit above the size took the ones.)
static uint64_t pci_bar_size(uint64_t mask)
{
    return mask & (~mask + 1);
}

static void pci_size_bars(struct pci_device *device)
{
    unsigned count = pci_bar_count(device);
    if (count == 0)
        return;
    uint16_t command = (uint16_t)pci_read_dword(device, PCI_COMMAND);
    uint16_t decoding = command & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    bool quiet = decoding != 0 && !pci_is_host_bridge(device);
    if (quiet)
        pci_write_field(device, PCI_COMMAND, 0xFFFF, command & ~decoding);

    for (unsigned i = 0; i < count; i++) {
        uint8_t offset = (uint8_t)(PCI_BAR0 + 4 * i);
        struct pci_bar *bar = &device->bars[i];
        uint32_t original = pci_read_dword(device, offset);
        uint32_t probed = pci_bar_probe(device, offset, original);

        if (original & PCI_BAR_IO_SPACE) {
            // A function that decodes only 16 bits of port address reads
            // the upper half back as zeros; the lowest bit still says the size.
            uint32_t mask = probed & PCI_BAR_IO_ADDRESS;
            if (mask == 0)
                continue;
            bar->type = PCI_BAR_IO;
            bar->base = original & PCI_BAR_IO_ADDRESS;
            bar->size = pci_bar_size(mask);
            continue;
        }

        bool wide = (original & PCI_BAR_MEMORY_TYPE_MASK) == PCI_BAR_MEMORY_TYPE_64;
        uint64_t base = original & PCI_BAR_MEMORY_ADDRESS;
        uint64_t mask = probed & PCI_BAR_MEMORY_ADDRESS;
        if (wide && i + 1 == count) {
            log_warning("pci %02x:%02x.%x: bar%u says 64-bit but is the last BAR; ignored\n",
                        device->bus, device->device, device->function, i);
            break;
        }
        if (wide) {
            uint32_t original_upper = pci_read_dword(device, (uint8_t)(offset + 4));
            mask |= (uint64_t)pci_bar_probe(device, (uint8_t)(offset + 4), original_upper) << 32;
            base |= (uint64_t)original_upper << 32;
        }
        if (mask != 0) {
            bar->type = PCI_BAR_MEMORY;
            bar->address_64bit = wide;
            bar->prefetchable = (original & PCI_BAR_PREFETCHABLE) != 0;
            bar->base = base;
            bar->size = pci_bar_size(mask);
        }
        if (wide)
            i++;   // the upper half's slot stays PCI_BAR_NONE
    }

    if (quiet)
        pci_write_field(device, PCI_COMMAND, 0xFFFF, command);
}

/* ---- enumeration ------------------------------------------------------- */

const char *pci_class_name(uint8_t class_code)
{
    static const char *const names[] = {
        [0x00] = "unclassified",     [0x01] = "storage",          [0x02] = "network",
        [0x03] = "display",          [0x04] = "multimedia",       [0x05] = "memory",
        [0x06] = "bridge",           [0x07] = "communication",    [0x08] = "system",
        [0x09] = "input",            [0x0A] = "docking station",  [0x0B] = "processor",
        [0x0C] = "serial bus",       [0x0D] = "wireless",         [0x0E] = "intelligent I/O",
        [0x0F] = "satellite",        [0x10] = "encryption",       [0x11] = "signal processing",
        [0x12] = "accelerator",      [0x13] = "instrumentation",
    };
    if (class_code < sizeof names / sizeof names[0] && names[class_code])
        return names[class_code];
    if (class_code == 0x40)
        return "coprocessor";
    return "unknown class";
}

// "128K", "16M", "8G", or a plain number when it is not a whole multiple.
static void pci_format_size(char *buffer, size_t size, uint64_t bytes)
{
    static const char units[] = "KMGT";
    int unit = -1;
    while (bytes >= 1024 && bytes % 1024 == 0 && unit + 1 < (int)(sizeof units - 1)) {
        bytes /= 1024;
        unit++;
    }
    if (unit < 0)
        snprintf(buffer, size, "%llu", (unsigned long long)bytes);
    else
        snprintf(buffer, size, "%llu%c", (unsigned long long)bytes, units[unit]);
}

static void pci_log_function(const struct pci_device *device)
{
    char line[384];
    size_t used = 0;
#define PCI_APPEND(...)                                                                  \
    do {                                                                                 \
        if (used < sizeof line)                                                          \
            used += (size_t)snprintf(line + used, sizeof line - used, __VA_ARGS__);      \
    } while (0)
    PCI_APPEND("pci %02x:%02x.%x %04x:%04x class %02x.%02x (%s)", device->bus, device->device,
               device->function, device->vendor_id, device->device_id, device->class_code, device->subclass,
               pci_class_name(device->class_code));
    if (pci_header_layout(device) == PCI_HEADER_BRIDGE)
        PCI_APPEND(" bridge to bus %02x", device->secondary_bus);
    if (device->interrupt_pin != 0) {
        char pin = device->interrupt_pin <= 4 ? (char)('A' + device->interrupt_pin - 1) : '?';
        if (device->interrupt_line != 0xFF)
            PCI_APPEND(" irq %u pin %c", device->interrupt_line, pin);
        else
            PCI_APPEND(" pin %c", pin);
    }
    for (unsigned i = 0; i < PCI_BARS_MAX; i++) {
        const struct pci_bar *bar = &device->bars[i];
        if (bar->type == PCI_BAR_NONE)
            continue;
        char size[24];
        pci_format_size(size, sizeof size, bar->size);
        const char *kind = bar->type == PCI_BAR_IO ? "io" : bar->address_64bit ? "mem64" : "mem";
        PCI_APPEND(" bar%u %s%s 0x%llx+%s", i, kind, bar->prefetchable ? " pref" : "",
                   (unsigned long long)bar->base, size);
    }
#undef PCI_APPEND
    log_info("%s\n", line);
}

static bool pci_bus_seen(uint8_t bus)
{
    return pci_buses_scanned[bus / 8] & (1u << (bus % 8));
}

static uint16_t pci_vendor_at(uint8_t bus, uint8_t device, uint8_t function)
{
    return (uint16_t)pci_config_read32(bus, device, function, PCI_VENDOR_ID);
}

static uint8_t pci_header_type_at(uint8_t bus, uint8_t device, uint8_t function)
{
    return (uint8_t)(pci_config_read32(bus, device, function, PCI_HEADER_TYPE & 0xFC) >> 16);
}

static void pci_scan_bus(uint8_t bus);

static void pci_read_header(struct pci_device *device, uint8_t bus, uint8_t slot, uint8_t function)
{
    *device = (struct pci_device){ .bus = bus, .device = slot, .function = function };
    uint32_t identity = pci_read_dword(device, PCI_VENDOR_ID);
    uint32_t class = pci_read_dword(device, PCI_REVISION);
    uint32_t interrupt = pci_read_dword(device, PCI_INTERRUPT_LINE);
    device->vendor_id = (uint16_t)identity;
    device->device_id = (uint16_t)(identity >> 16);
    device->revision = (uint8_t)class;
    device->prog_if = (uint8_t)(class >> 8);
    device->subclass = (uint8_t)(class >> 16);
    device->class_code = (uint8_t)(class >> 24);
    device->header_type = pci_read8(device, PCI_HEADER_TYPE);
    device->interrupt_line = (uint8_t)interrupt;
    device->interrupt_pin = (uint8_t)(interrupt >> 8);
    if (pci_header_layout(device) == PCI_HEADER_BRIDGE)
        device->secondary_bus = pci_read8(device, PCI_SECONDARY_BUS);
}

static void pci_scan_function(uint8_t bus, uint8_t slot, uint8_t function)
{
    struct pci_device *device = &pci_device_beyond_table;
    if (pci_devices_recorded < PCI_DEVICES_MAX)
        device = &pci_devices[pci_devices_recorded++];
    else
        pci_devices_dropped++;
    pci_read_header(device, bus, slot, function);
    pci_size_bars(device);
    pci_log_function(device);

    if (pci_header_layout(device) != PCI_HEADER_BRIDGE)
        return;
    // Copied out: the scan below may reuse pci_device_beyond_table.
    uint8_t secondary = device->secondary_bus;
    if (secondary == 0)
        log_warning("pci %02x:%02x.%x: bridge without a bus number behind it; not followed\n", bus, slot,
                    function);
    else if (pci_bus_seen(secondary))
        log_warning("pci %02x:%02x.%x: bridge to bus %02x, which was scanned already; not followed\n", bus, slot,
                    function, secondary);
    else
        pci_scan_bus(secondary);
}

static void pci_scan_slot(uint8_t bus, uint8_t slot)
{
    if (pci_vendor_at(bus, slot, 0) == PCI_VENDOR_NONE)
        return;
    pci_scan_function(bus, slot, 0);
    if (!(pci_header_type_at(bus, slot, 0) & PCI_HEADER_MULTIFUNCTION))
        return;
    for (uint8_t function = 1; function < PCI_FUNCTIONS_PER_DEVICE; function++)
        if (pci_vendor_at(bus, slot, function) != PCI_VENDOR_NONE)
            pci_scan_function(bus, slot, function);
}

static void pci_scan_bus(uint8_t bus)
{
    pci_buses_scanned[bus / 8] |= (uint8_t)(1u << (bus % 8));
    pci_bus_count++;
    for (uint8_t slot = 0; slot < PCI_DEVICES_PER_BUS; slot++)
        pci_scan_slot(bus, slot);
}

// Bus 0, and the root bus of every further host controller at 00:00.
static void pci_scan_roots(void)
{
    pci_scan_bus(0);
    if (pci_vendor_at(0, 0, 0) == PCI_VENDOR_NONE || !(pci_header_type_at(0, 0, 0) & PCI_HEADER_MULTIFUNCTION))
        return;
    for (uint8_t function = 1; function < PCI_FUNCTIONS_PER_DEVICE; function++) {
        uint32_t class = pci_config_read32(0, 0, function, PCI_REVISION);
        bool host_controller = pci_vendor_at(0, 0, function) != PCI_VENDOR_NONE &&
                               (uint8_t)(class >> 24) == PCI_CLASS_BRIDGE &&
                               (uint8_t)(class >> 16) == PCI_SUBCLASS_BRIDGE_HOST;
        if (host_controller && !pci_bus_seen(function))
            pci_scan_bus(function);
    }
}

void pci_init(void)
{
    if (pci_enumerated)
        return;
    pci_enumerated = true;
    uint64_t flags = spinlock_lock_irqsave(&pci_lock);
    pci_scan_roots();
    spinlock_unlock_irqrestore(&pci_lock, flags);
    if (pci_devices_recorded == 0)
        log_warning("pci: no function answered on bus 0: configuration mechanism #1 may be missing\n");
    if (pci_devices_dropped)
        log_warning("pci: %zu more functions than the table's %d were not recorded\n", pci_devices_dropped,
                    PCI_DEVICES_MAX);
    log_info("pci: %zu functions on %zu bus%s\n", pci_devices_recorded + pci_devices_dropped, pci_bus_count,
             pci_bus_count == 1 ? "" : "es");
}

/* ---- the table --------------------------------------------------------- */

size_t pci_device_count(void)
{
    return pci_devices_recorded;
}

const struct pci_device *pci_device_at(size_t index)
{
    return index < pci_devices_recorded ? &pci_devices[index] : NULL;
}

const struct pci_device *pci_find(uint16_t vendor_id, uint16_t device_id)
{
    for (size_t i = 0; i < pci_devices_recorded; i++)
        if (pci_devices[i].vendor_id == vendor_id && pci_devices[i].device_id == device_id)
            return &pci_devices[i];
    return NULL;
}

const struct pci_device *pci_find_class(uint8_t class_code, uint8_t subclass)
{
    for (size_t i = 0; i < pci_devices_recorded; i++)
        if (pci_devices[i].class_code == class_code && pci_devices[i].subclass == subclass)
            return &pci_devices[i];
    return NULL;
}

const struct pci_device *pci_find_address(uint8_t bus, uint8_t device, uint8_t function)
{
    for (size_t i = 0; i < pci_devices_recorded; i++)
        if (pci_devices[i].bus == bus && pci_devices[i].device == device && pci_devices[i].function == function)
            return &pci_devices[i];
    return NULL;
}

/* ---- what drivers do --------------------------------------------------- */

void pci_enable(const struct pci_device *device, bool memory, bool io, bool bus_master)
{
    uint16_t wanted = (memory ? PCI_COMMAND_MEMORY : 0) | (io ? PCI_COMMAND_IO : 0) |
                      (bus_master ? PCI_COMMAND_BUS_MASTER : 0);
    uint64_t flags = spinlock_lock_irqsave(&pci_lock);
    uint16_t command = (uint16_t)pci_read_dword(device, PCI_COMMAND);
    if ((command & wanted) != wanted)
        pci_write_field(device, PCI_COMMAND, 0xFFFF, command | wanted);
    spinlock_unlock_irqrestore(&pci_lock, flags);
}

uint8_t pci_find_capability(const struct pci_device *device, uint8_t id)
{
    if (!(pci_read16(device, PCI_STATUS) & PCI_STATUS_CAPABILITIES))
        return 0;
    uint8_t pointer = pci_header_layout(device) == PCI_HEADER_CARDBUS ? PCI_CARDBUS_CAPABILITIES_POINTER
                                                                       : PCI_CAPABILITIES_POINTER;
    uint8_t offset = pci_read8(device, pointer) & 0xFC;
    for (int walked = 0; offset >= PCI_CAPABILITY_FIRST && walked < PCI_CAPABILITY_WALK_MAX; walked++) {
        uint16_t entry = pci_read16(device, offset);
        uint8_t entry_id = (uint8_t)entry;
        if (entry_id == 0xFF)
            return 0;   // all ones: the function is gone, or the list is garbage
        if (entry_id == id)
            return offset;
        offset = (uint8_t)(entry >> 8) & 0xFC;
    }
    return 0;
}

bool pci_enable_msi(const struct pci_device *device, uint8_t vector, uint32_t apic_id)
{
    uint8_t msi = pci_find_capability(device, PCI_CAPABILITY_MSI);
    if (msi == 0)
        return false;
    if (vector < MSI_VECTOR_FIRST || apic_id > 0xFF) {
        log_warning("pci %02x:%02x.%x: MSI cannot deliver vector %u to APIC id %u\n", device->bus, device->device,
                    device->function, vector, apic_id);
        return false;
    }
    uint64_t flags = spinlock_lock_irqsave(&pci_lock);
    uint16_t control = pci_read16(device, (uint8_t)(msi + MSI_CONTROL));
    bool wide = control & MSI_CONTROL_64BIT;
    // Off while the message changes, so the function never sends half of
    // an old one; and one vector only (multiple message enable 0).
    control &= (uint16_t) ~(MSI_CONTROL_ENABLE | MSI_CONTROL_MULTIPLE_ENABLE);
    pci_write_field(device, (uint8_t)(msi + MSI_CONTROL), 0xFFFF, control);

    pci_write_dword(device, (uint8_t)(msi + MSI_ADDRESS),
                    MSI_ADDRESS_LOCAL_APIC | apic_id << MSI_ADDRESS_DESTINATION_SHIFT);
    if (wide)
        pci_write_dword(device, (uint8_t)(msi + MSI_ADDRESS_UPPER), 0);
    // Bits 8-10 (delivery mode) 0: fixed; bit 15 (trigger mode) 0: edge.
    pci_write_field(device, (uint8_t)(msi + (wide ? MSI_DATA_64 : MSI_DATA_32)), 0xFFFF, vector);
    if (control & MSI_CONTROL_PER_VECTOR_MASKING) {
        uint8_t mask = (uint8_t)(msi + (wide ? MSI_MASK_64 : MSI_MASK_32));
        pci_write_dword(device, mask, pci_read_dword(device, mask) & ~1u);
    }

    // With MSI on, the function must not also raise its pin.
    uint16_t command = (uint16_t)pci_read_dword(device, PCI_COMMAND);
    pci_write_field(device, PCI_COMMAND, 0xFFFF, command | PCI_COMMAND_INTERRUPT_DISABLE);
    pci_write_field(device, (uint8_t)(msi + MSI_CONTROL), 0xFFFF, control | MSI_CONTROL_ENABLE);
    spinlock_unlock_irqrestore(&pci_lock, flags);
    return true;
}
