/*
 * Unit tests for kernel/acpi.c. Whole table trees are built in fake physical
 * memory: an ACPI 1.0 machine (RSDP v1, RSDT, a short FADT) and an ACPI 6
 * machine (RSDP v2, XSDT, x2APIC entries, 64-bit FADT registers, HPET), each
 * with a DSDT holding \_S5 in one of the encodings firmware uses. Bad
 * checksums must be rejected with a warning naming the table, and the BIOS
 * area scan must find the RSDP only where the specification puts it.
 */
#include "acpi.h"
#include "fakes.h"
#include "physical.h"
#include "printk.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct acpi_info info;
static uint64_t next_free;   // where the next table goes

static void setup(void)
{
    fake_physical_memory_create(64ull << 20);
    fake_printk_reset();
    memset(&info, 0xA5, sizeof info);   // acpi_parse must clear what it does not set
    next_free = 0x1000000;
}

static void teardown(void)
{
    fake_physical_memory_destroy();
}

static void put16(uint8_t *at, uint16_t value) { memcpy(at, &value, 2); }
static void put32(uint8_t *at, uint32_t value) { memcpy(at, &value, 4); }
static void put64(uint8_t *at, uint64_t value) { memcpy(at, &value, 8); }

static uint8_t checksum_of(const uint8_t *bytes, size_t length)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < length; i++)
        sum = (uint8_t)(sum + bytes[i]);
    return (uint8_t)-sum;
}

// Writes a table (header + body) at the next free place; returns its address.
static uint64_t add_table(const char *signature, uint8_t revision, const uint8_t *body, uint32_t body_length)
{
    uint64_t address = next_free;
    uint8_t *table = physical_to_virtual(address);
    uint32_t length = 36 + body_length;
    memset(table, 0, length);
    memcpy(table, signature, 4);
    put32(table + 4, length);
    table[8] = revision;
    memcpy(table + 10, "HARDWY", 6);
    memcpy(table + 16, "UNITTEST", 8);
    if (body_length)
        memcpy(table + 36, body, body_length);
    table[9] = checksum_of(table, length);
    next_free += (length + 15) & ~15u;
    return address;
}

static void corrupt(uint64_t table_address)
{
    ((uint8_t *)physical_to_virtual(table_address))[36] ^= 0x55;   // the checksum no longer adds up
}

static uint64_t add_root(const char *signature, const uint64_t *tables, size_t count)
{
    uint8_t body[64 * 8];
    unsigned size = signature[0] == 'X' ? 8 : 4;
    for (size_t i = 0; i < count; i++) {
        if (size == 8)
            put64(body + i * 8, tables[i]);
        else
            put32(body + i * 4, (uint32_t)tables[i]);
    }
    return add_table(signature, 1, body, (uint32_t)(count * size));
}

static uint8_t *write_rsdp(uint64_t address, uint8_t revision, uint32_t rsdt, uint64_t xsdt)
{
    uint8_t *rsdp = physical_to_virtual(address);
    memset(rsdp, 0, 36);
    memcpy(rsdp, "RSD PTR ", 8);
    memcpy(rsdp + 9, "BOCHS ", 6);
    rsdp[15] = revision;
    put32(rsdp + 16, rsdt);
    rsdp[8] = checksum_of(rsdp, 20);
    if (revision >= 2) {
        put32(rsdp + 20, 36);
        put64(rsdp + 24, xsdt);
        rsdp[32] = checksum_of(rsdp, 36);
    }
    return rsdp;
}

/* ---- MADT bodies ------------------------------------------------------ */

static uint8_t madt[8192];
static uint32_t madt_length;

static void madt_begin(uint32_t lapic_address, uint32_t flags)
{
    memset(madt, 0, sizeof madt);
    put32(madt, lapic_address);
    put32(madt + 4, flags);
    madt_length = 8;
}

static uint8_t *madt_entry(uint8_t type, uint8_t length)
{
    uint8_t *entry = madt + madt_length;
    entry[0] = type;
    entry[1] = length;
    madt_length += length;
    return entry;
}

static void madt_lapic(uint8_t uid, uint8_t apic_id, uint32_t flags)
{
    uint8_t *entry = madt_entry(0, 8);
    entry[2] = uid;
    entry[3] = apic_id;
    put32(entry + 4, flags);
}

static void madt_x2apic(uint32_t uid, uint32_t apic_id, uint32_t flags)
{
    uint8_t *entry = madt_entry(9, 16);
    put32(entry + 4, apic_id);
    put32(entry + 8, flags);
    put32(entry + 12, uid);
}

static void madt_ioapic(uint8_t id, uint32_t address, uint32_t gsi_base)
{
    uint8_t *entry = madt_entry(1, 12);
    entry[2] = id;
    put32(entry + 4, address);
    put32(entry + 8, gsi_base);
}

static void madt_override(uint8_t source, uint32_t gsi, uint16_t flags)
{
    uint8_t *entry = madt_entry(2, 10);
    entry[2] = 0;
    entry[3] = source;
    put32(entry + 4, gsi);
    put16(entry + 8, flags);
}

static void madt_lapic_nmi(uint8_t uid, uint16_t flags, uint8_t lint)
{
    uint8_t *entry = madt_entry(4, 6);
    entry[2] = uid;
    put16(entry + 3, flags);
    entry[5] = lint;
}

/* ---- FADT bodies ------------------------------------------------------ */

static uint8_t fadt[276 - 36];

// Offsets below are the FADT's (header included), as the specification gives them.
static void fadt_put8(uint32_t offset, uint8_t value) { fadt[offset - 36] = value; }
static void fadt_put16(uint32_t offset, uint16_t value) { put16(fadt + offset - 36, value); }
static void fadt_put32(uint32_t offset, uint32_t value) { put32(fadt + offset - 36, value); }
static void fadt_put64(uint32_t offset, uint64_t value) { put64(fadt + offset - 36, value); }
static void fadt_put_address(uint32_t offset, uint8_t space, uint8_t width, uint64_t address)
{
    fadt_put8(offset, space);
    fadt_put8(offset + 1, width);
    fadt_put8(offset + 3, space == 0 ? 3 : 2);
    fadt_put64(offset + 4, address);
}

// A DSDT whose AML is `prefix` + `s5` + `suffix` (any may be empty).
static uint64_t add_dsdt(const char *signature, const void *aml, uint32_t length)
{
    return add_table(signature, 2, aml, length);
}

// Name(_S5_, Package(4) {0x05, 0x05, Zero, Zero}) after some unrelated AML.
static const uint8_t qemu_like_aml[] = {
    0x10, 0x0A, '\\', '_', 'S', 'B', '_', 0x5B, 0x82, 0x00,       // Scope(\_SB) {...} (truncated look-alike)
    0x08, '_', 'S', '5', '_', 0x12, 0x0A, 0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00,
    0x08, 'X', 'Y', 'Z', '_', 0x0A, 0x01,
};

/* ---- an ACPI 1.0 machine ---------------------------------------------- */

#define RSDP_ADDRESS 0xF5A10ull

START_TEST(acpi_1_0_machine)
{
    madt_begin(0xFEE00000, 1);
    madt_lapic(0, 0, 1);
    madt_lapic(1, 1, 1);
    madt_lapic(2, 2, 0);   // disabled: not counted (revision < 5: bit 1 means nothing)
    madt_lapic(3, 3, 2);
    madt_ioapic(0, 0xFEC00000, 0);
    madt_override(0, 2, 0);
    madt_override(9, 9, 0xD);   // level, active high
    madt_lapic_nmi(0xFF, 0, 1);
    uint64_t madt_address = add_table("APIC", 1, madt, madt_length);

    uint64_t dsdt = add_dsdt("DSDT", qemu_like_aml, sizeof qemu_like_aml);
    memset(fadt, 0, sizeof fadt);
    fadt_put32(40, (uint32_t)dsdt);
    fadt_put16(46, 9);
    fadt_put32(48, 0xB2);
    fadt_put8(52, 0xF1);
    fadt_put32(64, 0x604);   // PM1a control
    fadt_put32(76, 0x608);   // PM timer
    fadt_put8(89, 2);
    fadt_put8(91, 4);
    fadt_put8(108, 0x32);
    fadt_put32(112, 1u << 10);   // claims a reset register the 1.0 table has no room for
    uint64_t fadt_address = add_table("FACP", 1, fadt, 116 - 36);

    uint64_t tables[] = { madt_address, fadt_address };
    uint64_t rsdt = add_root("RSDT", tables, 2);
    write_rsdp(RSDP_ADDRESS, 0, (uint32_t)rsdt, 0);

    ck_assert(acpi_parse(physical_to_virtual(RSDP_ADDRESS), &info));
    ck_assert_msg(fake_printk_count(LOG_WARNING) == 0, "%s", fake_printk_all());
    ck_assert_uint_eq(info.revision, 0);
    ck_assert(!info.uses_xsdt);
    ck_assert_str_eq(info.oem_id, "BOCHS ");

    ck_assert(info.madt_present);
    ck_assert_uint_eq(info.lapic_address, 0xFEE00000);
    ck_assert(info.has_legacy_pics);
    ck_assert_uint_eq(info.cpu_count, 2);
    ck_assert_uint_eq(info.cpus[0].apic_id, 0);
    ck_assert_uint_eq(info.cpus[1].apic_id, 1);
    ck_assert_uint_eq(info.cpus[1].processor_uid, 1);
    ck_assert(!info.cpus[1].x2apic);
    ck_assert_uint_eq(info.ioapic_count, 1);
    ck_assert_uint_eq(info.ioapics[0].address, 0xFEC00000);
    ck_assert_uint_eq(info.ioapics[0].gsi_base, 0);
    ck_assert_uint_eq(info.override_count, 2);
    ck_assert_uint_eq(info.overrides[0].source, 0);
    ck_assert_uint_eq(info.overrides[0].gsi, 2);
    ck_assert(!info.overrides[0].active_low && !info.overrides[0].level_triggered);
    ck_assert_uint_eq(info.overrides[1].source, 9);
    ck_assert(!info.overrides[1].active_low && info.overrides[1].level_triggered);
    ck_assert_uint_eq(info.lapic_nmi_count, 1);
    ck_assert_uint_eq(info.lapic_nmis[0].processor_uid, ACPI_ALL_PROCESSORS);
    ck_assert_uint_eq(info.lapic_nmis[0].lint, 1);

    ck_assert(info.fadt_present);
    ck_assert_uint_eq(info.sci_interrupt, 9);
    ck_assert_uint_eq(info.smi_command_port, 0xB2);
    ck_assert_uint_eq(info.acpi_enable_value, 0xF1);
    ck_assert_uint_eq(info.pm1a_control.address_space, ACPI_ADDRESS_SPACE_IO);
    ck_assert_uint_eq(info.pm1a_control.address, 0x604);
    ck_assert_uint_eq(info.pm1a_control.bit_width, 16);
    ck_assert_uint_eq(info.pm1b_control.address, 0);
    ck_assert_uint_eq(info.pm_timer.address, 0x608);
    ck_assert_uint_eq(info.pm_timer.bit_width, 32);
    ck_assert(!info.pm_timer_32bit);
    ck_assert(!info.reset_supported);
    ck_assert_uint_eq(info.century, 0x32);
    ck_assert_uint_eq(info.dsdt_address, dsdt);
    ck_assert(info.s5_found);
    ck_assert_uint_eq(info.s5_sleep_type_a, 5);
    ck_assert_uint_eq(info.s5_sleep_type_b, 5);
    ck_assert(!info.hpet_present);

    ck_assert_ptr_eq(acpi_table_find("APIC"), physical_to_virtual(madt_address));
    ck_assert_ptr_eq(acpi_table_find("FACP"), physical_to_virtual(fadt_address));
    ck_assert_ptr_eq(acpi_table_find("DSDT"), physical_to_virtual(dsdt));
    ck_assert_ptr_null(acpi_table_find("HPET"));
    ck_assert_ptr_null(acpi_table_find_nth("APIC", 1));
}
END_TEST

/* ---- an ACPI 6 machine ------------------------------------------------ */

static uint64_t build_acpi_6_machine(uint64_t *madt_out, uint64_t *dsdt_out)
{
    madt_begin(0xFEE00000, 0);
    madt_lapic(0, 0, 1);
    madt_lapic(1, 2, 1);
    madt_lapic(2, 4, 2);            // online capable: counts at revision 5
    madt_lapic(3, 6, 0);            // neither: does not
    madt_x2apic(4, 300, 1);         // an id only x2APIC can hold
    madt_x2apic(1, 2, 1);           // the same CPU listed again: once only
    madt_ioapic(1, 0xFEC00000, 0);
    madt_ioapic(2, 0xFEC01000, 24);
    madt_override(0, 2, 0);
    madt_override(9, 20, 0xF);      // level, active low
    uint8_t *source = madt_entry(3, 8);
    put16(source + 2, 0x5);
    put32(source + 4, 23);
    madt_lapic_nmi(0, 0x5, 1);
    uint8_t *x2nmi = madt_entry(10, 12);
    put16(x2nmi + 2, 0);
    put32(x2nmi + 4, 4);
    x2nmi[8] = 1;
    uint8_t *override = madt_entry(5, 12);
    put64(override + 4, 0xFEE10000ull);
    madt_entry(0x7F, 4);            // an entry type from the future: skipped
    uint64_t madt_address = add_table("APIC", 5, madt, madt_length);

    static const uint8_t aml[] = {
        0xA4, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x0A, 0x03, 0x0A, 0x03, 0x00, 0x00,
                                                                        // package-like bytes after a ReturnOp: not a Name
        0x14, 0x08, '_', 'S', '5', '_', 0x00, 0xA4, 0x00,              // a Method called _S5_: not a Name
        0x70, '_', 'S', '5', '_', 0x60,                                 // Store(_S5_, Local0): not a Name
        0x08, '_', 'S', '5', '_', 0x0A, 0x07,                           // Name(_S5_, 7): not a Package
        0x08, '\\', '_', 'S', '5', '_', 0x12, 0x4A, 0x00, 0x04,         // Name(\_S5_, Package(4)), 2-byte PkgLength
        0x0B, 0x06, 0x00, 0x01, 0x00, 0x00,                            //   {0x0006 (word), One, Zero, Zero}
    };
    uint64_t dsdt = add_dsdt("DSDT", aml, sizeof aml);
    memset(fadt, 0, sizeof fadt);
    fadt_put32(40, 0xDEAD0000);                   // the 32-bit DSDT pointer is stale...
    fadt_put64(140, dsdt);                        // ...the 64-bit one is right
    fadt_put16(46, 9);
    fadt_put32(64, 0xDEAD);                       // superseded by X_PM1a_CNT_BLK
    fadt_put8(89, 2);
    fadt_put32(76, 0x608);                        // no X_PM_TMR_BLK: this one stands
    fadt_put8(91, 4);
    fadt_put8(108, 0x32);
    fadt_put16(109, 0x2 | 0x4);                   // 8042, no VGA
    fadt_put32(112, 1u << 8 | 1u << 10);          // 32-bit timer, reset register
    fadt_put_address(116, ACPI_ADDRESS_SPACE_IO, 8, 0xCF9);
    fadt_put8(128, 0x06);
    fadt_put_address(172, ACPI_ADDRESS_SPACE_IO, 16, 0x1804);
    fadt_put_address(184, ACPI_ADDRESS_SPACE_IO, 16, 0x1884);
    uint64_t fadt_address = add_table("FACP", 6, fadt, sizeof fadt);

    uint8_t hpet[20] = { 0 };
    put32(hpet, 0x8086A201);
    hpet[4] = 0;   // memory space
    put64(hpet + 8, 0xFED00000);
    hpet[16] = 0;
    put16(hpet + 17, 0x80);
    uint64_t hpet_address = add_table("HPET", 1, hpet, sizeof hpet);

    uint64_t ssdt = add_dsdt("SSDT", qemu_like_aml, sizeof qemu_like_aml);
    uint64_t tables[] = { fadt_address, madt_address, hpet_address, ssdt };
    uint64_t xsdt = add_root("XSDT", tables, 4);
    uint64_t rsdt = add_root("RSDT", tables, 1);   // the RSDT lists less: proof the XSDT is used
    write_rsdp(RSDP_ADDRESS, 2, (uint32_t)rsdt, xsdt);
    if (madt_out)
        *madt_out = madt_address;
    if (dsdt_out)
        *dsdt_out = dsdt;
    return xsdt;
}

START_TEST(acpi_6_machine)
{
    uint64_t dsdt;
    build_acpi_6_machine(NULL, &dsdt);
    ck_assert(acpi_parse(physical_to_virtual(RSDP_ADDRESS), &info));
    ck_assert_msg(fake_printk_count(LOG_WARNING) == 0, "%s", fake_printk_all());
    ck_assert_uint_eq(info.revision, 2);
    ck_assert(info.uses_xsdt);

    ck_assert_uint_eq(info.lapic_address, 0xFEE10000ull);   // the override wins
    ck_assert(!info.has_legacy_pics);
    ck_assert_uint_eq(info.cpu_count, 4);
    ck_assert_uint_eq(info.cpus[2].apic_id, 4);
    ck_assert(info.cpus[2].online_capable);
    ck_assert(!info.cpus[0].online_capable);
    ck_assert_uint_eq(info.cpus[3].apic_id, 300);
    ck_assert_uint_eq(info.cpus[3].processor_uid, 4);
    ck_assert(info.cpus[3].x2apic);
    ck_assert_uint_eq(info.ioapic_count, 2);
    ck_assert_uint_eq(info.ioapics[1].id, 2);
    ck_assert_uint_eq(info.ioapics[1].gsi_base, 24);
    ck_assert_uint_eq(info.override_count, 2);
    ck_assert_uint_eq(info.overrides[1].gsi, 20);
    ck_assert(info.overrides[1].active_low && info.overrides[1].level_triggered);
    ck_assert_uint_eq(info.nmi_source_count, 1);
    ck_assert_uint_eq(info.nmi_sources[0].gsi, 23);
    ck_assert_uint_eq(info.lapic_nmi_count, 2);
    ck_assert_uint_eq(info.lapic_nmis[0].processor_uid, 0);
    ck_assert(!info.lapic_nmis[0].active_low);
    ck_assert_uint_eq(info.lapic_nmis[1].processor_uid, 4);
    ck_assert_uint_eq(info.lapic_nmis[1].lint, 1);

    ck_assert_uint_eq(info.pm1a_control.address, 0x1804);
    ck_assert_uint_eq(info.pm1b_control.address, 0x1884);
    ck_assert_uint_eq(info.pm_timer.address, 0x608);
    ck_assert(info.pm_timer_32bit);
    ck_assert(info.reset_supported);
    ck_assert_uint_eq(info.reset_register.address_space, ACPI_ADDRESS_SPACE_IO);
    ck_assert_uint_eq(info.reset_register.address, 0xCF9);
    ck_assert_uint_eq(info.reset_value, 6);
    ck_assert_uint_eq(info.boot_architecture_flags, ACPI_BOOT_8042 | ACPI_BOOT_NO_VGA);
    ck_assert_uint_eq(info.dsdt_address, dsdt);
    ck_assert(info.s5_found);
    ck_assert_uint_eq(info.s5_sleep_type_a, 6);
    ck_assert_uint_eq(info.s5_sleep_type_b, 1);

    ck_assert(info.hpet_present);
    ck_assert_uint_eq(info.hpet_address, 0xFED00000);
    ck_assert_uint_eq(info.hpet_minimum_tick, 0x80);
    ck_assert_ptr_nonnull(acpi_table_find("SSDT"));
    ck_assert_ptr_null(acpi_table_find_nth("SSDT", 1));
}
END_TEST

/* ---- bad tables ------------------------------------------------------- */

START_TEST(bad_table_checksum_is_named_and_ignored)
{
    uint64_t madt_address, dsdt;
    build_acpi_6_machine(&madt_address, &dsdt);
    corrupt(madt_address);
    ck_assert(acpi_parse(physical_to_virtual(RSDP_ADDRESS), &info));
    ck_assert_msg(fake_printk_has(LOG_WARNING, "'APIC'", "bad checksum", "ignored", NULL), "%s", fake_printk_all());
    ck_assert(!info.madt_present);
    ck_assert_uint_eq(info.cpu_count, 0);
    ck_assert(fake_printk_has(LOG_WARNING, "no MADT", NULL));
    // The rest of the machine is still described.
    ck_assert(info.fadt_present);
    ck_assert(info.hpet_present);
    ck_assert_ptr_null(acpi_table_find("APIC"));
}
END_TEST

START_TEST(bad_dsdt_checksum_means_no_s5_from_it)
{
    uint64_t dsdt;
    build_acpi_6_machine(NULL, &dsdt);
    corrupt(dsdt);
    ck_assert(acpi_parse(physical_to_virtual(RSDP_ADDRESS), &info));
    ck_assert(fake_printk_has(LOG_WARNING, "'DSDT'", "bad checksum", NULL));
    // \_S5 then comes from the SSDT, which has one too.
    ck_assert(info.s5_found);
    ck_assert_uint_eq(info.s5_sleep_type_a, 5);
    ck_assert_ptr_null(acpi_table_find("DSDT"));
}
END_TEST

START_TEST(bad_rsdp_is_refused)
{
    build_acpi_6_machine(NULL, NULL);
    uint8_t *rsdp = physical_to_virtual(RSDP_ADDRESS);
    rsdp[8] ^= 1;
    ck_assert(!acpi_parse(rsdp, &info));
    ck_assert(fake_printk_has(LOG_WARNING, "no valid RSDP", NULL));
    ck_assert_uint_eq(info.cpu_count, 0);
    ck_assert_ptr_null(acpi_table_find("FACP"));
    rsdp[8] ^= 1;
    rsdp[0] = 'X';
    ck_assert(!acpi_parse(rsdp, &info));
    ck_assert(!acpi_parse(NULL, &info));
}
END_TEST

START_TEST(bad_xsdt_falls_back_to_rsdt)
{
    uint64_t xsdt = build_acpi_6_machine(NULL, NULL);
    corrupt(xsdt);
    ck_assert(acpi_parse(physical_to_virtual(RSDP_ADDRESS), &info));
    ck_assert(fake_printk_has(LOG_WARNING, "'XSDT'", "bad checksum", NULL));
    ck_assert(!info.uses_xsdt);
    ck_assert(info.fadt_present);   // the RSDT lists only the FADT
    ck_assert(!info.madt_present);
}
END_TEST

START_TEST(bad_extended_checksum_uses_rsdt)
{
    build_acpi_6_machine(NULL, NULL);
    uint8_t *rsdp = physical_to_virtual(RSDP_ADDRESS);
    rsdp[32] ^= 1;
    ck_assert(acpi_parse(rsdp, &info));
    ck_assert(fake_printk_has(LOG_WARNING, "extended checksum", NULL));
    ck_assert(!info.uses_xsdt);
}
END_TEST

START_TEST(no_root_table)
{
    write_rsdp(RSDP_ADDRESS, 0, 0x2000000, 0);   // points at zeros
    ck_assert(!acpi_parse(physical_to_virtual(RSDP_ADDRESS), &info));
    ck_assert(fake_printk_has(LOG_WARNING, "RSDT", NULL));
    ck_assert(fake_printk_has(LOG_WARNING, "no usable RSDT or XSDT", NULL));
}
END_TEST

START_TEST(implausible_table_length)
{
    uint64_t bogus = add_table("JUNK", 1, NULL, 0);
    put32((uint8_t *)physical_to_virtual(bogus) + 4, 0xFFFFFFF0u);
    uint64_t tiny = add_table("TINY", 1, NULL, 0);
    put32((uint8_t *)physical_to_virtual(tiny) + 4, 10);
    uint64_t tables[] = { bogus, tiny, 0 };
    uint64_t rsdt = add_root("RSDT", tables, 3);
    write_rsdp(RSDP_ADDRESS, 0, (uint32_t)rsdt, 0);
    ck_assert(acpi_parse(physical_to_virtual(RSDP_ADDRESS), &info));
    ck_assert(fake_printk_has(LOG_WARNING, "'JUNK'", "implausible length", NULL));
    ck_assert(fake_printk_has(LOG_WARNING, "'TINY'", "implausible length", NULL));
}
END_TEST

START_TEST(madt_limits_and_bad_entries)
{
    madt_begin(0xFEE00000, 1);
    for (uint32_t id = 0; id < ACPI_CPUS_MAX + 44; id++)
        madt_x2apic(id, id, 1);
    for (uint8_t id = 0; id < ACPI_IOAPICS_MAX + 1; id++)
        madt_ioapic(id, 0xFEC00000 + id * 0x1000u, id * 24u);
    madt_entry(2, 6);                       // an override too short for its fields: skipped
    madt_lapic(0xFE, 0xFE, 1);
    uint8_t *broken = madt_entry(0, 0);     // length 0: nothing after it can be trusted
    (void)broken;
    madt_length += 8;
    madt_lapic(0xFD, 0xFD, 1);
    uint64_t madt_address = add_table("APIC", 3, madt, madt_length);
    uint64_t rsdt = add_root("RSDT", &madt_address, 1);
    write_rsdp(RSDP_ADDRESS, 0, (uint32_t)rsdt, 0);

    ck_assert(acpi_parse(physical_to_virtual(RSDP_ADDRESS), &info));
    ck_assert_uint_eq(info.cpu_count, ACPI_CPUS_MAX);
    ck_assert_uint_eq(info.cpus[ACPI_CPUS_MAX - 1].apic_id, ACPI_CPUS_MAX - 1);
    ck_assert_msg(fake_printk_has(LOG_WARNING, "44 more CPUs", "256", NULL), "%s", fake_printk_all());
    ck_assert_uint_eq(info.ioapic_count, ACPI_IOAPICS_MAX);
    ck_assert(fake_printk_has(LOG_WARNING, "1 more IOAPICs", NULL));
    ck_assert(fake_printk_has(LOG_WARNING, "entry type 2 is too short", NULL));
    ck_assert(fake_printk_has(LOG_WARNING, "bad length 0", NULL));
    ck_assert_uint_eq(info.override_count, 0);
}
END_TEST

START_TEST(s5_absent)
{
    static const uint8_t aml[] = { 0x08, '_', 'S', '4', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00,
                                   0x08, '_', 'S', '5' };   // cut short at the end of the table
    uint64_t dsdt = add_dsdt("DSDT", aml, sizeof aml);
    memset(fadt, 0, sizeof fadt);
    fadt_put32(40, (uint32_t)dsdt);
    uint64_t fadt_address = add_table("FACP", 1, fadt, 116 - 36);
    uint64_t rsdt = add_root("RSDT", &fadt_address, 1);
    write_rsdp(RSDP_ADDRESS, 0, (uint32_t)rsdt, 0);
    ck_assert(acpi_parse(physical_to_virtual(RSDP_ADDRESS), &info));
    ck_assert(!info.s5_found);
}
END_TEST

START_TEST(s5_truncated_package)
{
    static const uint8_t aml[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x0A };   // byte prefix, no byte
    uint64_t dsdt = add_dsdt("DSDT", aml, sizeof aml);
    memset(fadt, 0, sizeof fadt);
    fadt_put32(40, (uint32_t)dsdt);
    uint64_t fadt_address = add_table("FACP", 1, fadt, 116 - 36);
    uint64_t rsdt = add_root("RSDT", &fadt_address, 1);
    write_rsdp(RSDP_ADDRESS, 0, (uint32_t)rsdt, 0);
    ck_assert(acpi_parse(physical_to_virtual(RSDP_ADDRESS), &info));
    ck_assert(!info.s5_found);
}
END_TEST

START_TEST(hpet_too_short)
{
    uint8_t body[8] = { 0 };
    uint64_t hpet = add_table("HPET", 1, body, sizeof body);
    uint64_t rsdt = add_root("RSDT", &hpet, 1);
    write_rsdp(RSDP_ADDRESS, 0, (uint32_t)rsdt, 0);
    ck_assert(acpi_parse(physical_to_virtual(RSDP_ADDRESS), &info));
    ck_assert(!info.hpet_present);
    ck_assert(fake_printk_has(LOG_WARNING, "HPET table is too short", NULL));
}
END_TEST

/* ---- the BIOS area scan ----------------------------------------------- */

static void set_ebda_segment(uint16_t segment)
{
    put16(physical_to_virtual(0x40E), segment);
}

START_TEST(rsdp_in_the_ebda)
{
    set_ebda_segment(0x9FC0);
    write_rsdp(0x9FC00 + 0x30, 0, 0x1234, 0);
    write_rsdp(0xF0000, 0, 0x1234, 0);   // the EBDA comes first
    ck_assert_uint_eq(acpi_find_rsdp_bios(), 0x9FC30);
}
END_TEST

START_TEST(rsdp_in_the_bios_rom_area)
{
    set_ebda_segment(0x9FC0);
    write_rsdp(0x9FC00 + 0x400, 0, 0x1234, 0);   // past the EBDA's first KiB: not looked at
    uint8_t *bad = write_rsdp(0xE0000, 0, 0x1234, 0);
    bad[8] ^= 1;                                  // bad checksum: skipped
    write_rsdp(0xE0108, 0, 0x1234, 0);           // not on a 16-byte boundary: skipped
    ck_assert_uint_eq(acpi_find_rsdp_bios(), 0);
    write_rsdp(0xF5A10, 2, 0x1234, 0x5678);
    ck_assert_uint_eq(acpi_find_rsdp_bios(), 0xF5A10);
}
END_TEST

START_TEST(rsdp_at_the_last_place)
{
    set_ebda_segment(0);   // no EBDA
    write_rsdp(0xFFFF0 - 4, 0, 0, 0);   // would run past 1 MiB if it were 16-aligned; it is not
    ck_assert_uint_eq(acpi_find_rsdp_bios(), 0);
    write_rsdp(0xFFFE0, 0, 0x1234, 0);
    ck_assert_uint_eq(acpi_find_rsdp_bios(), 0xFFFE0);
}
END_TEST

START_TEST(rsdp_found_by_scan_parses)
{
    build_acpi_6_machine(NULL, NULL);
    set_ebda_segment(0x9FC0);
    ck_assert_uint_eq(acpi_find_rsdp_bios(), RSDP_ADDRESS);
    ck_assert(acpi_parse(physical_to_virtual(acpi_find_rsdp_bios()), &info));
    ck_assert_uint_eq(info.cpu_count, 4);
}
END_TEST

static Suite *acpi_suite(void)
{
    Suite *suite = suite_create("acpi");
    TCase *machines = tcase_create("machines");
    tcase_add_checked_fixture(machines, setup, teardown);
    tcase_add_test(machines, acpi_1_0_machine);
    tcase_add_test(machines, acpi_6_machine);
    suite_add_tcase(suite, machines);

    TCase *bad = tcase_create("bad tables");
    tcase_add_checked_fixture(bad, setup, teardown);
    tcase_add_test(bad, bad_table_checksum_is_named_and_ignored);
    tcase_add_test(bad, bad_dsdt_checksum_means_no_s5_from_it);
    tcase_add_test(bad, bad_rsdp_is_refused);
    tcase_add_test(bad, bad_xsdt_falls_back_to_rsdt);
    tcase_add_test(bad, bad_extended_checksum_uses_rsdt);
    tcase_add_test(bad, no_root_table);
    tcase_add_test(bad, implausible_table_length);
    tcase_add_test(bad, madt_limits_and_bad_entries);
    tcase_add_test(bad, s5_absent);
    tcase_add_test(bad, s5_truncated_package);
    tcase_add_test(bad, hpet_too_short);
    suite_add_tcase(suite, bad);

    TCase *scan = tcase_create("BIOS scan");
    tcase_add_checked_fixture(scan, setup, teardown);
    tcase_add_test(scan, rsdp_in_the_ebda);
    tcase_add_test(scan, rsdp_in_the_bios_rom_area);
    tcase_add_test(scan, rsdp_at_the_last_place);
    tcase_add_test(scan, rsdp_found_by_scan_parses);
    suite_add_tcase(suite, scan);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(acpi_suite());
    srunner_run_all(runner, CK_ENV);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
