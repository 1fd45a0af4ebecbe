/*
 * ACPI: what the firmware says about the machine (CPUs, interrupt
 * controllers, power management, timers), read from its tables.
 * See kernel/acpi.c.
 */
#ifndef HARDWAY_ACPI_H
#define HARDWAY_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_CPUS_MAX 256
#define ACPI_IOAPICS_MAX 16
#define ACPI_OVERRIDES_MAX 48
#define ACPI_LAPIC_NMIS_MAX ACPI_CPUS_MAX   // firmware often lists one per CPU
#define ACPI_NMI_SOURCES_MAX 8

// A processor UID that means "every processor" (MADT NMI entries).
#define ACPI_ALL_PROCESSORS 0xFFFFFFFFu

// The header every ACPI table starts with.
struct acpi_table_header {
    char signature[4];
    uint32_t length;           // of the whole table, header included
    uint8_t revision;
    uint8_t checksum;          // all bytes of the table sum to 0 (mod 256)
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    uint32_t creator_id;
    uint32_t creator_revision;
} __attribute__((packed));

enum acpi_address_space {
    ACPI_ADDRESS_SPACE_MEMORY = 0,
    ACPI_ADDRESS_SPACE_IO = 1,
};

// A register's location (ACPI "generic address structure"); address 0
// means the firmware gave none.
struct acpi_generic_address {
    uint8_t address_space;     // enum acpi_address_space (others exist: PCI, ...)
    uint8_t bit_width;
    uint8_t bit_offset;
    uint8_t access_size;       // 0 undefined, 1 byte, 2 word, 3 dword, 4 qword
    uint64_t address;
};

struct acpi_cpu {
    uint32_t apic_id;          // the LAPIC (or x2APIC) id: what IPIs are addressed to
    uint32_t processor_uid;    // ACPI's own processor number, which NMI entries use
    bool x2apic;               // listed by an x2APIC entry (id may exceed 255)
    bool online_capable;       // disabled now, may be started (MADT revision >= 5)
};

struct acpi_ioapic {
    uint8_t id;
    uint32_t address;          // physical address of its registers
    uint32_t gsi_base;         // the first global system interrupt it serves
};

// An ISA IRQ that is not wired to the GSI of the same number, or not with
// ISA's polarity and trigger (typically the timer, IRQ 0 -> GSI 2, and the
// ACPI SCI).
struct acpi_interrupt_override {
    uint8_t bus;               // 0 = ISA
    uint8_t source;            // the bus's IRQ number
    uint32_t gsi;
    uint16_t flags;            // MPS INTI flags, decoded below
    bool active_low;
    bool level_triggered;
};

// Which LAPIC input (LINT0/LINT1) carries NMI, for one processor or all.
struct acpi_lapic_nmi {
    uint32_t processor_uid;    // ACPI_ALL_PROCESSORS for every processor
    uint8_t lint;              // 0 or 1
    uint16_t flags;
    bool active_low;
    bool level_triggered;
};

// A GSI that is an NMI (rare).
struct acpi_nmi_source {
    uint32_t gsi;
    uint16_t flags;
};

// FADT IA-PC boot architecture flags (boot_architecture_flags).
#define ACPI_BOOT_LEGACY_DEVICES  (1u << 0)
#define ACPI_BOOT_8042            (1u << 1)
#define ACPI_BOOT_NO_VGA          (1u << 2)
#define ACPI_BOOT_NO_MSI          (1u << 3)
#define ACPI_BOOT_NO_CMOS_RTC     (1u << 5)

struct acpi_info {
    uint8_t revision;                   // the RSDP's: 0 = ACPI 1.0, 2 = ACPI 2.0 or later
    bool uses_xsdt;                     // tables found through the XSDT (64-bit pointers)
    char oem_id[7];

    // MADT ("APIC")
    bool madt_present;
    uint64_t lapic_address;             // after any address override (type 5)
    bool has_legacy_pics;               // PCAT_COMPAT: 8259 PICs exist and must be masked
    uint32_t cpu_count;                 // enabled or online-capable processors, each APIC id once
    struct acpi_cpu cpus[ACPI_CPUS_MAX];
    uint32_t ioapic_count;
    struct acpi_ioapic ioapics[ACPI_IOAPICS_MAX];
    uint32_t override_count;
    struct acpi_interrupt_override overrides[ACPI_OVERRIDES_MAX];
    uint32_t lapic_nmi_count;
    struct acpi_lapic_nmi lapic_nmis[ACPI_LAPIC_NMIS_MAX];
    uint32_t nmi_source_count;
    struct acpi_nmi_source nmi_sources[ACPI_NMI_SOURCES_MAX];

    // FADT ("FACP")
    bool fadt_present;
    uint16_t sci_interrupt;             // the GSI (via overrides) of ACPI's own interrupt
    uint32_t smi_command_port;          // writing acpi_enable_value there enters ACPI mode
    uint8_t acpi_enable_value;
    struct acpi_generic_address pm1a_control, pm1b_control;   // SLP_TYP and SLP_EN live here
    struct acpi_generic_address pm_timer;                     // 3.579545 MHz counter
    bool pm_timer_32bit;                // else 24 bits
    bool reset_supported;               // reset_register and reset_value are valid
    struct acpi_generic_address reset_register;
    uint8_t reset_value;
    uint16_t boot_architecture_flags;   // ACPI_BOOT_*
    uint8_t century;                    // CMOS index of the century register, 0 if none
    uint64_t dsdt_address;              // physical (X_DSDT preferred)

    // \_S5 in the DSDT (or an SSDT): the values that power the machine off
    bool s5_found;
    uint8_t s5_sleep_type_a, s5_sleep_type_b;

    // HPET
    bool hpet_present;
    uint64_t hpet_address;              // physical address of its registers
    uint8_t hpet_number;
    uint16_t hpet_minimum_tick;
};

// Looks for the RSDP where BIOS firmware puts it: the first KiB of the EBDA
// (whose segment is the word at physical 0x40E), then 0xE0000-0xFFFFF, on
// 16-byte boundaries, checksum-validated. Returns its physical address or 0.
// Reads page 0: call it before paging_init unmaps that page.
uint64_t acpi_find_rsdp_bios(void);

// Reads the tables the RSDP leads to (`rsdp` is a pointer the kernel can
// read: boot_info's copy, or physical_to_virtual of the BIOS scan's result).
// Tables with a bad checksum are ignored with a warning naming them.
// Returns false, with a warning, when the RSDP or the root table is unusable.
bool acpi_parse(const void *rsdp, struct acpi_info *info);

// A checksum-valid table of the tables acpi_parse found (the DSDT included),
// or NULL. _nth counts tables with the same signature (several SSDTs).
const struct acpi_table_header *acpi_table_find(const char *signature);
const struct acpi_table_header *acpi_table_find_nth(const char *signature, size_t index);

#endif
