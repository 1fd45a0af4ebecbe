/*
 * Goroutine stacks.
 *
 * C code cannot move its stack (pointers into it are everywhere), so unlike
 * Go's, our stacks never grow by copying. Instead each goroutine gets a
 * large reservation of address space -- 1 MiB by default, `stack_reservation`
 * -- of which only the pages it touches take memory: hosted, the OS commits
 * pages on first touch; in the kernel, a page fault inside the reservation
 * maps one (kernel/platform.c). Below each stack sits a guard page that
 * faults on any access, so running off the end is a clear fatal error
 * naming the goroutine, not silent corruption of a neighbour.
 *
 * Stacks are carved out of arenas of STACKS_PER_ARENA slots, each slot one
 * guard page plus one reservation, so that a million goroutines need some
 * fifteen thousand reservations from the platform, not a million. A dead goroutine
 * keeps its stack on the P's free list of Gs (proc.c), so creating a
 * goroutine usually costs no stack work at all; stacks freed here go to a
 * global list for reuse, their memory released to the platform
 * (platform_release: madvise hosted; unmapped with a TLB shoot-down in the
 * kernel).
 */
#include "runtime_internal.h"

#define STACK_GUARD_SIZE 4096u
#define STACKS_PER_ARENA 64u
#define STACK_ARENAS_MAX 65536u
#define STACK_TOP_KEPT 4096u

size_t stack_reservation = 1u << 20;

struct stack_arena {
    uintptr_t base;          // first slot's guard page
    size_t slot_size;        // guard + reservation
};

static struct runtime_lock stack_lock;
static struct stack_arena arenas[STACK_ARENAS_MAX];
static uint32_t arena_count;
static uint32_t arena_slots_used;   // slots handed out of the newest arena
static struct stack_free_slot {
    struct stack_free_slot *next;
} *free_stacks;                     // each at the top of a free stack

static bool arena_new(void)
{
    if (arena_count == STACK_ARENAS_MAX)
        return false;
    size_t slot = STACK_GUARD_SIZE + stack_reservation;
    void *base = platform_reserve(slot * STACKS_PER_ARENA);
    if (base == NULL)
        return false;
    for (uint32_t i = 0; i < STACKS_PER_ARENA; i++)
        if (!platform_guard((uint8_t *)base + i * slot, STACK_GUARD_SIZE))
            runtime_throw("cannot install a stack guard page");
    arenas[arena_count++] = (struct stack_arena){ (uintptr_t)base, slot };
    arena_slots_used = 0;
    return true;
}

bool stack_allocate(struct stack *stack)
{
    runtime_lock_acquire(&stack_lock);
    if (free_stacks) {
        struct stack_free_slot *slot = free_stacks;
        free_stacks = slot->next;
        runtime_lock_release(&stack_lock);
        stack->hi = (uintptr_t)(slot + 1);
        stack->lo = stack->hi - stack_reservation;
        return true;
    }
    if ((arena_count == 0 || arena_slots_used == STACKS_PER_ARENA) && !arena_new()) {
        runtime_lock_release(&stack_lock);
        return false;
    }
    struct stack_arena *arena = &arenas[arena_count - 1];
    uintptr_t slot = arena->base + arena_slots_used++ * arena->slot_size;
    runtime_lock_release(&stack_lock);
    stack->lo = slot + STACK_GUARD_SIZE;
    stack->hi = stack->lo + stack_reservation;
    return true;
}

void stack_free(struct stack *stack)
{
    // Give the memory back, keep the address space: the slot is reused as
    // is. The top page stays: the free list's link lives there, and writing
    // it into a released page would only fault the page back in.
    platform_release((void *)stack->lo, stack_reservation - STACK_TOP_KEPT);
    struct stack_free_slot *slot = (struct stack_free_slot *)stack->hi - 1;
    runtime_lock_acquire(&stack_lock);
    slot->next = free_stacks;
    free_stacks = slot;
    runtime_lock_release(&stack_lock);
    stack->lo = stack->hi = 0;
}

bool stack_is_guard(uintptr_t address)
{
    uint32_t count = __atomic_load_n(&arena_count, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < count; i++) {
        const struct stack_arena *arena = &arenas[i];
        if (address >= arena->base && address < arena->base + arena->slot_size * STACKS_PER_ARENA)
            return (address - arena->base) % arena->slot_size < STACK_GUARD_SIZE;
    }
    return false;
}

struct g *stack_guard_owner(uintptr_t address)
{
    // No lock: called from a fault handler, where waiting could deadlock. The
    // arena table only grows, and a torn read just means "not found".
    uint32_t count = __atomic_load_n(&arena_count, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < count; i++) {
        const struct stack_arena *arena = &arenas[i];
        if (address < arena->base || address >= arena->base + arena->slot_size * STACKS_PER_ARENA)
            continue;
        uintptr_t offset = (address - arena->base) % arena->slot_size;
        if (offset >= STACK_GUARD_SIZE)
            return NULL;   // inside a stack, not a guard page
        uintptr_t stack_lo = address - offset + STACK_GUARD_SIZE;
        for (struct g *gp = __atomic_load_n(&sched.all_gs, __ATOMIC_ACQUIRE); gp; gp = gp->all_link)
            if (gp->stack.lo == stack_lo)
                return gp;
        return NULL;
    }
    return NULL;
}
