/*
 * PCI configuration mechanism #1: the two I/O ports every PC has for
 * reaching a function's 256 bytes of configuration space.
 *
 * Software writes an address to CONFIG_ADDRESS (0xCF8) -- enable bit 31,
 * bus in bits 16-23, device in 11-15, function in 8-10, the register's dword
 * offset in 2-7 -- and the host bridge turns the next access to CONFIG_DATA
 * (0xCFC) into a configuration cycle on that bus. Nothing decodes a function
 * that is not there, so the read ends in a master abort, which the bridge
 * returns as all ones: a vendor ID of 0xFFFF means "empty".
 *
 * The address is one register for the whole machine, so the write and the
 * access that follows must not interleave with another CPU's pair, nor with
 * an interrupt handler's on this CPU: a spinlock with interrupts off makes
 * the pair one step.
 *
 * Only whole dwords are offered; kernel/pci.c builds narrower accesses on
 * them. Kept apart from pci.c so that the unit tests can put an in-memory
 * configuration space (tests/unit/fake_pci_config.c) in its place.
 * Mechanism #1 reaches the first 256 bytes only; PCI Express's extended
 * space (through the MCFG table's memory window) is not used yet.
 */
#include "cpu.h"
#include "pci.h"
#include "spinlock.h"

#define PCI_CONFIG_ADDRESS_PORT 0xCF8
#define PCI_CONFIG_DATA_PORT    0xCFC
#define PCI_CONFIG_ENABLE       (1u << 31)

static struct spinlock pci_config_lock = SPINLOCK_INITIALIZER;

static uint32_t pci_config_address(uint8_t bus, uint8_t device, uint8_t function, uint8_t offset)
{
    return PCI_CONFIG_ENABLE | (uint32_t)bus << 16 | (uint32_t)(device & 0x1F) << 11 |
           (uint32_t)(function & 0x07) << 8 | (offset & 0xFC);
}

uint32_t pci_config_read32(uint8_t bus, uint8_t device, uint8_t function, uint8_t offset)
{
    uint64_t flags = spinlock_lock_irqsave(&pci_config_lock);
    outl(PCI_CONFIG_ADDRESS_PORT, pci_config_address(bus, device, function, offset));
    uint32_t value = inl(PCI_CONFIG_DATA_PORT);
    spinlock_unlock_irqrestore(&pci_config_lock, flags);
    return value;
}

void pci_config_write32(uint8_t bus, uint8_t device, uint8_t function, uint8_t offset, uint32_t value)
{
    uint64_t flags = spinlock_lock_irqsave(&pci_config_lock);
    outl(PCI_CONFIG_ADDRESS_PORT, pci_config_address(bus, device, function, offset));
    outl(PCI_CONFIG_DATA_PORT, value);
    spinlock_unlock_irqrestore(&pci_config_lock, flags);
}
