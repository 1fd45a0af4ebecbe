/*
 * selftest=pci: what enumeration (kernel/pci.c) found on the real -- well,
 * emulated -- machine, checked against what QEMU's PC is known to have.
 *
 *   found       at least one function answered;
 *   host bridge 00:00.0 is a host bridge (class 06.00), as on every PC;
 *   e1000       tools/run-qemu gives the machine an Intel 82540EM (8086:100e):
 *               an Ethernet controller (class 02.00) with a 128 KiB memory
 *               BAR0 the firmware has placed, and an interrupt pin;
 *   restored    sizing wrote all ones into its BARs and turned its decoding
 *               off and on: BAR0 reads back the recorded base, memory
 *               decoding is on again (SeaBIOS and OVMF both leave it on),
 *               and the device answers there -- its STATUS register (0x08)
 *               does not read as all ones, which is what a read that no
 *               device decodes returns.
 *
 * Read-only apart from mapping BAR0: the e1000 itself is its driver's.
 */
#include "drivers/e1000_registers.h"
#include "paging.h"
#include "pci.h"
#include "physical.h"
#include "printk.h"
#include "selftest.h"
#include <stdio.h>

#define E1000_VENDOR_ID 0x8086
#define E1000_82540EM_DEVICE_ID 0x100e
#define E1000_BAR0_SIZE (128 * 1024)

bool selftest_pci_run(char *reason, size_t size)
{
    size_t count = pci_device_count();
    if (count == 0) {
        snprintf(reason, size, "enumeration found no PCI function");
        return false;
    }

    const struct pci_device *host = pci_find_address(0, 0, 0);
    if (!host) {
        snprintf(reason, size, "no function at 00:00.0 (%zu found)", count);
        return false;
    }
    if (host->class_code != PCI_CLASS_BRIDGE || host->subclass != PCI_SUBCLASS_BRIDGE_HOST) {
        snprintf(reason, size, "00:00.0 (%04x:%04x) is class %02x.%02x, not a host bridge (06.00)", host->vendor_id,
                 host->device_id, host->class_code, host->subclass);
        return false;
    }

    const struct pci_device *nic = pci_find(E1000_VENDOR_ID, E1000_82540EM_DEVICE_ID);
    if (!nic) {
        snprintf(reason, size, "no 8086:100e (the e1000 QEMU is given) among %zu functions", count);
        return false;
    }
    if (nic->class_code != PCI_CLASS_NETWORK || nic->subclass != PCI_SUBCLASS_NETWORK_ETHERNET) {
        snprintf(reason, size, "the e1000 is class %02x.%02x, not 02.00", nic->class_code, nic->subclass);
        return false;
    }
    const struct pci_bar *bar = &nic->bars[0];
    if (bar->type != PCI_BAR_MEMORY || bar->size != E1000_BAR0_SIZE || bar->base == 0) {
        snprintf(reason, size, "the e1000's BAR0 is type %d, at %#llx, %llu bytes: expected memory, placed, 128 KiB",
                 bar->type, (unsigned long long)bar->base, (unsigned long long)bar->size);
        return false;
    }
    if (nic->interrupt_pin < 1 || nic->interrupt_pin > 4) {
        snprintf(reason, size, "the e1000 has interrupt pin %u, not INTA#-INTD#", nic->interrupt_pin);
        return false;
    }

    uint32_t bar0 = pci_read32(nic, PCI_BAR0);
    if ((bar0 & 0xFFFFFFF0u) != bar->base) {
        snprintf(reason, size, "the e1000's BAR0 reads %#x after sizing, not its base %#llx", bar0,
                 (unsigned long long)bar->base);
        return false;
    }
    if (!(pci_read16(nic, PCI_COMMAND) & PCI_COMMAND_MEMORY)) {
        snprintf(reason, size, "the e1000's memory decoding is off after sizing (command %#x)",
                 pci_read16(nic, PCI_COMMAND));
        return false;
    }
    if (!paging_map_mmio(bar->base, bar->size)) {
        snprintf(reason, size, "cannot map the e1000's BAR0 at %#llx", (unsigned long long)bar->base);
        return false;
    }
    uint32_t status = *(volatile uint32_t *)((volatile uint8_t *)physical_to_virtual(bar->base) + E1000_STATUS);
    if (status == 0xFFFFFFFFu) {
        snprintf(reason, size, "nothing answers at the e1000's BAR0 (%#llx): STATUS reads all ones",
                 (unsigned long long)bar->base);
        return false;
    }
    log_info("selftest pci: %zu functions; host bridge %04x:%04x; e1000 at %02x:%02x.%x, BAR0 %#llx, pin %c, "
             "STATUS %#x\n",
             count, host->vendor_id, host->device_id, nic->bus, nic->device, nic->function,
             (unsigned long long)bar->base, 'A' + nic->interrupt_pin - 1, status);
    return true;
}
