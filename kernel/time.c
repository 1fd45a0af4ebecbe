/*
 * Time: nanotime() from the time-stamp counter.
 *
 * The TSC counts CPU cycles (on modern CPUs at a constant rate regardless of
 * power states: CPUID says so with "invariant TSC"). Reading it costs a few
 * cycles, no lock and no device, which is what a scheduler that asks for the
 * time at every switch needs. Its rate is not architecturally known, so we
 * measure it once at boot against the PIT: start the PIT counting down,
 * read the TSC and the PIT's count at the start and at the end of a window,
 * and divide. The same window measures the local APIC timer's rate, which
 * kernel/timer.c needs when TSC-deadline mode is absent.
 *
 * The window is not spent waiting: kernel_main starts it, builds the page
 * allocator and page tables, and only then finishes it, waiting just for
 * whatever part of the minimum window those steps did not fill. The PIT
 * counts down 65535 ticks (55 ms) at most; if the window grew longer than
 * that, the count has wrapped and we measure a fresh window instead.
 *
 * Each reading of the PIT takes a few port accesses, slow under emulation,
 * so the TSC is read on both sides of it and the midpoint used.
 *
 * A machine may have no working PIT (QEMU's `-machine pc,pit=off`, some
 * modern hardware): a count that never moves is noticed, and the ACPI PM
 * timer (3.579545 MHz, the FADT's PM_TMR_BLK) measures the window instead.
 * With neither, or with a TSC or APIC timer that does not count, the boot
 * stops with a sentence saying so rather than running with a clock that lies.
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
#include "panic.h"
#include "pit.h"
#include "printk.h"

// At least 5 ms of PIT ticks: long enough that the error of one reading is
// well under 1%, even under emulation.
#define CALIBRATION_MINIMUM_PIT_TICKS (PIT_FREQUENCY_HZ / 200)
#define CALIBRATION_PIT_START 0xFFFFu
// PIT readings without a change before we call the PIT dead: far longer
// than one PIT tick (838 ns) takes, however slow the port accesses.
#define CALIBRATION_PIT_STALL_READS 100000
#define CALIBRATION_PIT_RESTARTS_MAX 3
#define PM_TIMER_HZ 3579545u
#define CALIBRATION_MINIMUM_PM_TICKS (PM_TIMER_HZ / 200)
#define NANOSECONDS_PER_SECOND 1000000000ull

static uint64_t tsc_hz;
static uint64_t lapic_timer_hz;
static uint64_t tsc_reference;
static uint64_t nanoseconds_per_tick_fixed;   // 32.32 fixed point
static uint64_t ticks_per_nanosecond_fixed;   // 32.32 fixed point
static bool tsc_invariant;

// One simultaneous reading of the three clocks.
struct clock_sample {
    uint64_t tsc;
    uint32_t lapic;
    uint16_t pit;
};

static struct clock_sample calibration_start;
static uint16_t pm_timer_port;
static uint32_t pm_timer_mask;

static struct clock_sample clock_sample_take(void)
{
    uint64_t before = rdtsc();
    uint16_t pit = pit_read_count();
    uint64_t after = rdtsc();
    return (struct clock_sample){ before + (after - before) / 2, lapic_timer_current_count(), pit };
}

static void calibration_begin_window(void)
{
    lapic_timer_start_free_running();
    pit_start_countdown(CALIBRATION_PIT_START);
    calibration_start = clock_sample_take();
}

void time_calibration_start(uint16_t acpi_pm_timer_port, bool acpi_pm_timer_32bit)
{
    pm_timer_port = acpi_pm_timer_port;
    pm_timer_mask = acpi_pm_timer_32bit ? 0xFFFFFFFFu : 0xFFFFFFu;
    struct cpuid_result extended = cpuid(0x80000000, 0);
    if (extended.eax >= 0x80000007)
        tsc_invariant = (cpuid(0x80000007, 0).edx >> 8) & 1;
    calibration_begin_window();
}

// Measures a window of the ACPI PM timer from scratch: the fallback when
// the PIT does not count. Returns the PM timer ticks the window lasted.
static uint64_t calibrate_with_pm_timer(struct clock_sample *end)
{
    lapic_timer_start_free_running();
    uint32_t start_pm = inl(pm_timer_port) & pm_timer_mask;
    calibration_start = clock_sample_take();
    uint32_t elapsed;
    do {
        cpu_relax();
        *end = clock_sample_take();
        elapsed = ((inl(pm_timer_port) & pm_timer_mask) - start_pm) & pm_timer_mask;
    } while (elapsed < CALIBRATION_MINIMUM_PM_TICKS);
    return elapsed;
}

void time_calibration_finish(void)
{
    struct clock_sample end;
    uint64_t reference_ticks, reference_hz = PIT_FREQUENCY_HZ;
    int restarts = 0;
    for (long reads = 0;; reads++) {
        bool pit_dead = restarts > CALIBRATION_PIT_RESTARTS_MAX;
        if (!pit_dead && pit_countdown_done()) {
            // Over 55 ms since the start: the count wrapped. Start again.
            // (A missing PIT can read as "done" at once, every time: after
            // a few restarts it counts as dead.)
            calibration_begin_window();
            restarts++;
            reads = 0;
            continue;
        }
        end = clock_sample_take();
        reference_ticks = (uint16_t)(calibration_start.pit - end.pit);
        if (!pit_dead && reference_ticks >= CALIBRATION_MINIMUM_PIT_TICKS)
            break;
        if (pit_dead || (reference_ticks == 0 && reads > CALIBRATION_PIT_STALL_READS)) {
            if (pm_timer_port == 0)
                panic("time: the PIT does not count and ACPI has no PM timer: no clock to measure the TSC by");
            log_warning("time: the PIT does not count; measuring with the ACPI PM timer\n");
            reference_ticks = calibrate_with_pm_timer(&end);
            reference_hz = PM_TIMER_HZ;
            break;
        }
        cpu_relax();
    }
    lapic_timer_stop();

    tsc_hz = (end.tsc - calibration_start.tsc) * reference_hz / reference_ticks;
    lapic_timer_hz = (uint64_t)(calibration_start.lapic - end.lapic) * reference_hz / reference_ticks;
    if (tsc_hz == 0)
        panic("time: the TSC does not count");
    if (lapic_timer_hz == 0 && !lapic_tsc_deadline_supported())
        panic("time: the local APIC timer does not count, and there is no TSC-deadline mode");
    // 64-bit arithmetic only (no 128-bit division in a freestanding kernel):
    // 10^9 << 32 fits in 64 bits, and tsc_hz is split into whole gigahertz
    // and the remainder, each of which fits after the shift.
    nanoseconds_per_tick_fixed = (NANOSECONDS_PER_SECOND << 32) / tsc_hz;
    ticks_per_nanosecond_fixed = ((tsc_hz / NANOSECONDS_PER_SECOND) << 32) +
                                 ((tsc_hz % NANOSECONDS_PER_SECOND) << 32) / NANOSECONDS_PER_SECOND;
    tsc_reference = calibration_start.tsc;
}

uint64_t time_tsc_to_nanoseconds(uint64_t tsc_ticks)
{
    return (uint64_t)(((unsigned __int128)tsc_ticks * nanoseconds_per_tick_fixed) >> 32);
}

uint64_t time_nanoseconds_to_tsc(uint64_t nanoseconds)
{
    return (uint64_t)(((unsigned __int128)nanoseconds * ticks_per_nanosecond_fixed) >> 32);
}

uint64_t time_nanotime_to_tsc(uint64_t nanoseconds)
{
    return tsc_reference + time_nanoseconds_to_tsc(nanoseconds);
}

uint64_t nanotime(void)
{
    return time_tsc_to_nanoseconds(rdtsc() - tsc_reference);
}

void time_busy_wait(uint64_t nanoseconds)
{
    uint64_t end = nanotime() + nanoseconds;
    while (nanotime() < end)
        cpu_relax();
}

uint64_t time_tsc_hz(void) { return tsc_hz; }
uint64_t time_lapic_timer_hz(void) { return lapic_timer_hz; }
bool time_tsc_invariant(void) { return tsc_invariant; }
