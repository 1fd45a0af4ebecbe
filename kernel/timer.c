/*
 * The timer tick: every CPU takes an interrupt TIMER_HZ times a second.
 *
 * The tick is each CPU's own local APIC timer, so ticks need no routing and
 * no lock, and a CPU asleep in `hlt` wakes up by itself. It is what will let
 * the runtime preempt a goroutine that runs too long and fire goroutine
 * timers while every P is idle.
 *
 * Two ways to program it, chosen once by CPUID:
 *   - TSC-deadline mode: "interrupt when the TSC reaches T". Each tick sets
 *     the next deadline one period after the previous deadline, so ticks do
 *     not drift however late a handler runs.
 *   - one-shot countdown: the APIC timer counts down from a value computed
 *     from its calibrated rate (kernel/time.c) and is re-armed on each tick.
 * Periodic mode would avoid the re-arming, but it exists only for the
 * countdown timer; re-arming in both cases keeps one code path.
 */
#include "timer.h"
#include "cpu.h"
#include "lapic.h"
#include "percpu.h"
#include "time.h"
#include "traps.h"

static bool use_tsc_deadline;
static uint64_t period_tsc;          // one tick in TSC counts
static uint32_t period_lapic_count;  // one tick in APIC timer counts (divided by 16)
static uint64_t next_deadline[CPUS_MAX];

static void timer_arm(void)
{
    struct cpu *cpu = this_cpu();
    if (use_tsc_deadline) {
        uint64_t now = rdtsc();
        uint64_t *deadline = &next_deadline[cpu->index];
        *deadline += period_tsc;
        if (*deadline <= now)    // we fell behind (a long stop): skip ahead, don't burst
            *deadline = now + period_tsc;
        lapic_timer_tsc_deadline(VECTOR_TIMER, *deadline);
    } else {
        lapic_timer_one_shot(VECTOR_TIMER, period_lapic_count);
    }
}

static void timer_interrupt(struct trap_frame *frame)
{
    (void)frame;
    this_cpu()->timer_ticks++;
    timer_arm();
}

void timer_start_this_cpu(void)
{
    if (this_cpu()->index == 0) {
        use_tsc_deadline = lapic_tsc_deadline_supported();
        period_tsc = time_tsc_hz() / TIMER_HZ;
        uint64_t count = time_lapic_timer_hz() / TIMER_HZ;
        period_lapic_count = count > 0xFFFFFFFFu ? 0xFFFFFFFFu : count ? (uint32_t)count : 1;
        interrupt_register(VECTOR_TIMER, timer_interrupt);
    }
    next_deadline[this_cpu()->index] = rdtsc();
    timer_arm();
}

const char *timer_mode_name(void)
{
    return use_tsc_deadline ? "tsc-deadline" : "lapic-one-shot";
}
