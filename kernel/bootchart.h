/* Boot step timing (kernel/bootchart.c). */
#ifndef HARDWAY_BOOTCHART_H
#define HARDWAY_BOOTCHART_H

#include <stdint.h>

// Runs one named boot step and records how long it took in TSC counts.
void boot_step(const char *name, void (*step)(void));
// TSC at kernel entry, and nanoseconds from it to now (after time calibration).
void bootchart_start(void);
uint64_t bootchart_elapsed_ns(void);
// Prints the table of steps with their times (bootchart=1).
void bootchart_print(void);

#endif
