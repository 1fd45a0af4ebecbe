/*
 * Ending a run.
 *
 *   power_exit_qemu  QEMU's isa-debug-exit device (port 0xf4) turns a guest
 *                    write of V into QEMU exiting with status (V << 1) | 1;
 *                    that is how tests learn a self-test's verdict. On a
 *                    machine without the device the write goes nowhere.
 *   power_off        ACPI soft-off (S5): write SLP_TYPa/b with SLP_EN into
 *                    the PM1a/PM1b control registers named by the FADT. The
 *                    SLP_TYP values live in the DSDT's \_S5 object
 *                    (kernel/acpi.c finds them). Without ACPI: halt.
 *   power_reboot     the FADT's reset register when it has one, then the
 *                    PCI reset control port 0xCF9, then the keyboard
 *                    controller's reset line, then a triple fault.
 */
#include "power.h"
#include "cpu.h"
#include "physical.h"
#include "printk.h"

#define QEMU_DEBUG_EXIT_PORT 0xF4
#define PM1_SLEEP_TYPE_SHIFT 10
#define PM1_SLEEP_ENABLE (1u << 13)
#define RESET_CONTROL_PORT 0xCF9
#define RESET_CONTROL_FULL_RESET 0x06
#define KEYBOARD_CONTROLLER_COMMAND 0x64
#define KEYBOARD_CONTROLLER_PULSE_RESET 0xFE

static const struct acpi_info *acpi;

void power_configure(const struct acpi_info *info)
{
    acpi = info;
}

void power_exit_qemu(enum power_exit_code code)
{
    outl(QEMU_DEBUG_EXIT_PORT, code);
}

// Writes a 16-bit value to a register named by an ACPI generic address.
static void write_register16(const struct acpi_generic_address *reg, uint16_t value)
{
    if (reg->address == 0)
        return;
    if (reg->address_space == ACPI_ADDRESS_SPACE_IO)
        outw((uint16_t)reg->address, value);
    else if (reg->address_space == ACPI_ADDRESS_SPACE_MEMORY)
        *(volatile uint16_t *)physical_to_virtual(reg->address) = value;
}

void power_off(void)
{
    interrupts_disable();
    if (acpi && acpi->s5_found && acpi->pm1a_control.address) {
        write_register16(&acpi->pm1a_control,
                         (uint16_t)((acpi->s5_sleep_type_a << PM1_SLEEP_TYPE_SHIFT) | PM1_SLEEP_ENABLE));
        write_register16(&acpi->pm1b_control,
                         (uint16_t)((acpi->s5_sleep_type_b << PM1_SLEEP_TYPE_SHIFT) | PM1_SLEEP_ENABLE));
    }
    log_error("power: ACPI power-off did not happen; halting\n");
    cpu_halt_forever();
}

void power_reboot(void)
{
    interrupts_disable();
    if (acpi && acpi->reset_supported) {
        if (acpi->reset_register.address_space == ACPI_ADDRESS_SPACE_IO)
            outb((uint16_t)acpi->reset_register.address, acpi->reset_value);
        else if (acpi->reset_register.address_space == ACPI_ADDRESS_SPACE_MEMORY)
            *(volatile uint8_t *)physical_to_virtual(acpi->reset_register.address) = acpi->reset_value;
    }
    outb(RESET_CONTROL_PORT, RESET_CONTROL_FULL_RESET);
    outb(KEYBOARD_CONTROLLER_COMMAND, KEYBOARD_CONTROLLER_PULSE_RESET);
    // Last resort: an empty IDT makes the next interrupt a triple fault,
    // which resets the CPU.
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) empty = { 0, 0 };
    __asm__ volatile("lidt %0; int3" : : "m"(empty));
    cpu_halt_forever();
}
