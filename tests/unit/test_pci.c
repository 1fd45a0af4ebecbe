/*
 * Unit tests for kernel/pci.c over the in-memory configuration space of
 * tests/unit/fake_pci_config.c, which says what each fake machine holds.
 *
 * Enumeration must find every function of the fake PC once -- functions of a
 * multi-function device past a gap, none of a single-function device that
 * answers to every function number, the device behind a bridge -- and size
 * every BAR the way the fake's registers allow: 32- and 64-bit memory,
 * prefetchable, I/O with 16 or 32 address bits. Sizing must not leave a
 * trace: BARs and command registers end as they were, a function never
 * decodes while its BAR holds all ones, a host bridge's command register is
 * never touched, pending status bits are not cleared. Then the lookups,
 * pci_enable, configuration reads and writes of every width, the capability
 * walk (including a list that loops) and MSI in both layouts. Two more
 * machines check the bus walk (a second host controller, bridges without or
 * with a repeated bus number, a 64-bit BAR in the last slot) and a table
 * that fills up.
 *
 * pci_init enumerates once per boot, so each test needs a fresh kernel/pci.c:
 * the tests run in forked processes (main sets it, whatever CK_FORK says).
 */
#include "fakes.h"
#include "pci.h"
#include "printk.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

// tests/unit/fake_pci_config.c (kept out of fakes.h, which other work is
// changing; move them there with it).
enum fake_pci_machine {
    FAKE_PCI_MACHINE_PC,
    FAKE_PCI_MACHINE_ODD,
    FAKE_PCI_MACHINE_CROWDED,
};
void fake_pci_config_reset(int machine);
uint32_t fake_pci_config_peek32(uint8_t bus, uint8_t device, uint8_t function, uint8_t offset);
void fake_pci_config_poke32(uint8_t bus, uint8_t device, uint8_t function, uint8_t offset, uint32_t value);
unsigned fake_pci_config_command_writes(uint8_t bus, uint8_t device, uint8_t function);
unsigned fake_pci_config_bar_writes_while_decoding(bool host_bridges);
unsigned fake_pci_config_misaligned_accesses(void);
unsigned fake_pci_config_msi_writes_while_enabled(void);
unsigned long fake_pci_config_reads(void);
unsigned long fake_pci_config_reads_on_bus(uint8_t bus);

static uint16_t peek16(uint8_t bus, uint8_t device, uint8_t function, uint8_t offset)
{
    return (uint16_t)(fake_pci_config_peek32(bus, device, function, offset) >> (offset & 3) * 8);
}

static void setup_pc(void)
{
    fake_pci_config_reset(FAKE_PCI_MACHINE_PC);
    fake_printk_reset();
}

static void setup_pc_enumerated(void)
{
    setup_pc();
    pci_init();
}

static const struct pci_device *at(uint8_t bus, uint8_t device, uint8_t function)
{
    const struct pci_device *found = pci_find_address(bus, device, function);
    ck_assert_msg(found != NULL, "%02x:%02x.%x was not enumerated\n%s", bus, device, function, fake_printk_all());
    return found;
}

/* ---- enumeration ------------------------------------------------------- */

START_TEST(finds_every_function_once_in_scan_order)
{
    static const uint8_t expected[][3] = {
        { 0, 0, 0 }, { 0, 1, 0 }, { 0, 1, 1 }, { 0, 1, 3 }, { 0, 2, 0 }, { 0, 3, 0 },
        { 0, 4, 0 }, { 0, 5, 0 }, { 0, 6, 0 }, { 0, 7, 0 }, { 1, 0, 0 },   // behind 00:07.0, depth first
    };
    size_t count = sizeof expected / sizeof expected[0];
    ck_assert_uint_eq(pci_device_count(), count);
    for (size_t i = 0; i < count; i++) {
        const struct pci_device *device = pci_device_at(i);
        ck_assert_ptr_nonnull(device);
        ck_assert_msg(device->bus == expected[i][0] && device->device == expected[i][1] &&
                          device->function == expected[i][2],
                      "entry %zu is %02x:%02x.%x, expected %02x:%02x.%x", i, device->bus, device->device,
                      device->function, expected[i][0], expected[i][1], expected[i][2]);
    }
    ck_assert_ptr_null(pci_device_at(count));
    ck_assert(fake_printk_has(LOG_INFO, "pci: 11 functions on 2 buses", NULL));
}
END_TEST

START_TEST(header_fields_are_copied)
{
    const struct pci_device *e1000 = at(0, 3, 0);
    ck_assert_uint_eq(e1000->vendor_id, 0x8086);
    ck_assert_uint_eq(e1000->device_id, 0x100e);
    ck_assert_uint_eq(e1000->class_code, PCI_CLASS_NETWORK);
    ck_assert_uint_eq(e1000->subclass, PCI_SUBCLASS_NETWORK_ETHERNET);
    ck_assert_uint_eq(e1000->prog_if, 0);
    ck_assert_uint_eq(e1000->revision, 3);
    ck_assert_uint_eq(e1000->header_type, PCI_HEADER_GENERAL);
    ck_assert_uint_eq(e1000->interrupt_line, 11);
    ck_assert_uint_eq(e1000->interrupt_pin, 1);
    ck_assert_uint_eq(e1000->secondary_bus, 0);

    const struct pci_device *ide = at(0, 1, 1);
    ck_assert_uint_eq(ide->class_code, PCI_CLASS_STORAGE);
    ck_assert_uint_eq(ide->subclass, 0x01);
    ck_assert_uint_eq(ide->prog_if, 0x80);
    ck_assert_uint_eq(ide->interrupt_pin, 0);
    ck_assert_uint_eq(at(0, 1, 0)->header_type, PCI_HEADER_MULTIFUNCTION | PCI_HEADER_GENERAL);
    ck_assert_uint_eq(at(0, 1, 3)->interrupt_line, 9);
}
END_TEST

START_TEST(multi_function_device_past_a_gap)
{
    ck_assert_uint_eq(fake_pci_config_peek32(0, 1, 2, PCI_VENDOR_ID), 0xFFFFFFFFu);
    ck_assert_ptr_null(pci_find_address(0, 1, 2));
    ck_assert_uint_eq(at(0, 1, 3)->device_id, 0x7113);
    for (uint8_t function = 4; function < 8; function++)
        ck_assert_ptr_null(pci_find_address(0, 1, function));
}
END_TEST

START_TEST(single_function_device_is_counted_once)
{
    // The fake answers for 00:03.5 with the e1000's registers, as some
    // hardware does; only the header type's bit 7 says not to believe it.
    ck_assert_uint_eq(fake_pci_config_peek32(0, 3, 5, PCI_VENDOR_ID), 0x100e8086u);
    for (uint8_t function = 1; function < 8; function++)
        ck_assert_ptr_null(pci_find_address(0, 3, function));
}
END_TEST

START_TEST(empty_slots_are_skipped)
{
    ck_assert_uint_eq(fake_pci_config_peek32(0, 8, 0, PCI_VENDOR_ID), 0xFFFFFFFFu);
    ck_assert_ptr_null(pci_find_address(0, 8, 0));
    ck_assert_ptr_null(pci_find_address(0, 31, 0));
    ck_assert_ptr_null(pci_find_address(1, 1, 0));
    ck_assert_ptr_null(pci_find_address(2, 0, 0));
}
END_TEST

START_TEST(bridge_leads_to_its_bus)
{
    const struct pci_device *bridge = at(0, 7, 0);
    ck_assert_uint_eq(bridge->header_type, PCI_HEADER_BRIDGE);
    ck_assert_uint_eq(bridge->class_code, PCI_CLASS_BRIDGE);
    ck_assert_uint_eq(bridge->subclass, PCI_SUBCLASS_BRIDGE_PCI);
    ck_assert_uint_eq(bridge->secondary_bus, 1);
    for (unsigned i = 0; i < PCI_BARS_MAX; i++)
        ck_assert_int_eq(bridge->bars[i].type, PCI_BAR_NONE);
    const struct pci_device *behind = at(1, 0, 0);
    ck_assert_uint_eq(behind->device_id, 0x1533);
    ck_assert_int_eq(behind->bars[3].type, PCI_BAR_MEMORY);
    ck_assert_uint_eq(behind->bars[3].size, 16 * 1024);
    ck_assert(fake_printk_has(LOG_INFO, "pci 00:07.0 8086:244e class 06.04 (bridge) bridge to bus 01", NULL));
}
END_TEST

START_TEST(memory_and_io_bars_32bit)
{
    const struct pci_device *e1000 = at(0, 3, 0);
    const struct pci_bar *memory = &e1000->bars[0], *io = &e1000->bars[1];
    ck_assert_int_eq(memory->type, PCI_BAR_MEMORY);
    ck_assert(!memory->address_64bit);
    ck_assert(!memory->prefetchable);
    ck_assert_uint_eq(memory->base, 0xFEBC0000u);
    ck_assert_uint_eq(memory->size, 128 * 1024);
    ck_assert_int_eq(io->type, PCI_BAR_IO);
    ck_assert_uint_eq(io->base, 0xC000);
    ck_assert_uint_eq(io->size, 64);
    for (unsigned i = 2; i < PCI_BARS_MAX; i++)
        ck_assert_int_eq(e1000->bars[i].type, PCI_BAR_NONE);

    const struct pci_device *msi64 = at(0, 4, 0);
    ck_assert_int_eq(msi64->bars[1].type, PCI_BAR_NONE);
    ck_assert_int_eq(msi64->bars[2].type, PCI_BAR_IO);
    ck_assert_uint_eq(msi64->bars[2].base, 0xC020);
    ck_assert_uint_eq(msi64->bars[2].size, 32);
    ck_assert_uint_eq(msi64->bars[3].base, 0xFEBD0000u);
    ck_assert_uint_eq(msi64->bars[3].size, 16 * 1024);
}
END_TEST

START_TEST(memory_bar_64bit_prefetchable_above_4_gib)
{
    const struct pci_device *display = at(0, 2, 0);
    const struct pci_bar *wide = &display->bars[0];
    ck_assert_int_eq(wide->type, PCI_BAR_MEMORY);
    ck_assert(wide->address_64bit);
    ck_assert(wide->prefetchable);
    ck_assert_uint_eq(wide->base, 0x8000000000ull);
    ck_assert_uint_eq(wide->size, 8ull << 30);
    ck_assert_int_eq(display->bars[1].type, PCI_BAR_NONE);   // its upper half
    ck_assert_int_eq(display->bars[2].type, PCI_BAR_MEMORY);
    ck_assert(!display->bars[2].address_64bit);
    ck_assert_uint_eq(display->bars[2].base, 0xFEBF0000u);
    ck_assert_uint_eq(display->bars[2].size, 4096);
}
END_TEST

START_TEST(io_bar_decoding_16_address_bits)
{
    const struct pci_bar *io = &at(0, 1, 1)->bars[4];
    ck_assert_int_eq(io->type, PCI_BAR_IO);
    ck_assert_uint_eq(io->base, 0xC040);
    ck_assert_uint_eq(io->size, 16);
}
END_TEST

START_TEST(sizing_leaves_bars_and_command_registers_as_they_were)
{
    static const uint8_t functions[][3] = {
        { 0, 0, 0 }, { 0, 1, 1 }, { 0, 2, 0 }, { 0, 3, 0 }, { 0, 4, 0 }, { 0, 5, 0 }, { 0, 7, 0 }, { 1, 0, 0 },
    };
    enum { COUNT = sizeof functions / sizeof functions[0] };
    uint32_t before[COUNT][7];
    for (size_t i = 0; i < COUNT; i++)
        for (uint8_t r = 0; r < 7; r++)
            before[i][r] = fake_pci_config_peek32(functions[i][0], functions[i][1], functions[i][2],
                                                  r == 6 ? PCI_COMMAND : (uint8_t)(PCI_BAR0 + 4 * r));
    pci_init();
    for (size_t i = 0; i < COUNT; i++)
        for (uint8_t r = 0; r < 7; r++) {
            uint8_t offset = r == 6 ? PCI_COMMAND : (uint8_t)(PCI_BAR0 + 4 * r);
            uint32_t after = fake_pci_config_peek32(functions[i][0], functions[i][1], functions[i][2], offset);
            ck_assert_msg(after == before[i][r], "%02x:%02x.%x offset %#x was %#x, is %#x after enumeration",
                          functions[i][0], functions[i][1], functions[i][2], offset, before[i][r], after);
        }
}
END_TEST

START_TEST(decoding_is_off_while_a_bar_is_probed)
{
    ck_assert_uint_eq(fake_pci_config_bar_writes_while_decoding(false), 0);
    // It was really turned off and on: once each way for a function with
    // BARs that decodes, and the e1000's pending status bit survived both.
    ck_assert_uint_eq(fake_pci_config_command_writes(0, 3, 0), 2);
    ck_assert_uint_eq(peek16(0, 3, 0, PCI_STATUS), 0x2000);
    ck_assert_uint_eq(peek16(0, 7, 0, PCI_SECONDARY_STATUS), 0x2000);
    // Nothing to probe, nothing written.
    ck_assert_uint_eq(fake_pci_config_command_writes(0, 1, 3), 0);
    ck_assert_uint_eq(fake_pci_config_misaligned_accesses(), 0);
}
END_TEST

START_TEST(host_bridge_keeps_decoding)
{
    ck_assert_uint_eq(fake_pci_config_command_writes(0, 0, 0), 0);
    ck_assert_uint_ne(fake_pci_config_bar_writes_while_decoding(true), 0);
    const struct pci_bar *bar = &at(0, 0, 0)->bars[0];
    ck_assert_int_eq(bar->type, PCI_BAR_MEMORY);
    ck_assert_uint_eq(bar->base, 0xE0000000u);
    ck_assert_uint_eq(bar->size, 256ull << 20);
}
END_TEST

START_TEST(one_log_line_per_function)
{
    const char *all = fake_printk_all();
    ck_assert_msg(fake_printk_has(LOG_INFO,
                                  "pci 00:03.0 8086:100e class 02.00 (network) irq 11 pin A "
                                  "bar0 mem 0xfebc0000+128K bar1 io 0xc000+64\n",
                                  NULL),
                  "%s", all);
    ck_assert_msg(fake_printk_has(LOG_INFO,
                                  "pci 00:02.0 1234:1111 class 03.00 (display) "
                                  "bar0 mem64 pref 0x8000000000+8G bar2 mem 0xfebf0000+4K\n",
                                  NULL),
                  "%s", all);
    ck_assert_msg(fake_printk_has(LOG_INFO, "pci 00:01.1 8086:7010 class 01.01 (storage) bar4 io 0xc040+16\n",
                                  NULL),
                  "%s", all);
    ck_assert_msg(fake_printk_has(LOG_INFO, "pci 00:00.0 8086:1237 class 06.00 (bridge) bar0 mem 0xe0000000+256M\n",
                                  NULL),
                  "%s", all);
    ck_assert_msg(fake_printk_has(LOG_INFO, "pci 00:01.3 8086:7113 class 06.80 (bridge) irq 9 pin A\n", NULL), "%s",
                  all);
    ck_assert_uint_eq(fake_printk_count(LOG_INFO), pci_device_count() + 1);   // and the summary
    ck_assert_uint_eq(fake_printk_count(LOG_WARNING), 0);
}
END_TEST

START_TEST(init_runs_once)
{
    unsigned long reads = fake_pci_config_reads();
    size_t lines = fake_printk_count(LOG_INFO);
    pci_init();
    ck_assert_uint_eq(fake_pci_config_reads(), reads);
    ck_assert_uint_eq(fake_printk_count(LOG_INFO), lines);
    ck_assert_uint_eq(pci_device_count(), 11);
}
END_TEST

/* ---- lookups ----------------------------------------------------------- */

START_TEST(find_by_ids_class_and_address)
{
    ck_assert_ptr_eq(pci_find(0x8086, 0x100e), at(0, 3, 0));
    ck_assert_ptr_eq(pci_find(0x8086, 0x1533), at(1, 0, 0));
    ck_assert_ptr_null(pci_find(0x8086, 0xFFFF));
    ck_assert_ptr_null(pci_find(0xFFFF, 0x100e));
    ck_assert_ptr_eq(pci_find_class(PCI_CLASS_NETWORK, PCI_SUBCLASS_NETWORK_ETHERNET), at(0, 3, 0));   // the first
    ck_assert_ptr_eq(pci_find_class(PCI_CLASS_BRIDGE, PCI_SUBCLASS_BRIDGE_HOST), at(0, 0, 0));
    ck_assert_ptr_eq(pci_find_class(PCI_CLASS_BRIDGE, PCI_SUBCLASS_BRIDGE_PCI), at(0, 7, 0));
    ck_assert_ptr_null(pci_find_class(0x0C, 0x03));
    ck_assert_ptr_null(pci_find_address(0, 9, 0));
}
END_TEST

START_TEST(class_names)
{
    ck_assert_str_eq(pci_class_name(PCI_CLASS_NETWORK), "network");
    ck_assert_str_eq(pci_class_name(PCI_CLASS_BRIDGE), "bridge");
    ck_assert_str_eq(pci_class_name(0x13), "instrumentation");
    ck_assert_str_eq(pci_class_name(0x40), "coprocessor");
    ck_assert_str_eq(pci_class_name(0x14), "unknown class");
    ck_assert_str_eq(pci_class_name(0xFF), "unknown class");
}
END_TEST

/* ---- configuration access ---------------------------------------------- */

START_TEST(enable_turns_bits_on_and_never_off)
{
    const struct pci_device *e1000 = at(0, 3, 0);
    unsigned writes = fake_pci_config_command_writes(0, 3, 0);
    pci_enable(e1000, true, false, true);
    ck_assert_uint_eq(peek16(0, 3, 0, PCI_COMMAND), PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER);
    ck_assert_uint_eq(peek16(0, 3, 0, PCI_STATUS), 0x2000);   // the pending bit is not cleared
    ck_assert_uint_eq(fake_pci_config_command_writes(0, 3, 0), writes + 1);
    pci_enable(e1000, false, false, false);
    pci_enable(e1000, true, true, true);   // all on already: no write
    ck_assert_uint_eq(peek16(0, 3, 0, PCI_COMMAND), PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER);
    ck_assert_uint_eq(fake_pci_config_command_writes(0, 3, 0), writes + 1);

    fake_pci_config_poke32(0, 3, 0, PCI_COMMAND, 0x2000u << 16);
    pci_enable(e1000, false, true, false);
    ck_assert_uint_eq(peek16(0, 3, 0, PCI_COMMAND), PCI_COMMAND_IO);
}
END_TEST

START_TEST(reads_of_every_width)
{
    const struct pci_device *e1000 = at(0, 3, 0);
    ck_assert_uint_eq(pci_read32(e1000, PCI_VENDOR_ID), 0x100e8086u);
    ck_assert_uint_eq(pci_read16(e1000, PCI_VENDOR_ID), 0x8086);
    ck_assert_uint_eq(pci_read16(e1000, PCI_DEVICE_ID), 0x100e);
    ck_assert_uint_eq(pci_read16(e1000, PCI_STATUS), 0x2000);
    ck_assert_uint_eq(pci_read8(e1000, PCI_REVISION), 3);
    ck_assert_uint_eq(pci_read8(e1000, PCI_CLASS_CODE), PCI_CLASS_NETWORK);
    ck_assert_uint_eq(pci_read8(e1000, PCI_INTERRUPT_PIN), 1);
    ck_assert_uint_eq(pci_read32(e1000, PCI_BAR0), 0xFEBC0000u);
}
END_TEST

START_TEST(narrow_writes_keep_their_neighbours)
{
    const struct pci_device *e1000 = at(0, 3, 0);
    pci_write8(e1000, PCI_INTERRUPT_LINE, 10);
    ck_assert_uint_eq(pci_read8(e1000, PCI_INTERRUPT_LINE), 10);
    ck_assert_uint_eq(pci_read8(e1000, PCI_INTERRUPT_PIN), 1);

    pci_write16(e1000, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER);
    ck_assert_uint_eq(peek16(0, 3, 0, PCI_COMMAND), PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER);
    ck_assert_uint_eq(peek16(0, 3, 0, PCI_STATUS), 0x2000);
    pci_write16(e1000, PCI_STATUS, 0x2000);   // writing the status register itself clears the bit
    ck_assert_uint_eq(peek16(0, 3, 0, PCI_STATUS), 0);
    ck_assert_uint_eq(peek16(0, 3, 0, PCI_COMMAND), PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER);

    const struct pci_device *bridge = at(0, 7, 0);
    pci_write8(bridge, 0x1C, 0x20);            // I/O base, beside the secondary status
    ck_assert_uint_eq(pci_read8(bridge, 0x1C), 0x20);
    ck_assert_uint_eq(peek16(0, 7, 0, PCI_SECONDARY_STATUS), 0x2000);

    pci_write32(e1000, PCI_BAR0, 0xFEBA0000u);
    ck_assert_uint_eq(pci_read32(e1000, PCI_BAR0), 0xFEBA0000u);
    ck_assert_uint_eq(fake_pci_config_misaligned_accesses(), 0);
}
END_TEST

START_TEST(misaligned_accesses_are_refused)
{
    const struct pci_device *e1000 = at(0, 3, 0);
    uint32_t command_dword = fake_pci_config_peek32(0, 3, 0, PCI_COMMAND);
    ck_assert_uint_eq(pci_read16(e1000, 0x03), 0xFFFF);
    ck_assert_uint_eq(pci_read32(e1000, 0x02), 0xFFFFFFFFu);
    pci_write16(e1000, 0x05, 0x0000);
    pci_write32(e1000, 0x06, 0x0000);
    ck_assert_uint_eq(fake_pci_config_peek32(0, 3, 0, PCI_COMMAND), command_dword);
    ck_assert_uint_eq(fake_printk_count(LOG_WARNING), 4);
    ck_assert(fake_printk_has(LOG_WARNING, "pci 00:03.0", "misaligned", "0x5", NULL));
    ck_assert_uint_eq(fake_pci_config_misaligned_accesses(), 0);
}
END_TEST

/* ---- capabilities and MSI ---------------------------------------------- */

START_TEST(capability_list_is_walked)
{
    const struct pci_device *device = at(0, 4, 0);
    ck_assert_uint_eq(pci_find_capability(device, PCI_CAPABILITY_POWER_MANAGEMENT), 0xC8);
    ck_assert_uint_eq(pci_find_capability(device, PCI_CAPABILITY_MSI), 0xD0);
    ck_assert_uint_eq(pci_find_capability(device, PCI_CAPABILITY_EXPRESS), 0xE0);
    ck_assert_uint_eq(pci_find_capability(device, PCI_CAPABILITY_MSIX), 0xA0);   // next was 0xA3
    ck_assert_uint_eq(pci_find_capability(device, PCI_CAPABILITY_VENDOR), 0);
}
END_TEST

START_TEST(no_list_without_the_status_bit)
{
    const struct pci_device *e1000 = at(0, 3, 0);
    ck_assert_uint_eq(pci_read8(e1000, PCI_CAPABILITIES_POINTER), 0xDC);
    ck_assert_uint_eq(pci_find_capability(e1000, PCI_CAPABILITY_POWER_MANAGEMENT), 0);
    ck_assert_uint_eq(pci_find_capability(e1000, PCI_CAPABILITY_MSI), 0);
    ck_assert_uint_eq(pci_find_capability(at(0, 0, 0), PCI_CAPABILITY_MSI), 0);
}
END_TEST

START_TEST(looping_list_ends)
{
    const struct pci_device *looping = at(0, 6, 0);
    ck_assert_uint_eq(pci_find_capability(looping, PCI_CAPABILITY_VENDOR), 0x50);
    ck_assert_uint_eq(pci_find_capability(looping, PCI_CAPABILITY_MSI), 0);
}
END_TEST

START_TEST(msi_64bit_address)
{
    const struct pci_device *device = at(0, 4, 0);
    uint16_t command = peek16(0, 4, 0, PCI_COMMAND);
    ck_assert(pci_enable_msi(device, 0x41, 3));
    ck_assert_uint_eq(fake_pci_config_peek32(0, 4, 0, 0xD4), 0xFEE03000u);
    ck_assert_uint_eq(fake_pci_config_peek32(0, 4, 0, 0xD8), 0);
    ck_assert_uint_eq(peek16(0, 4, 0, 0xDC), 0x0041);   // vector, fixed delivery, edge
    uint16_t control = peek16(0, 4, 0, 0xD2);
    ck_assert_uint_eq(control & 0x0001, 0x0001);        // enabled
    ck_assert_uint_eq(control & 0x0070, 0);             // one vector
    ck_assert_uint_eq(peek16(0, 4, 0, PCI_COMMAND), command | PCI_COMMAND_INTERRUPT_DISABLE);

    // Again, elsewhere: the message is never rewritten while MSI is on.
    ck_assert(pci_enable_msi(device, 0xA0, 0xFF));
    ck_assert_uint_eq(fake_pci_config_peek32(0, 4, 0, 0xD4), 0xFEEFF000u);
    ck_assert_uint_eq(peek16(0, 4, 0, 0xDC), 0x00A0);
    ck_assert_uint_eq(peek16(0, 4, 0, 0xD2) & 0x0001, 0x0001);
    ck_assert_uint_eq(fake_pci_config_msi_writes_while_enabled(), 0);
}
END_TEST

START_TEST(msi_32bit_address_with_masking)
{
    const struct pci_device *device = at(0, 5, 0);
    ck_assert(pci_enable_msi(device, 0x50, 0x12));
    ck_assert_uint_eq(fake_pci_config_peek32(0, 5, 0, 0x44), 0xFEE12000u);
    ck_assert_uint_eq(peek16(0, 5, 0, 0x48), 0x0050);
    uint16_t control = peek16(0, 5, 0, 0x42);
    ck_assert_uint_eq(control & 0x0001, 0x0001);
    ck_assert_uint_eq(control & 0x0070, 0);             // the 4 vectors granted before: down to one
    ck_assert_uint_eq(control & 0x0080, 0);
    ck_assert_uint_eq(fake_pci_config_peek32(0, 5, 0, 0x4C), 0xE);   // vector 0 unmasked, the rest as they were
    ck_assert_uint_eq(peek16(0, 5, 0, PCI_COMMAND) & PCI_COMMAND_INTERRUPT_DISABLE, PCI_COMMAND_INTERRUPT_DISABLE);
    ck_assert_uint_eq(fake_pci_config_msi_writes_while_enabled(), 0);
}
END_TEST

START_TEST(msi_refused)
{
    const struct pci_device *e1000 = at(0, 3, 0);
    uint16_t command = peek16(0, 3, 0, PCI_COMMAND);
    ck_assert(!pci_enable_msi(e1000, 0x41, 0));   // no MSI capability
    ck_assert_uint_eq(peek16(0, 3, 0, PCI_COMMAND), command);

    const struct pci_device *device = at(0, 4, 0);
    uint32_t control = fake_pci_config_peek32(0, 4, 0, 0xD0);
    ck_assert(!pci_enable_msi(device, 14, 0));    // an exception's vector
    ck_assert(!pci_enable_msi(device, 0x41, 256)); // beyond 8 destination bits
    ck_assert_uint_eq(fake_pci_config_peek32(0, 4, 0, 0xD0), control);
    ck_assert_uint_eq(fake_pci_config_peek32(0, 4, 0, 0xD4), 0);
    ck_assert_uint_eq(fake_printk_count(LOG_WARNING), 2);
}
END_TEST

/* ---- other machines ---------------------------------------------------- */

START_TEST(second_host_controller_and_bad_bridges)
{
    fake_pci_config_reset(FAKE_PCI_MACHINE_ODD);
    fake_printk_reset();
    pci_init();
    static const uint8_t expected[][3] = {
        { 0, 0, 0 }, { 0, 0, 1 }, { 0, 0, 2 }, { 0, 1, 0 }, { 0, 2, 0 }, { 1, 0, 0 }, { 1, 1, 0 },
    };
    size_t count = sizeof expected / sizeof expected[0];
    ck_assert_uint_eq(pci_device_count(), count);
    for (size_t i = 0; i < count; i++) {
        const struct pci_device *device = pci_device_at(i);
        ck_assert_msg(device->bus == expected[i][0] && device->device == expected[i][1] &&
                          device->function == expected[i][2],
                      "entry %zu is %02x:%02x.%x", i, device->bus, device->device, device->function);
    }
    ck_assert_ptr_null(pci_find_address(2, 0, 0));   // the IOMMU at 00:00.2 is not bus 2's root
    ck_assert(fake_printk_has(LOG_WARNING, "pci 00:02.0", "without a bus number", NULL));
    ck_assert(fake_printk_has(LOG_WARNING, "pci 01:01.0", "bus 01", "scanned already", NULL));
    ck_assert(fake_printk_has(LOG_INFO, "pci: 7 functions on 2 buses", NULL));
    const struct pci_device *misdeclared = at(0, 1, 0);
    ck_assert_int_eq(misdeclared->bars[0].type, PCI_BAR_MEMORY);
    ck_assert_uint_eq(misdeclared->bars[0].size, 4096);
    ck_assert_int_eq(misdeclared->bars[5].type, PCI_BAR_NONE);
    ck_assert(fake_printk_has(LOG_WARNING, "pci 00:01.0", "bar5", "64-bit", NULL));
}
END_TEST

START_TEST(table_fills_up)
{
    fake_pci_config_reset(FAKE_PCI_MACHINE_CROWDED);
    fake_printk_reset();
    pci_init();
    ck_assert_uint_eq(pci_device_count(), PCI_DEVICES_MAX);
    const struct pci_device *last = pci_device_at(PCI_DEVICES_MAX - 1);
    ck_assert(last->bus == 0 && last->device == 31 && last->function == 7);
    ck_assert_uint_eq(last->secondary_bus, 1);
    ck_assert_ptr_null(pci_find_address(1, 1, 0));
    // The bridge at 01:00.0, beyond the table, is still followed. (Its
    // lines and the summary come after the 256 the fake printk keeps.)
    ck_assert_uint_ne(fake_pci_config_reads_on_bus(2), 0);
    ck_assert_uint_eq(fake_pci_config_reads_on_bus(3), 0);
    ck_assert(fake_printk_has(LOG_INFO, "pci 00:1f.7 8086:244e class 06.04 (bridge) bridge to bus 01", NULL));
}
END_TEST

static Suite *pci_suite(void)
{
    Suite *suite = suite_create("pci");

    TCase *enumeration = tcase_create("enumeration");
    tcase_add_checked_fixture(enumeration, setup_pc_enumerated, NULL);
    tcase_add_test(enumeration, finds_every_function_once_in_scan_order);
    tcase_add_test(enumeration, header_fields_are_copied);
    tcase_add_test(enumeration, multi_function_device_past_a_gap);
    tcase_add_test(enumeration, single_function_device_is_counted_once);
    tcase_add_test(enumeration, empty_slots_are_skipped);
    tcase_add_test(enumeration, bridge_leads_to_its_bus);
    tcase_add_test(enumeration, memory_and_io_bars_32bit);
    tcase_add_test(enumeration, memory_bar_64bit_prefetchable_above_4_gib);
    tcase_add_test(enumeration, io_bar_decoding_16_address_bits);
    tcase_add_test(enumeration, decoding_is_off_while_a_bar_is_probed);
    tcase_add_test(enumeration, host_bridge_keeps_decoding);
    tcase_add_test(enumeration, one_log_line_per_function);
    tcase_add_test(enumeration, init_runs_once);
    suite_add_tcase(suite, enumeration);

    TCase *before = tcase_create("before enumeration");
    tcase_add_checked_fixture(before, setup_pc, NULL);
    tcase_add_test(before, sizing_leaves_bars_and_command_registers_as_they_were);
    tcase_add_test(before, second_host_controller_and_bad_bridges);
    tcase_add_test(before, table_fills_up);
    suite_add_tcase(suite, before);

    TCase *access = tcase_create("lookups and configuration access");
    tcase_add_checked_fixture(access, setup_pc_enumerated, NULL);
    tcase_add_test(access, find_by_ids_class_and_address);
    tcase_add_test(access, class_names);
    tcase_add_test(access, enable_turns_bits_on_and_never_off);
    tcase_add_test(access, reads_of_every_width);
    tcase_add_test(access, narrow_writes_keep_their_neighbours);
    tcase_add_test(access, misaligned_accesses_are_refused);
    suite_add_tcase(suite, access);

    TCase *capabilities = tcase_create("capabilities and MSI");
    tcase_add_checked_fixture(capabilities, setup_pc_enumerated, NULL);
    tcase_add_test(capabilities, capability_list_is_walked);
    tcase_add_test(capabilities, no_list_without_the_status_bit);
    tcase_add_test(capabilities, looping_list_ends);
    tcase_add_test(capabilities, msi_64bit_address);
    tcase_add_test(capabilities, msi_32bit_address_with_masking);
    tcase_add_test(capabilities, msi_refused);
    suite_add_tcase(suite, capabilities);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(pci_suite());
    // kernel/pci.c keeps its table for the life of the process: each test
    // must start from a fresh one.
    srunner_set_fork_status(runner, CK_FORK);
    srunner_run_all(runner, CK_ENV);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
