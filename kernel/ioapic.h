/* The I/O APIC: routing device interrupts to CPUs (kernel/ioapic.c). */
#ifndef HARDWAY_IOAPIC_H
#define HARDWAY_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>
#include "acpi.h"

// Masks every input of every IOAPIC the MADT lists.
void ioapic_init(const struct acpi_info *acpi);
// Routes global system interrupt `gsi` to `vector` on the CPU with `apic_id`.
bool ioapic_route_gsi(uint32_t gsi, uint8_t vector, uint32_t apic_id, bool active_low, bool level_triggered);
// Routes legacy ISA interrupt `irq`, honouring the MADT's source overrides.
bool ioapic_route_isa_irq(uint8_t irq, uint8_t vector, uint32_t apic_id);
void ioapic_mask_gsi(uint32_t gsi);
void ioapic_mask_isa_irq(uint8_t irq);

#endif
