/*
 * The boot chart: how long each boot step took.
 *
 * kernel_main is a list of boot_step(name, function) calls. Each records the
 * TSC before and after. TSC counts only become nanoseconds once the TSC has
 * been calibrated, which is itself a boot step, so the raw counts are kept
 * and converted when the table is printed (with `bootchart=1`), as OSv's
 * boot chart does. The same counts give the `boot_ns=` field of the ready
 * line: kernel entry to ready, measured inside the guest.
 */
#include "bootchart.h"
#include "cpu.h"
#include "printk.h"
#include "time.h"

#define BOOT_STEPS_MAX 32

struct boot_step_record {
    const char *name;
    uint64_t start, end;
};

static struct boot_step_record steps[BOOT_STEPS_MAX];
static int step_count;
static uint64_t entry_tsc;

void bootchart_start(void)
{
    entry_tsc = rdtsc();
}

void boot_step(const char *name, void (*step)(void))
{
    uint64_t start = rdtsc();
    step();
    if (step_count < BOOT_STEPS_MAX)
        steps[step_count++] = (struct boot_step_record){ name, start, rdtsc() };
}

uint64_t bootchart_elapsed_ns(void)
{
    return time_tsc_to_nanoseconds(rdtsc() - entry_tsc);
}

void bootchart_print(void)
{
    log_info("bootchart: step                        start us   took us\n");
    for (int i = 0; i < step_count; i++) {
        uint64_t start_us = time_tsc_to_nanoseconds(steps[i].start - entry_tsc) / 1000;
        uint64_t took_us = time_tsc_to_nanoseconds(steps[i].end - steps[i].start) / 1000;
        log_info("bootchart: %-24s %12llu %9llu\n", steps[i].name,
                 (unsigned long long)start_us, (unsigned long long)took_us);
    }
    log_info("bootchart: %-24s %12s %9llu\n", "total", "",
             (unsigned long long)(bootchart_elapsed_ns() / 1000));
}
