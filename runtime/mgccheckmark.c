/*
 * Checkmark verification (Go's mcheckmark.go, gccheckmark=1).
 *
 * A concurrent mark is easy to get subtly wrong: a missing write barrier, a
 * stack scanned too early, and a reachable object stays white and is
 * freed while still in use -- a crash much later, far from its cause. In
 * checkmark mode, after every concurrent mark and with the world still
 * stopped, the whole heap is marked again, the slow and obviously correct
 * way: single-threaded, from all the roots, into a separate set of bits.
 * Every object this finds must also carry the concurrent mark's bit; one
 * that does not is reported with the object that points to it, and the
 * program dies there.
 *
 * Stacks are the exception. They are scanned conservatively, so a stack
 * can hold stale words: values left below the stack pointer before the
 * mark scanned the stack, which a deeper call later took into its frame
 * without writing them (padding, unused slots). Such a word may point to
 * an object that was already garbage when the mark began -- rightly left
 * white. So a white object found straight from a stack word is taken to
 * be one of those, and skipped with all it points to; everything found
 * from a marked object or a registered root must be marked.
 *
 * The bits: one per heap word, per arena (heap_arena.checkmark_bits),
 * allocated on first use and cleared before each verification.
 */
#include "mgc.h"
#include <stdio.h>
#include <string.h>

#define CHECKMARK_BITS_BYTES (HEAP_ARENA_SIZE / sizeof(uintptr_t) / 8)

// The objects still to scan: a growing array. (A failure is reported as
// the pointer is found, so the referrer need not be kept.)
static uintptr_t *stack;
static size_t stack_count, stack_capacity;

static void push(uintptr_t object)
{
    if (stack_count == stack_capacity) {
        size_t capacity = stack_capacity ? stack_capacity * 2 : 4096;
        uintptr_t *grown = runtime_realloc(stack, capacity * sizeof *grown);
        if (grown == NULL)
            runtime_throw("checkmark: out of memory");
        stack = grown;
        stack_capacity = capacity;
    }
    stack[stack_count++] = object;
}

static void clear_bits(void)
{
    for (size_t i = 0; i < HEAP_ARENA_INDEX_SIZE; i++) {
        struct heap_arena *arena = mheap.arenas[i];
        if (arena == NULL)
            continue;
        if (arena->checkmark_bits == NULL) {
            arena->checkmark_bits = runtime_calloc(1, CHECKMARK_BITS_BYTES);
            if (arena->checkmark_bits == NULL)
                runtime_throw("checkmark: out of memory");
        } else {
            memset(arena->checkmark_bits, 0, CHECKMARK_BITS_BYTES);
        }
    }
}

// Whether the heap arena index has any arena (mheap.arenas may be NULL if
// nothing was ever allocated).
static bool heap_exists(void)
{
    return mheap.arenas != NULL;
}

static void describe_referrer(char *text, size_t size, uintptr_t address, uintptr_t referrer, const char *root)
{
    if (referrer) {
        size_t object_size = 0;
        void *base = runtime_heap_object((void *)referrer, &object_size);
        snprintf(text, size, "object %#lx (%zu bytes) at offset %#lx", (unsigned long)(uintptr_t)base, object_size,
                 (unsigned long)(address - (uintptr_t)base));
    } else {
        snprintf(text, size, "%s", root);
    }
}

// A pointer found at `address` (in a root or in an object): its object
// must be marked; it is then checkmarked and queued.
static void check_pointer(uintptr_t value, uintptr_t address, uintptr_t referrer, const char *root, bool from_stack)
{
    struct heap_arena *arena = heap_arena_of(value);
    if (arena == NULL)
        return;
    struct mspan *span = heap_span_of(value);
    if (span == NULL || span->state != MSPAN_IN_USE)
        return;
    uint32_t index = (uint32_t)(((uint64_t)(value - span->start) * span->divide_magic) >> 32);
    uintptr_t base = span->start + (uintptr_t)index * span->elemsize;
    if (!mspan_slot_allocated(span, index))
        return;   // a word that only looks like a pointer, or one past the end of an object
    bool marked = span->gcmark_bits[index / 64] >> (index % 64) & 1;
    if (!marked && from_stack)
        return;   // a stale stack word (see the top of this file)
    struct heap_arena *base_arena = heap_arena_of(base);
    size_t word = (base % HEAP_ARENA_SIZE) / sizeof(uintptr_t);
    uint64_t bit = (uint64_t)1 << (word % 64);
    if (base_arena->checkmark_bits[word / 64] & bit)
        return;
    base_arena->checkmark_bits[word / 64] |= bit;
    if (!marked) {
        char where[160];
        describe_referrer(where, sizeof where, address, referrer, root);
        runtime_throwf("checkmark: object %#lx (%zu bytes) is reachable from %s but the mark left it white",
                       (unsigned long)base, span->elemsize, where);
    }
    if (!span_class_noscan(span->span_class))
        push(base);
}

static void check_range(uintptr_t start, uintptr_t end, const char *root, bool stack)
{
    start = (start + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    for (uintptr_t at = start; at + sizeof(uintptr_t) <= end; at += sizeof(uintptr_t))
        check_pointer(*(uintptr_t *)at, at, 0, root, stack);
}

static void scan_object(uintptr_t object)
{
    struct mspan *span = heap_span_of(object);
    for (uintptr_t at = object; at < object + span->elemsize; at += sizeof(uintptr_t)) {
        if (heap_word_is_pointer(span, at)) {
            uintptr_t value = *(uintptr_t *)at;
            if (value)
                check_pointer(value, at, object, NULL, false);
        }
    }
}

// The calling G's own stack, from here up, with its registers spilled.
static void __attribute__((noinline)) check_own_stack(struct g *self)
{
    __builtin_unwind_init();
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    check_range(here, self->stack.hi, "the stack of the goroutine finishing the mark", true);
}

void gc_checkmark_verify(void)
{
    if (!heap_exists())
        return;
    clear_bits();
    stack_count = 0;
    char name[64];
    struct g *self = getg();
    for (struct g *gp = all_gs_snapshot(); gp; gp = gp->all_link) {
        uint32_t status = __atomic_load_n(&gp->status, __ATOMIC_ACQUIRE);
        if (gp == self || status == G_DEAD || status == G_IDLE)
            continue;
        snprintf(name, sizeof name, "the stack of goroutine %llu", (unsigned long long)gp->id);
        if (status == G_SYSCALL) {
            check_range((uintptr_t)gp->syscall_registers, (uintptr_t)(gp->syscall_registers + 6), name, true);
            check_range(gp->syscall_sp, gp->stack.hi, name, true);
        } else if (gp->stack.hi && gp->context.sp) {
            check_range(gp->context.sp, gp->stack.hi, name, true);
        }
        check_range((uintptr_t)&gp->start_argument, (uintptr_t)(&gp->start_argument + 1), name, false);
        while (stack_count > 0)
            scan_object(stack[--stack_count]);
    }
    if (self->stack.hi)
        check_own_stack(self);
    gc_roots_lock();
    for (struct gc_root *root = gc_roots_first(); root; root = root->next) {
        snprintf(name, sizeof name, "root \"%s\"", root->name);
        check_range(root->start, root->start + root->size, name, false);
        while (stack_count > 0)
            scan_object(stack[--stack_count]);
    }
    gc_roots_unlock();
    while (stack_count > 0)
        scan_object(stack[--stack_count]);
}
