/*
 * Asynchronous preemption: stopping a goroutine between any two of its
 * instructions.
 *
 * A goroutine in a loop with no function calls never reaches a point where
 * the scheduler runs, so cooperation alone cannot take its P away. Go's answer
 * (Go 1.14) is ours: sysmon notices a G that has run for 10 ms, sets
 * gp->preempt, and asks the port to interrupt its M (platform_preempt: a
 * SIGURG to the thread hosted, an IPI or the next timer tick in the kernel).
 * The port's handler calls runtime_preempt_interrupted with the interrupted
 * stack pointer and instruction pointer, and we decide:
 *
 *   - At a safe point we "inject a call": keep the interrupted RIP in the G
 *     and make the handler return into runtime_async_preempt
 *     (context_amd64.S). That saves every register and the FPU/SSE state on
 *     the goroutine's stack, and parks the G like gosched; when the G is
 *     resumed it restores everything and returns to the interrupted
 *     instruction as if nothing had happened. (The stack below RSP must be
 *     free for that: our code is built without the red zone.)
 *
 *   - Elsewhere we leave gp->preempt set, and the next safe point the G
 *     passes through itself -- an allocation, a channel operation, an unlock
 *     (runtime_safe_point) -- yields.
 *
 * Not safe: while the M holds a runtime lock (m->locks), inside code that
 * asked not to be preempted (m->preempt_off: malloc, lwIP), on g0, and at
 * any instruction outside the preemptible text range -- which excludes the
 * runtime itself (switching a G out in the middle of the scheduler would
 * leave the M's state half-changed) and, hosted, the C library.
 */
#include "runtime_internal.h"

extern void runtime_async_preempt(void);

uintptr_t runtime_preemptible_text_start, runtime_preemptible_text_end;
uintptr_t runtime_unpreemptible_text_start, runtime_unpreemptible_text_end;

static bool preemptible_pc(uintptr_t pc)
{
    if (pc < runtime_preemptible_text_start || pc >= runtime_preemptible_text_end)
        return false;
    return pc < runtime_unpreemptible_text_start || pc >= runtime_unpreemptible_text_end;
}

// runtime_async_preempt needs this much of the G's stack below RSP.
#define ASYNC_PREEMPT_STACK_NEEDED 4096

void runtime_preempt_interrupted(struct m *m, uintptr_t sp, uintptr_t *pc)
{
    if (m == NULL)
        return;
    // Counted whatever comes of it: a stopper that sees the count move
    // knows this thread is running (stop_the_world).
    __atomic_store_n(&m->interrupts_taken, m->interrupts_taken + 1, __ATOMIC_RELEASE);
    struct g *gp = load_relaxed(&m->curg);
    if (gp == NULL || !load_relaxed(&gp->preempt))
        return;   // on g0, or the request is stale: the G has switched since
    if (m->locks > 0 || m->preempt_off > 0 || !preemptible_pc(*pc))
        return;   // gp->preempt stays set for the next safe point
    if (__atomic_load_n(&gp->status, __ATOMIC_ACQUIRE) != G_RUNNING)
        return;
    // The interrupted RSP must be inside the G's stack, with room below it.
    if (sp <= gp->stack.lo + ASYNC_PREEMPT_STACK_NEEDED || sp > gp->stack.hi)
        return;
    gp->preempt_return_pc = *pc;
    *pc = (uintptr_t)runtime_async_preempt;
}

void runtime_tick(struct m *m, uint64_t now, uintptr_t sp, uintptr_t *pc)
{
    store_relaxed(&runtime_coarse_now, now);
    if (m == NULL || m->p == NULL || m->curg == NULL)
        return;
    struct p *pp = m->p;
    // As sysmon's retake, for this P only: a schedtick that has not moved
    // for 10 ms means one G has held the P all that time.
    uint32_t schedtick = load_relaxed(&pp->schedtick);
    if (pp->sysmon_schedtick != schedtick) {
        pp->sysmon_schedtick = schedtick;
        pp->sysmon_when = now;
        return;
    }
    if (now - pp->sysmon_when < RUNTIME_TIME_SLICE_NS)
        return;
    store_relaxed(&m->curg->preempt, true);
    runtime_preempt_interrupted(m, sp, pc);
}
