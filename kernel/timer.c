/*
 * The timer: every CPU takes a tick TIMER_HZ times a second, and can ask to
 * be woken earlier.
 *
 * The tick is each CPU's own local APIC timer, so ticks need no routing and
 * no lock, and a CPU asleep in `hlt` wakes up by itself. The runtime hangs its
 * preemption check on the tick (timer_set_tick_hook: a goroutine that has run
 * for 10 ms is switched out), and an idle CPU that sleeps until the next
 * goroutine timer asks for an earlier interrupt (timer_wake_at), so sleeping
 * goroutines wake on time rather than at the next tick.
 *
 * Both are kept as TSC deadlines per CPU -- the next tick, and an optional
 * earlier wake-up -- and the APIC is programmed for the earlier of the two:
 *   - TSC-deadline mode: "interrupt when the TSC reaches T", directly;
 *   - one-shot countdown: the APIC timer counts down from the distance to
 *     that deadline, converted with its calibrated rate (kernel/time.c).
 * Ticks are scheduled one period after the previous tick's deadline, not
 * after "now", so they do not drift however late a handler runs; a CPU that
 * fell far behind skips ahead instead of taking a burst of ticks.
 */
#include "timer.h"
#include "cpu.h"
#include "interrupt_flag.h"
#include "lapic.h"
#include "percpu.h"
#include "time.h"
#include "traps.h"

static bool use_tsc_deadline;
static uint64_t period_tsc;                   // one tick in TSC counts
static uint64_t tick_deadline[CPUS_MAX];      // TSC of each CPU's next tick
static uint64_t wake_deadline[CPUS_MAX];      // TSC of an earlier wake-up, or 0
static timer_tick_hook tick_hook;

// Programs this CPU's APIC timer for its earliest deadline.
static void timer_program(uint32_t index)
{
    uint64_t next = tick_deadline[index];
    if (wake_deadline[index] && wake_deadline[index] < next)
        next = wake_deadline[index];
    if (use_tsc_deadline) {
        lapic_timer_tsc_deadline(VECTOR_TIMER, next);
        return;
    }
    uint64_t now = rdtsc();
    uint64_t distance = next > now ? next - now : 1;
    uint64_t count = distance * time_lapic_timer_hz() / time_tsc_hz();
    if (count > 0xFFFFFFFFu)
        count = 0xFFFFFFFFu;
    lapic_timer_one_shot(VECTOR_TIMER, count ? (uint32_t)count : 1);
}

static void timer_interrupt(struct trap_frame *frame)
{
    struct cpu *cpu = this_cpu();
    uint32_t index = cpu->index;
    uint64_t now = rdtsc();
    if (now >= tick_deadline[index]) {
        cpu->timer_ticks++;
        tick_deadline[index] += period_tsc;
        if (tick_deadline[index] <= now)
            tick_deadline[index] = now + period_tsc;
        if (tick_hook)
            tick_hook(frame);
    }
    if (wake_deadline[index] && now >= wake_deadline[index])
        wake_deadline[index] = 0;
    timer_program(index);
}

void timer_start_this_cpu(void)
{
    if (this_cpu()->index == 0) {
        use_tsc_deadline = lapic_tsc_deadline_supported();
        period_tsc = time_tsc_hz() / TIMER_HZ;
        interrupt_register(VECTOR_TIMER, timer_interrupt);
    }
    uint32_t index = this_cpu()->index;
    tick_deadline[index] = rdtsc() + period_tsc;
    wake_deadline[index] = 0;
    timer_program(index);
}

void timer_wake_at(uint64_t deadline)
{
    uint64_t flags = interrupts_save_and_disable();
    uint32_t index = this_cpu()->index;
    uint64_t tsc = time_nanotime_to_tsc(deadline);
    if (tsc < tick_deadline[index] && (wake_deadline[index] == 0 || tsc < wake_deadline[index])) {
        wake_deadline[index] = tsc;
        timer_program(index);
    }
    interrupts_restore(flags);
}

void timer_set_tick_hook(timer_tick_hook hook)
{
    tick_hook = hook;
}

const char *timer_mode_name(void)
{
    return use_tsc_deadline ? "tsc-deadline" : "lapic-one-shot";
}
