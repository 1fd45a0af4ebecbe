/* The local APIC: each CPU's interrupt controller, timer and IPI sender (kernel/lapic.c). */
#ifndef HARDWAY_LAPIC_H
#define HARDWAY_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

// Where this CPU's local APIC registers are (IA32_APIC_BASE), for mapping.
uint64_t lapic_physical_address(void);
// Enables the calling CPU's local APIC (x2APIC mode when the CPU has it).
void lapic_init_this_cpu(void);
bool lapic_ready(void);
bool lapic_x2apic_mode(void);
uint32_t lapic_id(void);
void lapic_end_of_interrupt(void);

void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
void lapic_send_nmi_to_others(void);
void lapic_send_init(uint32_t apic_id);
void lapic_send_startup(uint32_t apic_id, uint8_t page);

// The timer. One-shot: it counts down from `count` at the calibrated rate and
// interrupts on `vector` when it reaches zero.
void lapic_timer_one_shot(uint8_t vector, uint32_t count);
void lapic_timer_start_free_running(void);   // for calibration
uint32_t lapic_timer_current_count(void);
void lapic_timer_stop(void);
// TSC-deadline mode: interrupt on `vector` when the TSC reaches `deadline`.
bool lapic_tsc_deadline_supported(void);
void lapic_timer_tsc_deadline(uint8_t vector, uint64_t deadline);

#endif
