/*
 * arch/sys_arch.h: the types of lwIP's operating-system layer, which
 * hardway provides with the goroutine runtime (net/lwip/sys_arch.c):
 *
 *   sys_thread_t  a goroutine (sys_thread_new is `go`)
 *   sys_mutex_t   a runtime mutex (sync.h); it remembers which goroutine
 *                 holds it, so that LWIP_ASSERT_CORE_LOCKED can check the
 *                 core lock on every call into the stack
 *   sys_mbox_t    a buffered channel of pointers (chan.h)
 *   sys_sem_t     a buffered channel of empty tokens: signal sends one,
 *                 wait receives one (a counting semaphore with a deadline,
 *                 which select over the channel and a timer gives)
 *
 * Waiting in any of them parks the goroutine, not its M or CPU: the same
 * goroutine-blocking the rest of the runtime does.
 */
#ifndef HARDWAY_LWIP_ARCH_SYS_ARCH_H
#define HARDWAY_LWIP_ARCH_SYS_ARCH_H

#include "sync.h"
#include <stdbool.h>
#include <stdint.h>

struct chan;

typedef uint64_t sys_thread_t;

typedef struct {
    struct mutex mutex;
    uint64_t owner;   // goid() of the goroutine holding it, 0 when free
    bool valid;
} sys_mutex_t;

typedef struct {
    struct chan *chan;   // NULL: not created (lwIP's "invalid")
} sys_mbox_t;

typedef struct {
    struct chan *chan;   // NULL: not created
} sys_sem_t;

#define sys_mutex_valid(m) ((m)->valid)
#define sys_mutex_set_invalid(m) ((m)->valid = false)
#define sys_mbox_valid(b) ((b)->chan != NULL)
#define sys_mbox_set_invalid(b) ((b)->chan = NULL)
#define sys_sem_valid(s) ((s)->chan != NULL)
#define sys_sem_set_invalid(s) ((s)->chan = NULL)

// Whether the calling goroutine may call into lwIP: it holds lwIP's core
// lock (tcpip.c's lock_tcpip_core), or lwIP's thread has not started yet
// (tcpip_init sets the stack up alone). lwipopts.h's
// LWIP_ASSERT_CORE_LOCKED.
bool sys_arch_core_locked(void);
// lwIP's thread has started (LWIP_MARK_TCPIP_THREAD).
void sys_arch_mark_tcpip_thread(void);

#endif
