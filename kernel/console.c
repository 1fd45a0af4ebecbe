/*
 * Console fan-out: one list of backends, one lock.
 *
 * Every backend gets the same text in the same order. The lock is taken with
 * interrupts off because exception and interrupt handlers print too. When
 * the kernel panics, the CPU that panics may be the one holding the lock, or
 * another CPU may have died holding it; console_enter_panic_mode makes writers
 * give up waiting after a while rather than lose the panic message.
 */
#include "console.h"
#include "spinlock.h"
#include "cpu.h"

static struct console_backend *console_backends;
static struct spinlock console_lock = SPINLOCK_INITIALIZER;
static volatile int console_panicking;

void console_register(struct console_backend *backend)
{
    uint64_t flags = spinlock_lock_irqsave(&console_lock);
    struct console_backend **tail = &console_backends;
    while (*tail)
        tail = &(*tail)->next;
    backend->next = NULL;
    *tail = backend;
    spinlock_unlock_irqrestore(&console_lock, flags);
}

void console_enter_panic_mode(void)
{
    console_panicking = 1;
}

void console_write(const char *text, size_t length)
{
    uint64_t flags = interrupts_save_and_disable();
    bool locked = false;
    for (long spins = 0; !(locked = spinlock_try_lock(&console_lock)); spins++) {
        if (console_panicking && spins > 10000000)
            break;  // print anyway: a lost panic message is worse than a garbled one
        cpu_relax();
    }
    for (struct console_backend *backend = console_backends; backend; backend = backend->next)
        backend->write(text, length);
    if (locked)
        spinlock_unlock(&console_lock);
    interrupts_restore(flags);
}
