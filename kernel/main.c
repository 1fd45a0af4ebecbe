/*
 * kernel_main: the boot story, top to bottom.
 *
 * boot/entry.S brings the CPU to 64-bit mode and calls kernel_main with what
 * the boot loader handed over. From there the kernel runs a linear list of
 * named steps, each building on the ones before it.
 */
#include "printk.h"
#include "serial.h"
#include "cpu.h"
#include <stdint.h>

void kernel_main(uint32_t loader_magic, uint32_t loader_info);

void kernel_main(uint32_t loader_magic, uint32_t loader_info)
{
    serial_init();
    log_info("hardway: loader magic %#x info at %#x\n", loader_magic, loader_info);
    outl(0xf4, 0);
    for (;;)
        cpu_halt();
}
