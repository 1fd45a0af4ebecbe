/*
 * Ending a run.
 *
 *   power_exit_qemu  QEMU's isa-debug-exit device (port 0xf4) turns a guest
 *                    write of V into QEMU exiting with status (V << 1) | 1;
 *                    that is how tests learn a self-test's verdict. On a
 *                    machine without the device the write goes nowhere.
 *   power_off        ACPI soft-off (S5): enter ACPI mode if the firmware has
 *                    not, then write SLP_TYPa/b (keeping the registers' other
 *                    bits), then SLP_EN, into the PM1a/PM1b control registers
 *                    named by the FADT. The SLP_TYP values live in the
 *                    DSDT's \_S5 object (kernel/acpi.c finds them). Without
 *                    ACPI, or if the machine stays on: a message, and halt.
 *   power_reboot     the FADT's reset register when it has one, then the
 *                    PCI reset control port 0xCF9, then the keyboard
 *                    controller's reset line, then a triple fault.
 */
#include "power.h"
#include "cpu.h"
#include "physical.h"
#include "printk.h"
#include "time.h"

#define QEMU_DEBUG_EXIT_PORT 0xF4
#define PM1_SLEEP_TYPE_SHIFT 10
#define PM1_SLEEP_ENABLE (1u << 13)
#define PM1_SLEEP_TYPE_MASK (7u << 10)
#define PM1_SCI_ENABLE (1u << 0)
#define ACPI_ENABLE_WAIT_NS (1000ull * 1000 * 1000)
#define POWER_OFF_WAIT_NS (500ull * 1000 * 1000)
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

// The 16-bit registers an ACPI generic address names (port or memory).
static uint16_t read_register16(const struct acpi_generic_address *reg)
{
    if (reg->address_space == ACPI_ADDRESS_SPACE_IO)
        return inw((uint16_t)reg->address);
    if (reg->address_space == ACPI_ADDRESS_SPACE_MEMORY)
        return *(volatile uint16_t *)physical_to_virtual(reg->address);
    return 0;
}

static void write_register16(const struct acpi_generic_address *reg, uint16_t value)
{
    if (reg->address_space == ACPI_ADDRESS_SPACE_IO)
        outw((uint16_t)reg->address, value);
    else if (reg->address_space == ACPI_ADDRESS_SPACE_MEMORY)
        *(volatile uint16_t *)physical_to_virtual(reg->address) = value;
}

// Puts the firmware into ACPI mode if it is not (SCI_EN clear): writing
// ACPI_ENABLE to the SMI command port hands the power registers to us.
static void acpi_mode_enable(void)
{
    if (read_register16(&acpi->pm1a_control) & PM1_SCI_ENABLE)
        return;
    if (acpi->smi_command_port == 0 || acpi->acpi_enable_value == 0)
        return;   // hardware-reduced or already enabled as far as we can tell
    outb((uint16_t)acpi->smi_command_port, acpi->acpi_enable_value);
    uint64_t end = nanotime() + ACPI_ENABLE_WAIT_NS;
    while (!(read_register16(&acpi->pm1a_control) & PM1_SCI_ENABLE) && nanotime() < end)
        cpu_relax();
}

// Writes SLP_TYP into a PM1 control register, keeping its other bits, then
// sets SLP_EN: the order ACPI specifies, and the one Linux uses.
static void sleep_register_write(const struct acpi_generic_address *reg, uint8_t sleep_type)
{
    if (reg->address == 0)
        return;
    uint16_t value = read_register16(reg);
    value &= (uint16_t)~(PM1_SLEEP_TYPE_MASK | PM1_SLEEP_ENABLE);
    value |= (uint16_t)((sleep_type & 7u) << PM1_SLEEP_TYPE_SHIFT);
    write_register16(reg, value);
    write_register16(reg, value | PM1_SLEEP_ENABLE);
}

void power_off(void)
{
    interrupts_disable();
    if (acpi && acpi->s5_found && acpi->pm1a_control.address) {
        acpi_mode_enable();
        sleep_register_write(&acpi->pm1a_control, acpi->s5_sleep_type_a);
        sleep_register_write(&acpi->pm1b_control, acpi->s5_sleep_type_b);
        // The machine may take a moment to go; don't report failure early.
        time_busy_wait(POWER_OFF_WAIT_NS);
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
