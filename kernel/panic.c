/*
 * Panic: the kernel found itself in a state it cannot continue from.
 *
 * The message and a backtrace go to every console first, while the machine
 * still works. Then the other CPUs are stopped with an NMI (which cannot be
 * masked, so it stops a CPU spinning with interrupts off too): each one sees
 * panic_halting set in its NMI handler and halts for good. Finally, under
 * QEMU with the isa-debug-exit device, the run exits with a failure status so
 * a test sees it; on other machines the CPU halts and the message stays on
 * the screen for a person to read.
 */
#include "panic.h"
#include "backtrace.h"
#include "console.h"
#include "cpu.h"
#include "lapic.h"
#include "percpu.h"
#include "power.h"
#include "printk.h"
#include <stdarg.h>
#include <stdio.h>

static volatile bool panic_halting;
static volatile int panic_owner = -1;

bool panic_halt_requested(void)
{
    return panic_halting;
}

bool panic_begin(void)
{
    interrupts_disable();
    console_enter_panic_mode();
    int me = (int)this_cpu()->index;
    int expected = -1;
    if (__atomic_compare_exchange_n(&panic_owner, &expected, me, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        return true;
    if (expected == me)
        return false;   // a fault inside our own report
    // Another CPU is reporting; it will stop us with an NMI. Don't talk over it.
    cpu_halt_forever();
}

void kernel_die(void)
{
    interrupts_disable();
    panic_halting = true;
    if (lapic_ready())
        lapic_send_nmi_to_others();
    power_exit_qemu(POWER_EXIT_FAILURE);
    cpu_halt_forever();
}

void panic(const char *format, ...)
{
    if (!panic_begin()) {
        printk(LOG_EMERGENCY, "panic while reporting a fatal error; stopping\n");
        kernel_die();
    }
    char message[256];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(message, sizeof message, format, arguments);
    va_end(arguments);
    printk(LOG_EMERGENCY, "\npanic: %s (cpu %u)\n", message, this_cpu()->index);
    backtrace_print_here();
    kernel_die();
}
