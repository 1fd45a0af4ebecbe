/*
 * The I/O APIC: where device interrupt lines enter the APIC world.
 *
 * Each IOAPIC has a range of inputs, numbered globally as "global system
 * interrupts" (GSIs) from its GSI base, and a redirection entry per input
 * that says which vector to raise on which CPU, with which polarity and
 * trigger mode. Its registers sit behind an index/data pair of MMIO windows
 * (IOREGSEL at +0x00, IOWIN at +0x10).
 *
 * Legacy ISA interrupts (timer 0, keyboard 1, COM1 4, ...) arrive on the GSI
 * of the same number unless the MADT says otherwise in an "interrupt source
 * override" (QEMU, for one, wires the PIT's IRQ 0 to GSI 2); ISA lines are
 * active-high and edge-triggered unless the override says otherwise.
 *
 * At boot every input is masked; drivers route what they use.
 */
#include "ioapic.h"
#include "physical.h"
#include "printk.h"
#include "spinlock.h"

#define IOAPIC_REGISTER_SELECT 0x00
#define IOAPIC_WINDOW 0x10
#define IOAPIC_VERSION 0x01
#define IOAPIC_REDIRECTION_TABLE 0x10

#define REDIRECTION_MASKED       (1u << 16)
#define REDIRECTION_LEVEL        (1u << 15)
#define REDIRECTION_ACTIVE_LOW   (1u << 13)


struct ioapic {
    volatile uint32_t *registers;
    uint32_t gsi_base;
    uint32_t input_count;
};

static struct ioapic ioapics[ACPI_IOAPICS_MAX];
static size_t ioapic_count;
static const struct acpi_info *acpi;
static struct spinlock ioapic_lock = SPINLOCK_INITIALIZER;

static uint32_t ioapic_read(struct ioapic *ioapic, uint32_t reg)
{
    ioapic->registers[IOAPIC_REGISTER_SELECT / 4] = reg;
    return ioapic->registers[IOAPIC_WINDOW / 4];
}

static void ioapic_write(struct ioapic *ioapic, uint32_t reg, uint32_t value)
{
    ioapic->registers[IOAPIC_REGISTER_SELECT / 4] = reg;
    ioapic->registers[IOAPIC_WINDOW / 4] = value;
}

static struct ioapic *ioapic_for_gsi(uint32_t gsi)
{
    for (size_t i = 0; i < ioapic_count; i++)
        if (gsi >= ioapics[i].gsi_base && gsi < ioapics[i].gsi_base + ioapics[i].input_count)
            return &ioapics[i];
    return NULL;
}

void ioapic_init(const struct acpi_info *info)
{
    acpi = info;
    for (size_t i = 0; i < info->ioapic_count && i < ACPI_IOAPICS_MAX; i++) {
        struct ioapic *ioapic = &ioapics[ioapic_count++];
        ioapic->registers = physical_to_virtual(info->ioapics[i].address);
        ioapic->gsi_base = info->ioapics[i].gsi_base;
        ioapic->input_count = ((ioapic_read(ioapic, IOAPIC_VERSION) >> 16) & 0xFF) + 1;
        for (uint32_t input = 0; input < ioapic->input_count; input++) {
            ioapic_write(ioapic, IOAPIC_REDIRECTION_TABLE + 2 * input, REDIRECTION_MASKED);
            ioapic_write(ioapic, IOAPIC_REDIRECTION_TABLE + 2 * input + 1, 0);
        }
    }
    if (ioapic_count == 0)
        log_warning("ioapic: the MADT lists no IOAPIC; device interrupts are unavailable\n");
}

bool ioapic_route_gsi(uint32_t gsi, uint8_t vector, uint32_t apic_id, bool active_low, bool level_triggered)
{
    struct ioapic *ioapic = ioapic_for_gsi(gsi);
    if (ioapic == NULL) {
        log_warning("ioapic: no IOAPIC serves GSI %u\n", gsi);
        return false;
    }
    uint32_t input = gsi - ioapic->gsi_base;
    uint32_t low = vector | (active_low ? REDIRECTION_ACTIVE_LOW : 0) | (level_triggered ? REDIRECTION_LEVEL : 0);
    uint64_t flags = spinlock_lock_irqsave(&ioapic_lock);
    // Destination first, then the low half, which unmasks the entry.
    ioapic_write(ioapic, IOAPIC_REDIRECTION_TABLE + 2 * input + 1, apic_id << 24);
    ioapic_write(ioapic, IOAPIC_REDIRECTION_TABLE + 2 * input, low);
    spinlock_unlock_irqrestore(&ioapic_lock, flags);
    return true;
}

// The GSI an ISA interrupt arrives on, with its polarity and trigger mode.
static uint32_t isa_irq_to_gsi(uint8_t irq, bool *active_low, bool *level_triggered)
{
    *active_low = false;
    *level_triggered = false;
    for (size_t i = 0; acpi && i < acpi->override_count; i++) {
        const struct acpi_interrupt_override *override = &acpi->overrides[i];
        if (override->bus == 0 && override->source == irq) {
            *active_low = override->active_low;
            *level_triggered = override->level_triggered;
            return override->gsi;
        }
    }
    return irq;
}

bool ioapic_route_isa_irq(uint8_t irq, uint8_t vector, uint32_t apic_id)
{
    bool active_low, level;
    uint32_t gsi = isa_irq_to_gsi(irq, &active_low, &level);
    return ioapic_route_gsi(gsi, vector, apic_id, active_low, level);
}

void ioapic_mask_isa_irq(uint8_t irq)
{
    bool active_low, level;
    ioapic_mask_gsi(isa_irq_to_gsi(irq, &active_low, &level));
}

void ioapic_mask_gsi(uint32_t gsi)
{
    struct ioapic *ioapic = ioapic_for_gsi(gsi);
    if (ioapic == NULL)
        return;
    uint64_t flags = spinlock_lock_irqsave(&ioapic_lock);
    ioapic_write(ioapic, IOAPIC_REDIRECTION_TABLE + 2 * (gsi - ioapic->gsi_base), REDIRECTION_MASKED);
    spinlock_unlock_irqrestore(&ioapic_lock, flags);
}
