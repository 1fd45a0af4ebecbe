/*
 * ThreadSanitizer support: telling TSan that goroutines are fibers.
 *
 * TSan follows each thread's stack and the happens-before edges between
 * threads. Our context switch moves a thread from one goroutine's stack to
 * another's behind its back, which would look to it like one very confused
 * thread. Its fiber API fixes that: each G (and each M's g0) gets a TSan
 * fiber, and every switch announces the fiber it is switching to. In a
 * normal build (no -fsanitize=thread) all of this compiles to nothing.
 *
 * Under TSan, asynchronous preemption is off (platform_linux.c): TSan defers
 * signals to points inside its own runtime, and redirecting the interrupted
 * code from there would be wrong. Goroutines are still preempted at safe
 * points.
 */
#ifndef HARDWAY_RUNTIME_RACE_H
#define HARDWAY_RUNTIME_RACE_H

#if defined(__SANITIZE_THREAD__)
#define RUNTIME_RACE_ENABLED 1
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
void __tsan_destroy_fiber(void *fiber);

static inline void *race_current_fiber(void) { return __tsan_get_current_fiber(); }
static inline void *race_new_fiber(void) { return __tsan_create_fiber(0); }
static inline void race_switch_to(void *fiber) { __tsan_switch_to_fiber(fiber, 0); }
// TSan counts fibers as threads, with a limit of a few thousand: a dead G
// gives its fiber back, and gets a new one if it is reused.
static inline void race_destroy_fiber(void *fiber) { __tsan_destroy_fiber(fiber); }
#else
#define RUNTIME_RACE_ENABLED 0
static inline void *race_current_fiber(void) { return 0; }
static inline void *race_new_fiber(void) { return 0; }
static inline void race_switch_to(void *fiber) { (void)fiber; }
static inline void race_destroy_fiber(void *fiber) { (void)fiber; }
#endif

#endif
