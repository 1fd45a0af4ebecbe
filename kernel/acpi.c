/*
 * Reading the ACPI tables.
 *
 * The firmware describes the machine in a tree of tables in memory. The
 * root pointer (RSDP) comes from the boot loader (multiboot2 tags 14/15) or,
 * on BIOS machines booted by QEMU's -kernel, from a scan of the BIOS areas
 * (acpi_find_rsdp_bios). It points at the RSDT (32-bit table pointers) or,
 * from ACPI 2.0 on, the XSDT (64-bit pointers), which is preferred. Those
 * list the tables hardway reads:
 *
 *   MADT ("APIC")  the CPUs (their LAPIC ids), the IOAPICs, how ISA IRQs map
 *                  to global system interrupts, which LAPIC input is NMI;
 *   FADT ("FACP")  the power-management registers (PM1 control for power
 *                  off, the PM timer, the reset register), the SCI, the CMOS
 *                  century register, and where the DSDT is;
 *   DSDT           AML bytecode; hardway runs no AML interpreter, but the
 *                  \_S5 object, the values that power the machine off, is
 *                  nearly always a plain Name(_S5_, Package(){...}) that a
 *                  byte scan finds (see acpi_find_s5);
 *   HPET           the high precision event timer's address.
 *
 * Everything acpi_parse learns is copied into `struct acpi_info`, in fixed
 * arrays with stated limits (ACPI_CPUS_MAX ...): a machine with more is told
 * so in a warning and runs with what fits, rather than overrunning a buffer.
 *
 * The tables are firmware data, so nothing in them is believed before it is
 * checked: every table's checksum (all bytes sum to 0), its length (at least
 * a header, at most ACPI_TABLE_SIZE_MAX), each MADT entry's length against
 * the table's end, each FADT field against the FADT's length (ACPI 1.0's
 * FADT is 116 bytes, later ones 244 or more). A table that fails is ignored
 * with a warning that names it; the rest of the machine is still usable.
 *
 * Physical addresses are followed with physical_to_virtual, so the unit tests
 * can build a whole table tree in a buffer. In the kernel the tables are read
 * early, through the boot page tables, which map the first 4 GiB: a table
 * placed above that (firmware keeps them low in practice) is ignored with a
 * warning rather than followed into unmapped memory.
 */
#include "acpi.h"
#include "unaligned.h"

// The tables are read through the boot page tables (boot/entry.S).
#define ACPI_REACHABLE_LIMIT (4ull << 30)
#include "physical.h"
#include "printk.h"
#include <string.h>

#define ACPI_HEADER_SIZE 36u
// DSDTs of large servers reach a few hundred KiB; more than this is garbage.
#define ACPI_TABLE_SIZE_MAX (16u << 20)
#define ACPI_RSDP_V1_SIZE 20u
#define ACPI_RSDP_V2_SIZE 36u

// Where the last acpi_parse found the tables, for acpi_table_find.
static uint64_t acpi_root_physical;
static unsigned acpi_root_entry_size;   // 4 for the RSDT, 8 for the XSDT
static uint64_t acpi_dsdt_physical;

static uint8_t acpi_sum(const uint8_t *bytes, size_t length)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < length; i++)
        sum = (uint8_t)(sum + bytes[i]);
    return sum;
}

// A signature fit to print: garbage bytes become '?'.
static void acpi_printable_signature(const char *signature, char printable[5])
{
    for (int i = 0; i < 4; i++)
        printable[i] = signature[i] >= 0x20 && signature[i] < 0x7F ? signature[i] : '?';
    printable[4] = '\0';
}

// The table at `physical` if it is one: a sane length, a good checksum, and
// the expected signature (NULL accepts any). Otherwise NULL, with a warning
// naming it unless `quiet`.
static const struct acpi_table_header *acpi_checked_table(uint64_t physical, const char *expected, bool quiet)
{
    if (physical == 0)
        return NULL;
    if (physical >= ACPI_REACHABLE_LIMIT - ACPI_HEADER_SIZE) {
        if (!quiet)
            log_warning("acpi: a table at %#llx lies above 4 GiB, beyond the boot page tables; ignored\n",
                        (unsigned long long)physical);
        return NULL;
    }
    const struct acpi_table_header *header = physical_to_virtual(physical);
    char name[5];
    acpi_printable_signature(header->signature, name);
    const char *problem = NULL;
    if (expected != NULL && memcmp(header->signature, expected, 4) != 0)
        problem = "is not the expected table";
    else if (header->length < ACPI_HEADER_SIZE || header->length > ACPI_TABLE_SIZE_MAX)
        problem = "has an implausible length";
    else if (physical + header->length > ACPI_REACHABLE_LIMIT)
        problem = "runs past 4 GiB, beyond the boot page tables";
    else if (acpi_sum((const uint8_t *)header, header->length) != 0)
        problem = "has a bad checksum";
    if (problem == NULL)
        return header;
    if (!quiet) {
        if (expected != NULL)
            log_warning("acpi: table '%s' at %#llx (where '%.4s' should be) %s; ignored\n", name,
                        (unsigned long long)physical, expected, problem);
        else
            log_warning("acpi: table '%s' at %#llx %s (length %u); ignored\n", name, (unsigned long long)physical,
                        problem, header->length);
    }
    return NULL;
}

/* ---- RSDP ------------------------------------------------------------- */

static bool acpi_rsdp_valid(const uint8_t *rsdp)
{
    return memcmp(rsdp, "RSD PTR ", 8) == 0 && acpi_sum(rsdp, ACPI_RSDP_V1_SIZE) == 0;
}

static uint64_t acpi_scan_for_rsdp(uint64_t start, uint64_t length)
{
    for (uint64_t address = (start + 15) & ~15ull; address + ACPI_RSDP_V1_SIZE <= start + length; address += 16) {
        if (acpi_rsdp_valid(physical_to_virtual(address)))
            return address;
    }
    return 0;
}

uint64_t acpi_find_rsdp_bios(void)
{
    // The BIOS data area keeps the EBDA's real-mode segment at 0x40E.
    uint64_t ebda = (uint64_t)read_unaligned16(physical_to_virtual(0x40E)) << 4;
    if (ebda != 0 && ebda < 0xA0000) {
        uint64_t length = 0xA0000 - ebda < 1024 ? 0xA0000 - ebda : 1024;
        uint64_t found = acpi_scan_for_rsdp(ebda, length);
        if (found)
            return found;
    }
    return acpi_scan_for_rsdp(0xE0000, 0x20000);
}

/* ---- MADT ------------------------------------------------------------- */

enum madt_entry_type {
    MADT_LOCAL_APIC = 0,
    MADT_IO_APIC = 1,
    MADT_INTERRUPT_OVERRIDE = 2,
    MADT_NMI_SOURCE = 3,
    MADT_LOCAL_APIC_NMI = 4,
    MADT_LOCAL_APIC_ADDRESS_OVERRIDE = 5,
    MADT_LOCAL_X2APIC = 9,
    MADT_LOCAL_X2APIC_NMI = 10,
};

// The size each entry type must at least have for the fields read here.
static uint8_t madt_entry_minimum_length(uint8_t type)
{
    switch (type) {
    case MADT_LOCAL_APIC: return 8;
    case MADT_IO_APIC: return 12;
    case MADT_INTERRUPT_OVERRIDE: return 10;
    case MADT_NMI_SOURCE: return 8;
    case MADT_LOCAL_APIC_NMI: return 6;
    case MADT_LOCAL_APIC_ADDRESS_OVERRIDE: return 12;
    case MADT_LOCAL_X2APIC: return 16;
    case MADT_LOCAL_X2APIC_NMI: return 12;
    default: return 2;
    }
}

#define MADT_PROCESSOR_ENABLED (1u << 0)
#define MADT_PROCESSOR_ONLINE_CAPABLE (1u << 1)   // meaningful from MADT revision 5

// MPS INTI flags: polarity in bits 0-1, trigger mode in bits 2-3; 0 means
// "as the bus does", which for ISA is active high and edge-triggered.
static bool acpi_flags_active_low(uint16_t flags)
{
    return (flags & 3) == 3;
}

static bool acpi_flags_level_triggered(uint16_t flags)
{
    return ((flags >> 2) & 3) == 3;
}

struct madt_overflow {
    uint32_t cpus, ioapics, overrides, lapic_nmis, nmi_sources;
};

static void acpi_add_cpu(struct acpi_info *info, struct madt_overflow *overflow, uint32_t apic_id, uint32_t uid,
                         uint32_t flags, bool x2apic, uint8_t madt_revision)
{
    bool enabled = flags & MADT_PROCESSOR_ENABLED;
    bool online_capable = madt_revision >= 5 && (flags & MADT_PROCESSOR_ONLINE_CAPABLE);
    if (!enabled && !online_capable)
        return;
    // Some firmware lists a CPU both as a LAPIC and as an x2APIC.
    for (uint32_t i = 0; i < info->cpu_count; i++) {
        if (info->cpus[i].apic_id == apic_id)
            return;
    }
    if (info->cpu_count == ACPI_CPUS_MAX) {
        overflow->cpus++;
        return;
    }
    info->cpus[info->cpu_count++] = (struct acpi_cpu){ apic_id, uid, x2apic, !enabled };
}

static void acpi_add_lapic_nmi(struct acpi_info *info, struct madt_overflow *overflow, uint32_t uid, uint16_t flags,
                               uint8_t lint)
{
    if (info->lapic_nmi_count == ACPI_LAPIC_NMIS_MAX) {
        overflow->lapic_nmis++;
        return;
    }
    info->lapic_nmis[info->lapic_nmi_count++] = (struct acpi_lapic_nmi){
        uid, lint, flags, acpi_flags_active_low(flags), acpi_flags_level_triggered(flags),
    };
}

static void acpi_warn_overflow(uint32_t dropped, const char *what, unsigned limit)
{
    if (dropped > 0)
        log_warning("acpi: the MADT lists %u more %s than the %u supported; ignored\n", dropped, what, limit);
}

static void acpi_parse_madt(const struct acpi_table_header *madt, struct acpi_info *info)
{
    const uint8_t *table = (const uint8_t *)madt;
    if (madt->length < ACPI_HEADER_SIZE + 8) {
        log_warning("acpi: the MADT is too short (%u bytes); ignored\n", madt->length);
        return;
    }
    info->madt_present = true;
    info->lapic_address = read_unaligned32(table + 36);
    info->has_legacy_pics = read_unaligned32(table + 40) & 1;

    struct madt_overflow overflow = { 0 };
    uint32_t offset = ACPI_HEADER_SIZE + 8;
    while (offset + 2 <= madt->length) {
        const uint8_t *entry = table + offset;
        uint8_t type = entry[0], length = entry[1];
        if (length < 2 || length > madt->length - offset) {
            log_warning("acpi: MADT entry type %u at offset %u has a bad length %u; the rest is ignored\n", type,
                        offset, length);
            break;
        }
        offset += length;
        if (length < madt_entry_minimum_length(type)) {
            log_warning("acpi: MADT entry type %u is too short (%u bytes); ignored\n", type, length);
            continue;
        }
        switch (type) {
        case MADT_LOCAL_APIC:
            acpi_add_cpu(info, &overflow, entry[3], entry[2], read_unaligned32(entry + 4), false, madt->revision);
            break;
        case MADT_LOCAL_X2APIC:
            acpi_add_cpu(info, &overflow, read_unaligned32(entry + 4), read_unaligned32(entry + 12), read_unaligned32(entry + 8),
                         true, madt->revision);
            break;
        case MADT_IO_APIC:
            if (info->ioapic_count < ACPI_IOAPICS_MAX)
                info->ioapics[info->ioapic_count++] =
                    (struct acpi_ioapic){ entry[2], read_unaligned32(entry + 4), read_unaligned32(entry + 8) };
            else
                overflow.ioapics++;
            break;
        case MADT_INTERRUPT_OVERRIDE: {
            uint16_t flags = read_unaligned16(entry + 8);
            if (info->override_count < ACPI_OVERRIDES_MAX)
                info->overrides[info->override_count++] = (struct acpi_interrupt_override){
                    entry[2], entry[3], read_unaligned32(entry + 4), flags,
                    acpi_flags_active_low(flags), acpi_flags_level_triggered(flags),
                };
            else
                overflow.overrides++;
            break;
        }
        case MADT_NMI_SOURCE:
            if (info->nmi_source_count < ACPI_NMI_SOURCES_MAX)
                info->nmi_sources[info->nmi_source_count++] =
                    (struct acpi_nmi_source){ read_unaligned32(entry + 4), read_unaligned16(entry + 2) };
            else
                overflow.nmi_sources++;
            break;
        case MADT_LOCAL_APIC_NMI:
            acpi_add_lapic_nmi(info, &overflow, entry[2] == 0xFF ? ACPI_ALL_PROCESSORS : entry[2],
                               read_unaligned16(entry + 3), entry[5]);
            break;
        case MADT_LOCAL_X2APIC_NMI:
            acpi_add_lapic_nmi(info, &overflow, read_unaligned32(entry + 4), read_unaligned16(entry + 2), entry[8]);
            break;
        case MADT_LOCAL_APIC_ADDRESS_OVERRIDE:
            info->lapic_address = read_unaligned64(entry + 4);
            break;
        default:
            break;   // GIC, SAPIC, wakeup mailbox ...: not for this machine
        }
    }
    acpi_warn_overflow(overflow.cpus, "CPUs", ACPI_CPUS_MAX);
    acpi_warn_overflow(overflow.ioapics, "IOAPICs", ACPI_IOAPICS_MAX);
    acpi_warn_overflow(overflow.overrides, "interrupt overrides", ACPI_OVERRIDES_MAX);
    acpi_warn_overflow(overflow.lapic_nmis, "LAPIC NMI entries", ACPI_LAPIC_NMIS_MAX);
    acpi_warn_overflow(overflow.nmi_sources, "NMI sources", ACPI_NMI_SOURCES_MAX);
}

/* ---- FADT ------------------------------------------------------------- */

// FADT field offsets (ACPI 6.4, table 5.9).
enum {
    FADT_DSDT = 40,
    FADT_SCI_INTERRUPT = 46,
    FADT_SMI_COMMAND = 48,
    FADT_ACPI_ENABLE = 52,
    FADT_PM1A_CONTROL_BLOCK = 64,
    FADT_PM1B_CONTROL_BLOCK = 68,
    FADT_PM_TIMER_BLOCK = 76,
    FADT_PM1_CONTROL_LENGTH = 89,
    FADT_PM_TIMER_LENGTH = 91,
    FADT_CENTURY = 108,
    FADT_BOOT_ARCHITECTURE = 109,
    FADT_FLAGS = 112,
    FADT_RESET_REGISTER = 116,
    FADT_RESET_VALUE = 128,
    FADT_X_DSDT = 140,
    FADT_X_PM1A_CONTROL_BLOCK = 172,
    FADT_X_PM1B_CONTROL_BLOCK = 184,
    FADT_X_PM_TIMER_BLOCK = 208,
};

#define FADT_FLAG_TIMER_32BIT (1u << 8)
#define FADT_FLAG_RESET_REGISTER (1u << 10)
#define ACPI_GENERIC_ADDRESS_SIZE 12u

// FADT fields beyond the table's length (an older revision) read as 0.
static uint32_t fadt_field(const uint8_t *fadt, uint32_t length, uint32_t offset, unsigned size)
{
    if (offset + size > length)
        return 0;
    return size == 1 ? fadt[offset] : size == 2 ? read_unaligned16(fadt + offset) : read_unaligned32(fadt + offset);
}

static bool fadt_generic_address(const uint8_t *fadt, uint32_t length, uint32_t offset,
                                 struct acpi_generic_address *address)
{
    if (offset + ACPI_GENERIC_ADDRESS_SIZE > length)
        return false;
    const uint8_t *bytes = fadt + offset;
    *address = (struct acpi_generic_address){ bytes[0], bytes[1], bytes[2], bytes[3], read_unaligned64(bytes + 4) };
    return address->address != 0;
}

// The 64-bit "X_" register block when present, else the ACPI 1.0 I/O port.
static struct acpi_generic_address fadt_register(const uint8_t *fadt, uint32_t length, uint32_t extended_offset,
                                                 uint32_t port_offset, uint32_t length_offset)
{
    struct acpi_generic_address address;
    if (fadt_generic_address(fadt, length, extended_offset, &address))
        return address;
    uint32_t port = fadt_field(fadt, length, port_offset, 4);
    uint8_t bytes = (uint8_t)fadt_field(fadt, length, length_offset, 1);
    return (struct acpi_generic_address){ ACPI_ADDRESS_SPACE_IO, (uint8_t)(bytes * 8), 0, 0, port };
}

static void acpi_parse_fadt(const struct acpi_table_header *header, struct acpi_info *info)
{
    const uint8_t *fadt = (const uint8_t *)header;
    uint32_t length = header->length;
    info->fadt_present = true;
    info->sci_interrupt = (uint16_t)fadt_field(fadt, length, FADT_SCI_INTERRUPT, 2);
    info->smi_command_port = fadt_field(fadt, length, FADT_SMI_COMMAND, 4);
    info->acpi_enable_value = (uint8_t)fadt_field(fadt, length, FADT_ACPI_ENABLE, 1);
    info->pm1a_control = fadt_register(fadt, length, FADT_X_PM1A_CONTROL_BLOCK, FADT_PM1A_CONTROL_BLOCK,
                                       FADT_PM1_CONTROL_LENGTH);
    info->pm1b_control = fadt_register(fadt, length, FADT_X_PM1B_CONTROL_BLOCK, FADT_PM1B_CONTROL_BLOCK,
                                       FADT_PM1_CONTROL_LENGTH);
    info->pm_timer = fadt_register(fadt, length, FADT_X_PM_TIMER_BLOCK, FADT_PM_TIMER_BLOCK, FADT_PM_TIMER_LENGTH);
    uint32_t flags = fadt_field(fadt, length, FADT_FLAGS, 4);
    info->pm_timer_32bit = flags & FADT_FLAG_TIMER_32BIT;
    info->century = (uint8_t)fadt_field(fadt, length, FADT_CENTURY, 1);
    info->boot_architecture_flags = (uint16_t)fadt_field(fadt, length, FADT_BOOT_ARCHITECTURE, 2);
    if ((flags & FADT_FLAG_RESET_REGISTER) && length >= FADT_RESET_VALUE + 1 &&
        fadt_generic_address(fadt, length, FADT_RESET_REGISTER, &info->reset_register)) {
        info->reset_supported = true;
        info->reset_value = fadt[FADT_RESET_VALUE];
    }
    uint64_t extended_dsdt = length >= FADT_X_DSDT + 8 ? read_unaligned64(fadt + FADT_X_DSDT) : 0;
    info->dsdt_address = extended_dsdt ? extended_dsdt : fadt_field(fadt, length, FADT_DSDT, 4);
}

/* ---- \_S5 in AML ------------------------------------------------------ */

enum {
    AML_ZERO_OP = 0x00,
    AML_ONE_OP = 0x01,
    AML_NAME_OP = 0x08,
    AML_BYTE_PREFIX = 0x0A,
    AML_WORD_PREFIX = 0x0B,
    AML_DWORD_PREFIX = 0x0C,
    AML_PACKAGE_OP = 0x12,
    AML_ROOT_PREFIX = '\\',
};

// One integer element of a package; advances *offset past it.
static bool aml_read_integer(const uint8_t *aml, uint32_t length, uint32_t *offset, uint8_t *value)
{
    if (*offset >= length)
        return false;
    uint8_t opcode = aml[(*offset)++];
    switch (opcode) {
    case AML_ZERO_OP: *value = 0; return true;
    case AML_ONE_OP: *value = 1; return true;
    case AML_BYTE_PREFIX:
    case AML_WORD_PREFIX:
    case AML_DWORD_PREFIX: {
        uint32_t size = opcode == AML_BYTE_PREFIX ? 1 : opcode == AML_WORD_PREFIX ? 2 : 4;
        if (*offset + size > length)
            return false;
        *value = aml[*offset];   // SLP_TYP is 3 bits: the low byte holds it
        *offset += size;
        return true;
    }
    default:
        return false;
    }
}

// Finds `Name(_S5_, Package(n) {SLP_TYPa, SLP_TYPb, ...})` by its bytes:
// NameOp (or NameOp '\'), "_S5_", PackageOp, a PkgLength of 1-4 bytes (the
// top two bits of the first say how many follow), NumElements, then integers
// encoded as ZeroOp, OneOp, or a byte/word/dword prefix and the value.
// An "_S5_" anywhere else (a method, a reference in code) is passed over.
static bool acpi_find_s5(const uint8_t *aml, uint32_t length, uint8_t *sleep_type_a, uint8_t *sleep_type_b)
{
    for (uint32_t i = 1; i + 4 <= length; i++) {
        if (memcmp(aml + i, "_S5_", 4) != 0)
            continue;
        if (aml[i - 1] != AML_NAME_OP && aml[i - 1] != AML_ROOT_PREFIX)
            continue;
        uint32_t offset = i + 4;
        if (offset >= length || aml[offset] != AML_PACKAGE_OP)
            continue;
        offset++;
        if (offset >= length)
            continue;
        offset += 1 + (aml[offset] >> 6);   // PkgLength
        if (offset >= length)
            continue;
        uint8_t elements = aml[offset++];
        uint8_t a = 0, b = 0;
        if (elements < 1 || !aml_read_integer(aml, length, &offset, &a))
            continue;
        if (elements >= 2 && !aml_read_integer(aml, length, &offset, &b))
            continue;
        *sleep_type_a = a;
        *sleep_type_b = b;
        return true;
    }
    return false;
}

static void acpi_scan_for_s5(const struct acpi_table_header *table, struct acpi_info *info)
{
    if (info->s5_found || table == NULL)
        return;
    const uint8_t *aml = (const uint8_t *)table + ACPI_HEADER_SIZE;
    info->s5_found = acpi_find_s5(aml, table->length - ACPI_HEADER_SIZE, &info->s5_sleep_type_a,
                                  &info->s5_sleep_type_b);
}

/* ---- HPET ------------------------------------------------------------- */

static void acpi_parse_hpet(const struct acpi_table_header *hpet, struct acpi_info *info)
{
    const uint8_t *table = (const uint8_t *)hpet;
    if (hpet->length < 56) {
        log_warning("acpi: the HPET table is too short (%u bytes); ignored\n", hpet->length);
        return;
    }
    info->hpet_present = true;
    info->hpet_address = read_unaligned64(table + 44);   // the generic address at 40; its address at +4
    info->hpet_number = table[52];
    info->hpet_minimum_tick = read_unaligned16(table + 53);
}

/* ---- the root table and acpi_parse ------------------------------------ */

static size_t acpi_root_entry_count(void)
{
    const struct acpi_table_header *root = physical_to_virtual(acpi_root_physical);
    return acpi_root_physical ? (root->length - ACPI_HEADER_SIZE) / acpi_root_entry_size : 0;
}

static uint64_t acpi_root_entry(size_t index)
{
    const uint8_t *entries = (const uint8_t *)physical_to_virtual(acpi_root_physical) + ACPI_HEADER_SIZE;
    return acpi_root_entry_size == 8 ? read_unaligned64(entries + index * 8) : read_unaligned32(entries + index * 4);
}

// Chooses the XSDT when the RSDP is version 2 with a good extended checksum
// and the XSDT is valid; otherwise the RSDT.
static bool acpi_choose_root(const uint8_t *rsdp, struct acpi_info *info)
{
    acpi_root_physical = 0;
    if (info->revision >= 2) {
        if (acpi_sum(rsdp, ACPI_RSDP_V2_SIZE) != 0) {
            log_warning("acpi: the RSDP's extended checksum is bad; using the RSDT\n");
        } else if (acpi_checked_table(read_unaligned64(rsdp + 24), "XSDT", false)) {
            acpi_root_physical = read_unaligned64(rsdp + 24);
            acpi_root_entry_size = 8;
            info->uses_xsdt = true;
            return true;
        }
    }
    uint64_t rsdt = read_unaligned32(rsdp + 16);
    if (acpi_checked_table(rsdt, "RSDT", false)) {
        acpi_root_physical = rsdt;
        acpi_root_entry_size = 4;
        return true;
    }
    log_warning("acpi: no usable RSDT or XSDT; no ACPI information\n");
    return false;
}

bool acpi_parse(const void *rsdp_pointer, struct acpi_info *info)
{
    const uint8_t *rsdp = rsdp_pointer;
    memset(info, 0, sizeof *info);
    acpi_root_physical = 0;
    acpi_dsdt_physical = 0;
    if (rsdp == NULL || !acpi_rsdp_valid(rsdp)) {
        log_warning("acpi: no valid RSDP (bad signature or checksum); no ACPI information\n");
        return false;
    }
    info->revision = rsdp[15];
    memcpy(info->oem_id, rsdp + 9, 6);
    if (!acpi_choose_root(rsdp, info))
        return false;

    for (size_t i = 0; i < acpi_root_entry_count(); i++) {
        const struct acpi_table_header *table = acpi_checked_table(acpi_root_entry(i), NULL, false);
        if (table == NULL)
            continue;
        if (memcmp(table->signature, "APIC", 4) == 0 && !info->madt_present)
            acpi_parse_madt(table, info);
        else if (memcmp(table->signature, "FACP", 4) == 0 && !info->fadt_present)
            acpi_parse_fadt(table, info);
        else if (memcmp(table->signature, "HPET", 4) == 0 && !info->hpet_present)
            acpi_parse_hpet(table, info);
    }
    if (!info->madt_present)
        log_warning("acpi: no MADT; only the boot CPU will run\n");

    if (info->fadt_present) {
        const struct acpi_table_header *dsdt = acpi_checked_table(info->dsdt_address, "DSDT", false);
        if (dsdt != NULL)
            acpi_dsdt_physical = info->dsdt_address;
        acpi_scan_for_s5(dsdt, info);
        // \_S5 is sometimes defined in an SSDT instead.
        for (size_t i = 0; !info->s5_found && acpi_table_find_nth("SSDT", i) != NULL; i++)
            acpi_scan_for_s5(acpi_table_find_nth("SSDT", i), info);
    }
    return true;
}

const struct acpi_table_header *acpi_table_find_nth(const char *signature, size_t index)
{
    if (memcmp(signature, "DSDT", 4) == 0)
        return index == 0 ? acpi_checked_table(acpi_dsdt_physical, "DSDT", true) : NULL;
    for (size_t i = 0; i < acpi_root_entry_count(); i++) {
        const struct acpi_table_header *table = acpi_checked_table(acpi_root_entry(i), signature, true);
        if (table != NULL && index-- == 0)
            return table;
    }
    return NULL;
}

const struct acpi_table_header *acpi_table_find(const char *signature)
{
    return acpi_table_find_nth(signature, 0);
}
