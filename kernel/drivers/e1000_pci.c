/*
 * e1000_pci.c: the e1000 in the kernel -- found on PCI, its registers
 * mapped, its rings in physical memory, its interrupt routed -- and handed
 * to the network glue as a struct net_device (net/netif.h).
 *
 * The driver core (e1000.c) knows only registers and DMA memory; this file
 * is what ties it to this machine:
 *
 *   finding     pci_find for the models we know: QEMU's 82540EM (8086:100e)
 *               and VMware's 82545EM (8086:100f)
 *   registers   BAR0, 128 KiB, mapped uncached (paging_map_mmio); memory
 *               decoding and bus mastering on (the card does DMA)
 *   memory      whole pages from the physical allocator, zeroed, reached
 *               through the kernel's direct map
 *   checksums   TCP checksums of frames sent are left to the card, and its
 *               verdicts on received frames passed on (net/checksum_offload.h)
 *   interrupt   the card's INTx# pin, which the firmware routed to the ISA
 *               IRQ in its interrupt line register, through the IOAPIC (with
 *               the MADT's polarity and trigger for it), to the CPU that
 *               attached it. Neither of the models above has MSI in QEMU.
 *
 * The interrupt handler reads the cause (which clears it and lowers the
 * pin), masks the card, and signals the goroutine (netif.c): NAPI.
 */
#include "e1000.h"
#include "ioapic.h"
#include "netif.h"
#include "paging.h"
#include "pci.h"
#include "percpu.h"
#include "physical.h"
#include "pmm.h"
#include "printk.h"
#include "traps.h"
#include "e1000_attach.h"
#include <stdio.h>
#include <string.h>

#define PAGE_BYTES 4096

static const struct {
    uint16_t vendor, device;
    const char *model;
} e1000_models[] = {
    { 0x8086, 0x100e, "82540EM" },
    { 0x8086, 0x100f, "82545EM" },
};

static struct e1000 e1000_nic;
static struct net_device e1000_device;

static void *e1000_allocate_dma(void *context, size_t size, uint64_t *physical_address)
{
    (void)context;
    size_t pages = (size + PAGE_BYTES - 1) / PAGE_BYTES;
    uint64_t physical = pmm_alloc_pages(pages);
    if (physical == 0)
        return NULL;
    void *memory = physical_to_virtual(physical);
    memset(memory, 0, pages * PAGE_BYTES);
    *physical_address = physical;
    return memory;
}

/* --- The operations the network glue calls (netif.h) --------------------------- */

static bool e1000_device_transmit(struct net_device *device, const void *frame, size_t length,
                                  const struct net_transmit_checksum *checksum)
{
    if (checksum == NULL)
        return e1000_transmit(device->driver, frame, length, NULL);
    if (checksum->start > UINT8_MAX || checksum->offset > UINT8_MAX)
        return false;   // beyond what a context descriptor can say; never for TCP over IPv4
    struct e1000_transmit_checksum layout = { (uint8_t)checksum->start, (uint8_t)checksum->offset };
    return e1000_transmit(device->driver, frame, length, &layout);
}

// The network glue's delivery, with the driver's verdicts on checksums in
// the glue's terms.
struct e1000_delivery {
    void (*deliver)(void *context, const void *frame, size_t length, unsigned verified);
    void *context;
};

static void e1000_deliver(void *context, const void *frame, size_t length, unsigned verified)
{
    struct e1000_delivery *delivery = context;
    unsigned net_verified = 0;
    if (verified & E1000_VERIFIED_IPV4_HEADER)
        net_verified |= NET_VERIFIED_IPV4_HEADER;
    if (verified & E1000_VERIFIED_TCP_UDP)
        net_verified |= NET_VERIFIED_TCP_UDP;
    delivery->deliver(delivery->context, frame, length, net_verified);
}

static size_t e1000_device_receive(struct net_device *device,
                                   void (*deliver)(void *context, const void *frame, size_t length,
                                                   unsigned verified),
                                   void *context, size_t budget)
{
    struct e1000_delivery delivery = { deliver, context };
    return e1000_receive(device->driver, e1000_deliver, &delivery, budget);
}

static void e1000_device_reclaim(struct net_device *device)
{
    e1000_transmit_reclaim(device->driver);
}

static bool e1000_device_link_up(struct net_device *device)
{
    return e1000_link_up(device->driver);
}

static void e1000_device_interrupts_enable(struct net_device *device)
{
    e1000_interrupts_enable(device->driver);
}

static const struct net_device_operations e1000_operations = {
    .transmit = e1000_device_transmit,
    .receive = e1000_device_receive,
    .reclaim = e1000_device_reclaim,
    .link_up = e1000_device_link_up,
    .interrupts_enable = e1000_device_interrupts_enable,
};

static void e1000_interrupt(struct trap_frame *frame)
{
    (void)frame;
    // ICR is zero when the interrupt was another device's on a shared line.
    if (e1000_interrupt_cause(&e1000_nic) == 0)
        return;
    e1000_interrupts_disable(&e1000_nic);
    netpoll_signal(&e1000_device.interrupt);
}

struct net_device *e1000_attach(char *error, size_t error_size)
{
    const struct pci_device *pci = NULL;
    const char *model = NULL;
    for (size_t i = 0; i < sizeof e1000_models / sizeof e1000_models[0] && pci == NULL; i++) {
        pci = pci_find(e1000_models[i].vendor, e1000_models[i].device);
        model = e1000_models[i].model;
    }
    if (pci == NULL) {
        snprintf(error, error_size, "no e1000 (82540EM or 82545EM) on PCI");
        return NULL;
    }
    const struct pci_bar *bar = &pci->bars[0];
    if (bar->type != PCI_BAR_MEMORY || bar->base == 0 || bar->size < 128 * 1024) {
        snprintf(error, error_size, "the %s at %02x:%02x.%x has no usable register BAR", model, pci->bus, pci->device,
                 pci->function);
        return NULL;
    }
    if (!paging_map_mmio(bar->base, bar->size)) {
        snprintf(error, error_size, "cannot map the %s's registers at %#llx", model, (unsigned long long)bar->base);
        return NULL;
    }
    pci_enable(pci, true, false, true);
    struct e1000_dma dma = { .allocate = e1000_allocate_dma };
    char reason[128];
    if (!e1000_init(&e1000_nic, physical_to_virtual(bar->base), &dma, reason, sizeof reason)) {
        snprintf(error, error_size, "the %s did not start: %s", model, reason);
        return NULL;
    }
    if (pci->interrupt_pin == 0 || pci->interrupt_line >= 16) {
        snprintf(error, error_size, "the %s has no interrupt the firmware routed (pin %u, line %u)", model,
                 pci->interrupt_pin, pci->interrupt_line);
        return NULL;
    }
    uint8_t vector = (uint8_t)(VECTOR_DEVICE_BASE + pci->interrupt_line);
    interrupt_register(vector, e1000_interrupt);
    if (!ioapic_route_isa_irq(pci->interrupt_line, vector, this_cpu()->apic_id)) {
        snprintf(error, error_size, "no IOAPIC input for the %s's IRQ %u", model, pci->interrupt_line);
        return NULL;
    }
    e1000_device = (struct net_device){
        .name = "e1000",
        .mtu = 1500,
        .transmit_checksum = true,
        .operations = &e1000_operations,
        .driver = &e1000_nic,
    };
    memcpy(e1000_device.mac, e1000_nic.mac_address, sizeof e1000_device.mac);
    log_info("e1000: %s at %02x:%02x.%x, MAC %02x:%02x:%02x:%02x:%02x:%02x, IRQ %u, link %s\n", model, pci->bus,
             pci->device, pci->function, e1000_device.mac[0], e1000_device.mac[1], e1000_device.mac[2],
             e1000_device.mac[3], e1000_device.mac[4], e1000_device.mac[5], pci->interrupt_line,
             e1000_link_up(&e1000_nic) ? "up" : "down");
    return &e1000_device;
}
