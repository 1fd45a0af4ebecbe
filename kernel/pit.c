/*
 * The 8254 PIT as a stopwatch, and as a test interrupt source.
 *
 * The PIT counts at a fixed, known 1.193182 MHz on every PC and every
 * hypervisor, which makes it the reference that the TSC and the local APIC
 * timer are measured against (kernel/time.c). Channel 2 is the one whose
 * output can be read back in software (bit 5 of port 0x61) and whose counting
 * is gated by bit 0 of the same port; it was wired to the PC speaker, so the
 * speaker bit (bit 1) is kept off. In mode 0 the output goes high when the
 * count reaches zero: "start, then poll until high" times an interval
 * without interrupts, and the latched count says how far it has got.
 *
 * Channel 0 is wired to ISA interrupt 0. hardway does not use it for time
 * (each CPU has its local APIC timer), but a known, steady interrupt source
 * is what a test of the IOAPIC's routing needs.
 */
#include "pit.h"
#include "cpu.h"

#define PIT_CHANNEL0_DATA   0x40
#define PIT_CHANNEL2_DATA   0x42
#define PIT_COMMAND         0x43
#define PORT_SPEAKER        0x61
#define SPEAKER_GATE2       0x01
#define SPEAKER_DATA        0x02
#define SPEAKER_OUT2        0x20
// Channel 2, low byte then high byte, mode 0 (interrupt on terminal count), binary.
#define PIT_CHANNEL2_MODE0  0xB0
// Channel 2, counter latch: freezes a copy of the count for reading.
#define PIT_CHANNEL2_LATCH  0x80
// Channel 0, low byte then high byte, mode 2 (rate generator) / mode 0, binary.
#define PIT_CHANNEL0_MODE2  0x34
#define PIT_CHANNEL0_MODE0  0x30

void pit_start_countdown(uint16_t ticks)
{
    outb(PORT_SPEAKER, (uint8_t)((inb(PORT_SPEAKER) & ~SPEAKER_DATA) | SPEAKER_GATE2));
    outb(PIT_COMMAND, PIT_CHANNEL2_MODE0);
    outb(PIT_CHANNEL2_DATA, ticks & 0xFF);
    outb(PIT_CHANNEL2_DATA, ticks >> 8);   // counting starts with this write
}

int pit_countdown_done(void)
{
    return (inb(PORT_SPEAKER) & SPEAKER_OUT2) != 0;
}

void pit_start_periodic(uint32_t hz)
{
    uint32_t divisor = PIT_FREQUENCY_HZ / (hz ? hz : 1);
    if (divisor > 0xFFFF)
        divisor = 0xFFFF;
    if (divisor < 2)
        divisor = 2;
    outb(PIT_COMMAND, PIT_CHANNEL0_MODE2);
    outb(PIT_CHANNEL0_DATA, divisor & 0xFF);
    outb(PIT_CHANNEL0_DATA, (uint8_t)(divisor >> 8));
}

void pit_stop_periodic(void)
{
    // Mode 0 with no count written waits forever without raising its output.
    outb(PIT_COMMAND, PIT_CHANNEL0_MODE0);
}

uint16_t pit_read_count(void)
{
    outb(PIT_COMMAND, PIT_CHANNEL2_LATCH);
    uint8_t low = inb(PIT_CHANNEL2_DATA);
    uint8_t high = inb(PIT_CHANNEL2_DATA);
    return (uint16_t)(low | (high << 8));
}
