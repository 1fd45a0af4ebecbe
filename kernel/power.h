/* Ending a run: QEMU's exit device, ACPI power-off, reboot (kernel/power.c). */
#ifndef HARDWAY_POWER_H
#define HARDWAY_POWER_H

#include "acpi.h"

// What a test harness sees: QEMU exits with status (code << 1) | 1.
enum power_exit_code {
    POWER_EXIT_SUCCESS = 0,   // QEMU status 1
    POWER_EXIT_FAILURE = 1,   // QEMU status 3
};

void power_configure(const struct acpi_info *acpi);
// Exits QEMU at once if it has the isa-debug-exit device at port 0xf4;
// returns when it has not (on VMware, real hardware, or QEMU without it).
void power_exit_qemu(enum power_exit_code code);
void power_off(void) __attribute__((noreturn));
void power_reboot(void) __attribute__((noreturn));

#endif
