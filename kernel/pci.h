/*
 * PCI: the functions on the PCI buses, found once at boot, their BARs sized,
 * and what drivers do with them -- enable decoding and bus mastering, walk
 * the capability list, switch to MSI. See kernel/pci.c for how and why.
 */
#ifndef HARDWAY_PCI_H
#define HARDWAY_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Offsets in the configuration header every function has (type 0 and 1 alike
// up to 0x0F, and at 0x34 and 0x3C).
#define PCI_VENDOR_ID            0x00   // 16 bits; 0xFFFF: no function here
#define PCI_DEVICE_ID            0x02   // 16 bits
#define PCI_COMMAND              0x04   // 16 bits, PCI_COMMAND_*
#define PCI_STATUS               0x06   // 16 bits; error bits clear when written with 1
#define PCI_REVISION             0x08
#define PCI_PROG_IF              0x09
#define PCI_SUBCLASS             0x0A
#define PCI_CLASS_CODE           0x0B
#define PCI_HEADER_TYPE          0x0E   // PCI_HEADER_* in bits 0-6, multi-function in bit 7
#define PCI_BAR0                 0x10   // base address registers, 4 bytes each
#define PCI_SECONDARY_BUS        0x19   // type 1 (bridge): the bus behind it
#define PCI_SECONDARY_STATUS     0x1E   // type 1 (bridge): 16 bits, cleared like PCI_STATUS
#define PCI_CAPABILITIES_POINTER 0x34   // type 0 and 1; valid when PCI_STATUS_CAPABILITIES is set
#define PCI_INTERRUPT_LINE       0x3C   // the firmware's ISA IRQ for the pin; 0xFF: none
#define PCI_INTERRUPT_PIN        0x3D   // 0: none, 1-4: INTA#-INTD#

#define PCI_COMMAND_IO                (1u << 0)    // respond to the I/O BARs
#define PCI_COMMAND_MEMORY            (1u << 1)    // respond to the memory BARs
#define PCI_COMMAND_BUS_MASTER        (1u << 2)    // may start transfers itself: DMA, and MSI writes
#define PCI_COMMAND_INTERRUPT_DISABLE (1u << 10)   // INTx# pin held inactive
#define PCI_STATUS_CAPABILITIES       (1u << 4)    // PCI_CAPABILITIES_POINTER starts a list

#define PCI_HEADER_LAYOUT_MASK     0x7F
#define PCI_HEADER_MULTIFUNCTION   0x80
#define PCI_HEADER_GENERAL         0x00   // a device: 6 BARs
#define PCI_HEADER_BRIDGE          0x01   // a PCI-to-PCI bridge: 2 BARs, bus numbers
#define PCI_HEADER_CARDBUS         0x02

#define PCI_CLASS_STORAGE          0x01
#define PCI_CLASS_NETWORK          0x02
#define PCI_CLASS_DISPLAY          0x03
#define PCI_CLASS_BRIDGE           0x06
#define PCI_SUBCLASS_NETWORK_ETHERNET 0x00
#define PCI_SUBCLASS_BRIDGE_HOST   0x00
#define PCI_SUBCLASS_BRIDGE_ISA    0x01
#define PCI_SUBCLASS_BRIDGE_PCI    0x04

// Capability IDs (the first byte of each entry in the capability list).
#define PCI_CAPABILITY_POWER_MANAGEMENT 0x01
#define PCI_CAPABILITY_MSI              0x05
#define PCI_CAPABILITY_VENDOR           0x09
#define PCI_CAPABILITY_EXPRESS          0x10
#define PCI_CAPABILITY_MSIX             0x11

#define PCI_BARS_MAX    6
// Functions the table holds; more are counted and reported, not recorded.
#define PCI_DEVICES_MAX 256

enum pci_bar_type {
    PCI_BAR_NONE,     // not implemented, or the upper half of the 64-bit BAR before it
    PCI_BAR_MEMORY,
    PCI_BAR_IO,
};

struct pci_bar {
    enum pci_bar_type type;
    bool address_64bit;   // memory: this slot and the next hold one 64-bit address
    bool prefetchable;    // memory: reads have no side effects
    uint64_t base;        // where the firmware put it (bus address = physical address on a PC); 0: unassigned
    uint64_t size;        // in bytes (memory) or ports (I/O); a power of two
};

// One function, as enumeration found it. The fields are copies of its
// configuration header; bars[] is decoded and sized.
struct pci_device {
    uint8_t bus, device, function;
    uint16_t vendor_id, device_id;
    uint8_t class_code, subclass, prog_if, revision;
    uint8_t header_type;        // as read: PCI_HEADER_* in bits 0-6, PCI_HEADER_MULTIFUNCTION
    uint8_t interrupt_line;     // PCI_INTERRUPT_LINE
    uint8_t interrupt_pin;      // PCI_INTERRUPT_PIN
    uint8_t secondary_bus;      // a PCI-to-PCI bridge's; 0 for everything else
    struct pci_bar bars[PCI_BARS_MAX];
};

// Enumerates every function once, records it and logs one line for each:
//   pci 00:03.0 8086:100e class 02.00 (network) irq 11 pin A bar0 mem 0xfebc0000+128K bar1 io 0xc000+64
// Later calls do nothing. Run on the boot CPU before the drivers start.
void pci_init(void);

// The table pci_init filled, in the order enumeration met the functions
// (depth first through bridges). pci_device_at returns NULL past the end.
size_t pci_device_count(void);
const struct pci_device *pci_device_at(size_t index);
// The first function with these IDs, or NULL.
const struct pci_device *pci_find(uint16_t vendor_id, uint16_t device_id);
// The first function of this class and subclass (PCI_CLASS_*, PCI_SUBCLASS_*), or NULL.
const struct pci_device *pci_find_class(uint8_t class_code, uint8_t subclass);
// The first function at bus:device.function, or NULL.
const struct pci_device *pci_find_address(uint8_t bus, uint8_t device, uint8_t function);
// "network", "bridge", ... for a class code; "unknown class" when unlisted.
const char *pci_class_name(uint8_t class_code);

// Turns on memory decoding, I/O decoding and bus mastering (DMA, and the
// memory writes MSI interrupts are), each when asked; never turns any off.
void pci_enable(const struct pci_device *device, bool memory, bool io, bool bus_master);

// The offset of the first capability with this ID (PCI_CAPABILITY_*) in the
// function's capability list, or 0 when it has none or no list.
uint8_t pci_find_capability(const struct pci_device *device, uint8_t id);

// Switches the function from its INTx# pin to one MSI vector: its MSI
// capability is programmed to write `vector` (32-255; fixed delivery, edge)
// to the local APIC with `apic_id` (0-255, physical destination), INTx# is
// disabled, MSI is enabled. The function must also be a bus master
// (pci_enable) for its interrupts to arrive. Returns false, changing
// nothing, when the function has no MSI capability or the vector or APIC ID
// cannot be expressed.
bool pci_enable_msi(const struct pci_device *device, uint8_t vector, uint32_t apic_id);

// A function's configuration space for drivers. `offset` must be a multiple
// of the width. A narrow write rewrites its whole dword (the hardware's unit)
// but writes zeros into a neighbouring status register, whose bits clear
// when written with 1, so writing the command register leaves pending status
// alone. Misaligned accesses are refused with a warning: reads give all ones.
uint8_t pci_read8(const struct pci_device *device, uint8_t offset);
uint16_t pci_read16(const struct pci_device *device, uint8_t offset);
uint32_t pci_read32(const struct pci_device *device, uint8_t offset);
void pci_write8(const struct pci_device *device, uint8_t offset, uint8_t value);
void pci_write16(const struct pci_device *device, uint8_t offset, uint16_t value);
void pci_write32(const struct pci_device *device, uint8_t offset, uint32_t value);

// The hardware underneath: one aligned dword of configuration space
// (kernel/pci_config.c, configuration mechanism #1 on ports 0xCF8/0xCFC, in
// the kernel; tests/unit/fake_pci_config.c in the unit tests). `offset` is
// a multiple of 4. A function that is not there reads as 0xFFFFFFFF and
// ignores writes.
uint32_t pci_config_read32(uint8_t bus, uint8_t device, uint8_t function, uint8_t offset);
void pci_config_write32(uint8_t bus, uint8_t device, uint8_t function, uint8_t offset, uint32_t value);

#endif
