/* Monotonic time from the TSC (kernel/time.c). */
#ifndef HARDWAY_TIME_H
#define HARDWAY_TIME_H

#include <stdbool.h>
#include <stdint.h>

// Measures the TSC and the local APIC timer against the PIT, in two halves
// so that other boot steps can run in between. Boot CPU only, local APIC on.
// The ACPI PM timer's I/O port (0 when there is none) is the fallback
// reference should the PIT not count.
void time_calibration_start(uint16_t acpi_pm_timer_port, bool acpi_pm_timer_32bit);
void time_calibration_finish(void);
// Nanoseconds since the calibration's reference point; monotonic on each CPU.
uint64_t nanotime(void);
// Converts a TSC count difference to nanoseconds, and back.
uint64_t time_tsc_to_nanoseconds(uint64_t tsc_ticks);
uint64_t time_nanoseconds_to_tsc(uint64_t nanoseconds);
// The TSC value at which nanotime() will read `nanoseconds`.
uint64_t time_nanotime_to_tsc(uint64_t nanoseconds);
// Spins for `nanoseconds` (for the few waits that come before any scheduler).
void time_busy_wait(uint64_t nanoseconds);
uint64_t time_tsc_hz(void);
uint64_t time_lapic_timer_hz(void);
bool time_tsc_invariant(void);

#endif
