/*
 * sys_arch.c: lwIP's operating-system layer on the goroutine runtime.
 *
 * lwIP, built with NO_SYS 0, asks its port for threads, mutexes,
 * semaphores, mailboxes and a millisecond clock (lwIP's doc/sys_arch.txt
 * lists them). hardway answers with what goroutines already use:
 *
 *   sys_thread_new   go(): lwIP's thread is one more goroutine
 *   sys_mutex_*      the runtime's mutex (sync.h), which parks the
 *                    goroutine, never its M; each remembers its holder so
 *                    that LWIP_ASSERT_CORE_LOCKED can check the core lock
 *   sys_mbox_*       a buffered channel of pointers; a fetch with a
 *                    timeout is a select between it and a timer channel
 *   sys_sem_*        a buffered channel of zero-byte tokens: signal sends
 *                    one, wait takes one, with the same select for timeouts
 *   sys_now          the runtime's monotonic clock, in milliseconds
 *
 * None of this may run in an interrupt handler: the kernel's NIC interrupt
 * only wakes the driver's goroutine, which then calls lwIP like any other
 * goroutine.
 */
#include "lwip/sys.h"
#include "chan.h"
#include "lwip/tcpip.h"
#include "runtime.h"
#include <stdarg.h>
#include <stdio.h>

/* --- Diagnostics (cc.h) ------------------------------------------------------ */

void lwip_port_diagnostic(const char *format, ...)
{
    char text[256];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(text, sizeof text, format, arguments);
    va_end(arguments);
    runtime_printf("lwip: %s", text);
}

void lwip_port_assert_failed(const char *message, const char *file, int line)
{
    runtime_throwf("lwIP assertion failed: %s (%s:%d)", message, file, line);
}

// xorshift64*, seeded from the clock at the first call. Good enough to make
// initial sequence numbers and DNS ids unpredictable to a casual observer
// and different on every boot; not a cryptographic generator.
uint32_t lwip_port_random(void)
{
    static uint64_t state;
    uint64_t x = __atomic_load_n(&state, __ATOMIC_RELAXED);
    if (x == 0)
        x = nanotime() * 0x9E3779B97F4A7C15ull | 1;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    __atomic_store_n(&state, x, __ATOMIC_RELAXED);   // a lost update between two goroutines costs nothing
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

/* --- Time and threads ----------------------------------------------------------- */

void sys_init(void)
{
}

u32_t sys_now(void)
{
    return (u32_t)(nanotime() / 1000000);
}

sys_thread_t sys_thread_new(const char *name, lwip_thread_fn function, void *argument, int stack_size, int priority)
{
    (void)name;
    (void)stack_size;   // goroutine stacks grow
    (void)priority;     // goroutines have none
    go(function, argument);
    return 0;
}

/* --- Mutexes ---------------------------------------------------------------------- */

err_t sys_mutex_new(sys_mutex_t *mutex)
{
    *mutex = (sys_mutex_t){ .valid = true };
    return ERR_OK;
}

void sys_mutex_lock(sys_mutex_t *mutex)
{
    mutex_lock(&mutex->mutex);
    mutex->owner = goid();
}

void sys_mutex_unlock(sys_mutex_t *mutex)
{
    if (mutex->owner != goid())
        runtime_throwf("lwIP: goroutine %llu unlocks a mutex held by goroutine %llu", (unsigned long long)goid(),
                       (unsigned long long)mutex->owner);
    mutex->owner = 0;
    mutex_unlock(&mutex->mutex);
}

void sys_mutex_free(sys_mutex_t *mutex)
{
    mutex->valid = false;
}

static bool tcpip_thread_started;

void sys_arch_mark_tcpip_thread(void)
{
    __atomic_store_n(&tcpip_thread_started, true, __ATOMIC_RELEASE);
}

bool sys_arch_core_locked(void)
{
    if (!__atomic_load_n(&tcpip_thread_started, __ATOMIC_ACQUIRE))
        return true;
    return lock_tcpip_core.valid && __atomic_load_n(&lock_tcpip_core.owner, __ATOMIC_RELAXED) == goid();
}

/* --- Waiting with a timeout ------------------------------------------------------ */

// Receives from `chan` into `element`, waiting at most `timeout_ms`
// milliseconds (0: forever). Returns the milliseconds waited, or
// SYS_ARCH_TIMEOUT.
static u32_t receive_with_timeout(struct chan *chan, void *element, u32_t timeout_ms)
{
    uint64_t start = nanotime();
    if (timeout_ms == 0) {
        chan_receive(chan, element);
    } else {
        struct chan *timer = chan_after((uint64_t)timeout_ms * 1000000);
        struct select_case cases[2] = {
            { .chan = chan, .direction = SELECT_RECEIVE, .element = element },
            { .chan = timer, .direction = SELECT_RECEIVE },
        };
        int chosen = chan_select(cases, 2, false);
        chan_free(timer);
        if (chosen == 1)
            return SYS_ARCH_TIMEOUT;
    }
    uint64_t waited_ms = (nanotime() - start) / 1000000;
    // SYS_ARCH_TIMEOUT (0xffffffff) is not a duration.
    return waited_ms >= SYS_ARCH_TIMEOUT ? SYS_ARCH_TIMEOUT - 1 : (u32_t)waited_ms;
}

/* --- Semaphores ----------------------------------------------------------------- */

// A semaphore's count lives in its channel's buffer, so it cannot exceed
// the buffer: lwIP's semaphores are binary in practice (a signal answers
// one wait), and a count this high is a bug worth stopping at.
#define SYS_SEM_MAX_COUNT 1024

err_t sys_sem_new(sys_sem_t *semaphore, u8_t count)
{
    semaphore->chan = chan_make(0, SYS_SEM_MAX_COUNT);
    for (u8_t i = 0; i < count; i++)
        chan_send(semaphore->chan, NULL);
    return ERR_OK;
}

void sys_sem_signal(sys_sem_t *semaphore)
{
    if (!chan_try_send(semaphore->chan, NULL))
        runtime_throwf("lwIP: a semaphore was signalled %d times with no wait", SYS_SEM_MAX_COUNT);
}

u32_t sys_arch_sem_wait(sys_sem_t *semaphore, u32_t timeout_ms)
{
    return receive_with_timeout(semaphore->chan, NULL, timeout_ms);
}

void sys_sem_free(sys_sem_t *semaphore)
{
    chan_free(semaphore->chan);
    semaphore->chan = NULL;
}

/* --- Mailboxes ----------------------------------------------------------------- */

err_t sys_mbox_new(sys_mbox_t *mailbox, int size)
{
    mailbox->chan = chan_make(sizeof(void *), size > 0 ? (size_t)size : 1);
    return ERR_OK;
}

void sys_mbox_post(sys_mbox_t *mailbox, void *message)
{
    chan_send(mailbox->chan, &message);
}

err_t sys_mbox_trypost(sys_mbox_t *mailbox, void *message)
{
    return chan_try_send(mailbox->chan, &message) ? ERR_OK : ERR_MEM;
}

// No interrupt handler calls into lwIP here (the file's opening comment):
// "from an ISR" is only a name.
err_t sys_mbox_trypost_fromisr(sys_mbox_t *mailbox, void *message)
{
    return sys_mbox_trypost(mailbox, message);
}

u32_t sys_arch_mbox_fetch(sys_mbox_t *mailbox, void **message, u32_t timeout_ms)
{
    void *received = NULL;
    u32_t waited = receive_with_timeout(mailbox->chan, &received, timeout_ms);
    if (message)
        *message = waited == SYS_ARCH_TIMEOUT ? NULL : received;
    return waited;
}

u32_t sys_arch_mbox_tryfetch(sys_mbox_t *mailbox, void **message)
{
    void *received = NULL;
    if (!chan_try_receive(mailbox->chan, &received, NULL))
        return SYS_MBOX_EMPTY;
    if (message)
        *message = received;
    return 0;
}

void sys_mbox_free(sys_mbox_t *mailbox)
{
    chan_free(mailbox->chan);
    mailbox->chan = NULL;
}
