/* The per-CPU timer tick and early wake-ups (kernel/timer.c). */
#ifndef HARDWAY_TIMER_H
#define HARDWAY_TIMER_H

#include <stdint.h>

#define TIMER_HZ 100

struct trap_frame;
typedef void (*timer_tick_hook)(struct trap_frame *frame);

// Starts the calling CPU's tick. time_calibration_finish must have run.
void timer_start_this_cpu(void);
// Makes this CPU's timer interrupt no later than `deadline` (a nanotime()
// value), even if that is before its next tick.
void timer_wake_at(uint64_t deadline);
// Called on every tick of every CPU, in the interrupt, with the interrupted
// state (the runtime preempts from here).
void timer_set_tick_hook(timer_tick_hook hook);
// "tsc-deadline" or "lapic-one-shot": which mechanism the tick uses.
const char *timer_mode_name(void);

#endif
