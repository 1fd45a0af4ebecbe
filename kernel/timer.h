/* The per-CPU timer tick (kernel/timer.c). */
#ifndef HARDWAY_TIMER_H
#define HARDWAY_TIMER_H

#include <stdint.h>

#define TIMER_HZ 100

// Starts the calling CPU's tick. time_calibration_finish must have run.
void timer_start_this_cpu(void);
// "tsc-deadline" or "lapic-one-shot": which mechanism the tick uses.
const char *timer_mode_name(void);

#endif
