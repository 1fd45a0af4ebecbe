/* The 8254 programmable interval timer, used only as a reference clock (kernel/pit.c). */
#ifndef HARDWAY_PIT_H
#define HARDWAY_PIT_H

#include <stdint.h>

#define PIT_FREQUENCY_HZ 1193182u

// Starts a one-shot countdown of `ticks` PIT ticks (at most 65535) on channel 2.
void pit_start_countdown(uint16_t ticks);
// True once the countdown started by pit_start_countdown has reached zero.
int pit_countdown_done(void);
// The countdown's current value, read without disturbing it.
uint16_t pit_read_count(void);

// Channel 0, whose output is ISA interrupt 0: interrupts at about `hz` per
// second until stopped. Used to test interrupt routing (selftest=ioapic).
void pit_start_periodic(uint32_t hz);
void pit_stop_periodic(void);

#endif
