/*
 * Time: nanotime() from the time-stamp counter.
 *
 * The TSC counts CPU cycles (on modern CPUs at a constant rate regardless of
 * power states: CPUID says so with "invariant TSC"). Reading it costs a few
 * cycles, no lock and no device, which is what a scheduler that asks for the
 * time at every switch needs. Its rate is not architecturally known, so we
 * measure it once at boot against the PIT: start a countdown of known length,
 * read the TSC before and after. The same window measures the local APIC
 * timer's rate, which kernel/timer.c needs when TSC-deadline mode is absent.
 *
 * Conversion uses a fixed-point multiplier, nanoseconds = ticks * mult >> 32,
 * computed once, so nanotime() has no division.
 *
 * All CPUs share the boot CPU's calibration and reference point. QEMU and
 * modern hardware start every CPU's TSC together, so readings agree across
 * CPUs closely enough for the scheduler; nanotime() is monotonic per CPU.
 */
#include "time.h"
#include "cpu.h"
#include "lapic.h"
#include "pit.h"

// 5 ms of PIT ticks: long enough that one tick of error is 0.02%, short
// enough to cost little of the boot.
#define CALIBRATION_PIT_TICKS (PIT_FREQUENCY_HZ / 200)
#define NANOSECONDS_PER_SECOND 1000000000ull

static uint64_t tsc_hz;
static uint64_t lapic_timer_hz;
static uint64_t tsc_reference;
static uint64_t nanoseconds_per_tick_fixed;   // 32.32 fixed point
static uint64_t ticks_per_nanosecond_fixed;   // 32.32 fixed point
static bool tsc_invariant;

void time_calibrate(void)
{
    struct cpuid_result extended = cpuid(0x80000000, 0);
    if (extended.eax >= 0x80000007)
        tsc_invariant = (cpuid(0x80000007, 0).edx >> 8) & 1;

    lapic_timer_start_free_running();
    pit_start_countdown(CALIBRATION_PIT_TICKS);
    uint64_t tsc_start = rdtsc();
    uint32_t lapic_start = lapic_timer_current_count();
    while (!pit_countdown_done())
        cpu_relax();
    uint64_t tsc_end = rdtsc();
    uint32_t lapic_end = lapic_timer_current_count();
    lapic_timer_stop();

    tsc_hz = (tsc_end - tsc_start) * PIT_FREQUENCY_HZ / CALIBRATION_PIT_TICKS;
    lapic_timer_hz = (uint64_t)(lapic_start - lapic_end) * PIT_FREQUENCY_HZ / CALIBRATION_PIT_TICKS;
    if (tsc_hz == 0)
        tsc_hz = NANOSECONDS_PER_SECOND;   // a TSC that did not move; keep nanotime defined
    // 64-bit arithmetic only (no 128-bit division in a freestanding kernel):
    // 10^9 << 32 fits in 64 bits, and tsc_hz is split into whole gigahertz
    // and the remainder, each of which fits after the shift.
    nanoseconds_per_tick_fixed = (NANOSECONDS_PER_SECOND << 32) / tsc_hz;
    ticks_per_nanosecond_fixed = ((tsc_hz / NANOSECONDS_PER_SECOND) << 32) +
                                 ((tsc_hz % NANOSECONDS_PER_SECOND) << 32) / NANOSECONDS_PER_SECOND;
    tsc_reference = tsc_start;
}

uint64_t time_tsc_to_nanoseconds(uint64_t tsc_ticks)
{
    return (uint64_t)(((unsigned __int128)tsc_ticks * nanoseconds_per_tick_fixed) >> 32);
}

uint64_t time_nanoseconds_to_tsc(uint64_t nanoseconds)
{
    return (uint64_t)(((unsigned __int128)nanoseconds * ticks_per_nanosecond_fixed) >> 32);
}

uint64_t nanotime(void)
{
    return time_tsc_to_nanoseconds(rdtsc() - tsc_reference);
}

uint64_t time_tsc_hz(void) { return tsc_hz; }
uint64_t time_lapic_timer_hz(void) { return lapic_timer_hz; }
bool time_tsc_invariant(void) { return tsc_invariant; }
