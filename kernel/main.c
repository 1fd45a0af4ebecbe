/*
 * kernel_main: the boot story, top to bottom.
 *
 * boot/entry.S brings the boot CPU into 64-bit mode with an identity map of
 * the first 4 GiB and calls kernel_main with what the boot loader handed over.
 * From here the kernel runs a list of named steps, each building on the ones
 * before it, each timed for the boot chart (`bootchart=1`):
 *
 *   cpu          this CPU's struct, GDT and TSS with emergency stacks
 *   console      COM1, so that everything after can report problems
 *   traps        the IDT: from now on a fault is reported, not a reboot
 *   boot info    the loader's memory map, command line, RSDP, framebuffer
 *   command line kernel options (loglevel, procs, selftest, ...)
 *   screen       VGA text or the UEFI framebuffer, as a second console
 *   acpi         CPUs, interrupt controllers, power registers
 *   interrupts   8259 PICs off, local APIC and IOAPIC on
 *   clock start  the PIT starts counting, to measure the TSC and APIC timer
 *   memory       the physical page allocator over the memory map
 *   paging       the kernel's own page tables: W^X, page 0 unmapped
 *   pci          every PCI function found, its BARs sized (mapped by drivers)
 *   clock        the measurement ends: nanotime() works from here
 *   timer        this CPU's timer tick; interrupts enabled
 *   smp          every other CPU started, each with its own tick
 *
 * then one line, `hardway ready: cpus=N mem=M MiB ...`, and either the
 * self-test the command line asked for or the services: the goroutine
 * runtime on every CPU, the network and what runs on it (kernel/services.c).
 */
#include "acpi.h"
#include "boot_info.h"
#include "bootchart.h"
#include "cmdline.h"
#include "cpu.h"
#include "ioapic.h"
#include "lapic.h"
#include "paging.h"
#include "panic.h"
#include "pci.h"
#include "percpu.h"
#include "physical.h"
#include "pic.h"
#include "pmm.h"
#include "power.h"
#include "printk.h"
#include "screen.h"
#include "selftest.h"
#include "serial.h"
#include "services.h"
#include "smp.h"
#include "time.h"
#include "timer.h"
#include "traps.h"

void kernel_main(uint32_t loader_magic, uint32_t loader_info) __attribute__((noreturn));

static uint32_t boot_loader_magic;
static uint64_t boot_loader_info;
static struct boot_info boot_info;
static struct acpi_info acpi_info;

extern char _kernel_start[], _kernel_text_end[], _kernel_rodata_end[], _kernel_load_end[], _kernel_end[];
extern char boot_stack_guard[];

static void read_boot_info(void)
{
    char error[128];
    if (!boot_info_parse(boot_loader_magic, boot_loader_info, &boot_info, error, sizeof error))
        panic("cannot read the boot loader's information: %s", error);
    log_info("hardway: booted by %s (%s%s)\n",
             boot_info.loader_name[0] ? boot_info.loader_name : "an unnamed loader",
             boot_info.protocol == BOOT_MULTIBOOT2 ? "multiboot2" : "multiboot1",
             boot_info.uefi ? ", UEFI" : ", BIOS");
}

static void read_command_line(void)
{
    cmdline_parse(boot_info.command_line);
    cmdline_print_options();
}

// The boot page tables map the first 4 GiB: a screen there can start now, so
// that the rest of the boot shows on it; one above waits for paging.
static void start_screen(void)
{
    uint64_t start, size;
    if (screen_physical_range(&boot_info, &start, &size) && start + size <= (4ull << 30))
        screen_console_init(&boot_info);
}

static void read_acpi(void)
{
    const void *rsdp = boot_info.rsdp;
    if (boot_info.rsdp_size == 0) {
        uint64_t found = acpi_find_rsdp_bios();
        if (found == 0)
            panic("no ACPI RSDP: neither the boot loader nor the BIOS area has one");
        rsdp = physical_to_virtual(found);
    }
    if (!acpi_parse(rsdp, &acpi_info))
        panic("cannot read the ACPI tables");
    power_configure(&acpi_info);
}

static void start_memory(void)
{
    struct physical_range excluded[1 + BOOT_MODULES_MAX];
    size_t count = 0;
    excluded[count++] = (struct physical_range){ (uint64_t)(uintptr_t)_kernel_start, (uint64_t)(uintptr_t)_kernel_end };
    for (size_t i = 0; i < boot_info.module_count; i++)
        excluded[count++] = (struct physical_range){ boot_info.modules[i].start, boot_info.modules[i].end };
    pmm_init(&boot_info, excluded, count);
}

static void start_paging(void)
{
    struct paging_layout layout = {
        .kernel_start = (uint64_t)(uintptr_t)_kernel_start,
        .text_end = (uint64_t)(uintptr_t)_kernel_text_end,
        .rodata_end = (uint64_t)(uintptr_t)_kernel_rodata_end,
        .kernel_end = (uint64_t)(uintptr_t)_kernel_end,
    };
    if (!paging_init(&layout, &boot_info))
        panic("cannot build the kernel page tables: out of memory");
    paging_unmap((uint64_t)(uintptr_t)boot_stack_guard);
    // The local APIC where the CPU says it is (the MADT's copy of the
    // address may be missing); the IOAPICs where the MADT says.
    bool mapped = paging_map_mmio(lapic_physical_address(), PAGE_SIZE);
    for (uint32_t i = 0; i < acpi_info.ioapic_count; i++)
        mapped &= paging_map_mmio(acpi_info.ioapics[i].address, PAGE_SIZE);
    uint64_t screen_start, screen_size;
    if (screen_physical_range(&boot_info, &screen_start, &screen_size)) {
        mapped &= paging_map_mmio(screen_start, screen_size);
        screen_console_init(&boot_info);
    }
    if (!mapped)
        panic("cannot map the interrupt controllers or the screen");
}

static void start_interrupt_controllers(void)
{
    pic_disable();
    lapic_init_this_cpu();
    ioapic_init(&acpi_info);
}

static void start_clock(void)
{
    bool pm_timer_io = acpi_info.pm_timer.address_space == ACPI_ADDRESS_SPACE_IO;
    time_calibration_start(pm_timer_io ? (uint16_t)acpi_info.pm_timer.address : 0, acpi_info.pm_timer_32bit);
}

static void start_timer(void)
{
    timer_start_this_cpu();
    interrupts_enable();
}

static void start_other_cpus(void)
{
    smp_start_all(&acpi_info);
}

void kernel_main(uint32_t loader_magic, uint32_t loader_info)
{
    bootchart_start();
    boot_loader_magic = loader_magic;
    boot_loader_info = loader_info;

    boot_step("cpu", smp_setup_boot_cpu);
    boot_step("console", serial_init);
    boot_step("traps", traps_init);
    traps_load();
    boot_step("boot info", read_boot_info);
    boot_step("command line", read_command_line);
    boot_step("screen", start_screen);
    boot_step("acpi", read_acpi);
    boot_step("interrupts", start_interrupt_controllers);
    boot_step("clock start", start_clock);
    boot_step("memory", start_memory);
    boot_step("paging", start_paging);
    boot_step("pci", pci_init);
    boot_step("clock", time_calibration_finish);
    boot_step("timer", start_timer);
    boot_step("smp", start_other_cpus);

    uint64_t boot_ns = bootchart_elapsed_ns();
    log_always("hardway ready: cpus=%u mem=%llu MiB boot_ns=%llu\n", cpus_online,
             (unsigned long long)(boot_info_available_memory(&boot_info) >> 20), (unsigned long long)boot_ns);
    if (kernel_options.bootchart)
        bootchart_print();
    if (kernel_options.selftest[0])
        selftest_run(kernel_options.selftest);
    services_run();
}
