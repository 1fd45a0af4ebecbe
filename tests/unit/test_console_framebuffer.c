/*
 * Unit tests for kernel/console_framebuffer.c, drawing into a framebuffer in
 * fake physical memory: the pixel value for each pixel layout (32, 24, 16 and
 * 15 bits, any field order), glyphs and the underline cursor where they
 * belong, scrolling, redrawing only the cells that changed, the text area
 * capped on huge screens, and every implausible description refused before
 * a single pixel is written or the console registered.
 *
 * The kernel links a Debian font (mk/font.mk); this test links its own,
 * defined below, so that the expected pixels are plain: glyph 'A' is a
 * diagonal line repeated twice, glyph 'B' is solid, every other glyph blank.
 */
#include "console.h"
#include "fakes.h"
#include "physical.h"
#include "printk.h"
#include "screen.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

// A PSF1 font of 256 8x16 glyphs with no Unicode table: ASCII order.
__asm__(".pushsection .rodata\n"
        ".global console_font_data, console_font_data_end\n"
        "console_font_data:\n"
        "    .byte 0x36, 0x04, 0x00, 16\n"
        "    .fill 65 * 16, 1, 0\n"
        "    .byte 0x80, 0x40, 0x20, 0x10, 0x08, 0x04, 0x02, 0x01\n"    // 'A'
        "    .byte 0x80, 0x40, 0x20, 0x10, 0x08, 0x04, 0x02, 0x01\n"
        "    .fill 16, 1, 0xFF\n"                                        // 'B'
        "    .fill (256 - 67) * 16, 1, 0\n"
        "console_font_data_end:\n"
        ".popsection\n");

#define GLYPH_WIDTH 8
#define GLYPH_HEIGHT 16
#define FRAMEBUFFER_ADDRESS 0x100000ull
#define GARBAGE 0x77

// console_register, faked: the backend the console would have called.
static struct console_backend *registered;
static int registrations;

void console_register(struct console_backend *backend)
{
    registered = backend;
    registrations++;
}

static struct framebuffer_info info;
static uint8_t *memory;     // the framebuffer, seen from the test

static void setup(void)
{
    fake_printk_reset();
    fake_physical_memory_create(256ull << 20);
    memory = physical_to_virtual(FRAMEBUFFER_ADDRESS);
    registered = NULL;
    registrations = 0;
}

static void teardown(void)
{
    fake_physical_memory_destroy();
}

// A framebuffer of columns x rows cells, with `padding` unused bytes at the
// end of each pixel row, filled with garbage as firmware might leave it.
static void describe(uint32_t columns, uint32_t rows, uint8_t bits_per_pixel, uint32_t padding)
{
    uint32_t bytes_per_pixel = (bits_per_pixel + 7u) / 8;
    info = (struct framebuffer_info){
        .kind = FRAMEBUFFER_RGB,
        .address = FRAMEBUFFER_ADDRESS,
        .width = columns * GLYPH_WIDTH,
        .height = rows * GLYPH_HEIGHT,
        .pitch = columns * GLYPH_WIDTH * bytes_per_pixel + padding,
        .bits_per_pixel = bits_per_pixel,
        // The order UEFI's GOP usually reports for 32 bits: blue in the low byte.
        .red_position = 16, .red_size = 8,
        .green_position = 8, .green_size = 8,
        .blue_position = 0, .blue_size = 8,
    };
    memset(memory, GARBAGE, (size_t)info.pitch * info.height + 4096);
}

static void initialize(void)
{
    char error[128] = "";
    ck_assert_msg(framebuffer_console_init(&info, error, sizeof error), "refused: %s", error);
    ck_assert_int_eq(registrations, 1);
    ck_assert_str_eq(registered->name, "framebuffer");
}

static void write_text(const char *text)
{
    registered->write(text, strlen(text));
}

static uint32_t pixel(uint32_t x, uint32_t y)
{
    uint32_t bytes_per_pixel = (info.bits_per_pixel + 7u) / 8;
    const uint8_t *at = memory + (size_t)y * info.pitch + (size_t)x * bytes_per_pixel;
    uint32_t value = 0;
    for (uint32_t i = 0; i < bytes_per_pixel; i++)
        value |= (uint32_t)at[i] << (8 * i);
    return value;
}

#define GREY_32 0x00AAAAAAu

// What cell (row, column) shows: 'A', 'B', ' ' (all background), '_' (the
// cursor on a blank cell), or '?' for anything else.
static char cell(uint32_t row, uint32_t column, uint32_t foreground)
{
    bool lit[GLYPH_HEIGHT][GLYPH_WIDTH];
    for (uint32_t y = 0; y < GLYPH_HEIGHT; y++)
        for (uint32_t x = 0; x < GLYPH_WIDTH; x++) {
            uint32_t value = pixel(column * GLYPH_WIDTH + x, row * GLYPH_HEIGHT + y);
            ck_assert_msg(value == foreground || value == 0, "pixel %u,%u of cell %u,%u is %#x",
                          x, y, row, column, value);
            lit[y][x] = value == foreground;
        }
    bool blank = true, solid = true, diagonal = true, underline = true;
    for (uint32_t y = 0; y < GLYPH_HEIGHT; y++)
        for (uint32_t x = 0; x < GLYPH_WIDTH; x++) {
            blank &= !lit[y][x];
            solid &= lit[y][x];
            diagonal &= lit[y][x] == (x == y % 8);
            underline &= lit[y][x] == (y >= GLYPH_HEIGHT - 2);
        }
    return blank ? ' ' : solid ? 'B' : diagonal ? 'A' : underline ? '_' : '?';
}

START_TEST(init_clears_the_screen_and_shows_the_cursor)
{
    describe(8, 3, 32, 64);
    initialize();
    ck_assert_int_eq(cell(0, 0, GREY_32), '_');
    for (uint32_t row = 0; row < 3; row++)
        for (uint32_t column = row == 0 ? 1 : 0; column < 8; column++)
            ck_assert_int_eq(cell(row, column, GREY_32), ' ');
    // The padding after each row is not the screen's to touch.
    for (uint32_t y = 0; y < info.height; y++)
        ck_assert_uint_eq(memory[(size_t)y * info.pitch + info.width * 4], GARBAGE);
    ck_assert(fake_printk_has(LOG_INFO, "framebuffer 64x48", "32 bits per pixel", "8x3 characters", NULL));
}
END_TEST

START_TEST(glyphs_and_cursor_land_in_their_cells)
{
    describe(8, 3, 32, 0);
    initialize();
    write_text("AB A");
    ck_assert_int_eq(cell(0, 0, GREY_32), 'A');
    ck_assert_int_eq(cell(0, 1, GREY_32), 'B');
    ck_assert_int_eq(cell(0, 2, GREY_32), ' ');
    ck_assert_int_eq(cell(0, 3, GREY_32), 'A');
    ck_assert_int_eq(cell(0, 4, GREY_32), '_');
    write_text("\nB");
    ck_assert_int_eq(cell(0, 4, GREY_32), ' ');    // the old cursor is gone
    ck_assert_int_eq(cell(1, 0, GREY_32), 'B');
    ck_assert_int_eq(cell(1, 1, GREY_32), '_');
}
END_TEST

START_TEST(the_screen_scrolls)
{
    describe(4, 3, 32, 0);
    initialize();
    write_text("A\nB\nA\nBB");
    ck_assert_int_eq(cell(0, 0, GREY_32), 'B');
    ck_assert_int_eq(cell(1, 0, GREY_32), 'A');
    ck_assert_int_eq(cell(2, 0, GREY_32), 'B');
    ck_assert_int_eq(cell(2, 1, GREY_32), 'B');
    ck_assert_int_eq(cell(1, 1, GREY_32), ' ');
    ck_assert_int_eq(cell(2, 2, GREY_32), '_');
}
END_TEST

START_TEST(only_changed_cells_are_redrawn)
{
    describe(8, 3, 32, 0);
    initialize();
    write_text("A\n");
    // Mark a blank cell that stays blank, and a drawn cell that does not change.
    memory[(size_t)(2 * GLYPH_HEIGHT) * info.pitch + 7 * GLYPH_WIDTH * 4] = 0x11;
    memory[(size_t)5 * info.pitch] = 0x22;     // cell 0,0 row 5: not lit in 'A'
    write_text("B");
    ck_assert_uint_eq(memory[(size_t)(2 * GLYPH_HEIGHT) * info.pitch + 7 * GLYPH_WIDTH * 4], 0x11);
    ck_assert_uint_eq(memory[(size_t)5 * info.pitch], 0x22);
    // A scroll moves 'A' out of cell 0,0, which is then redrawn.
    write_text("\n\n");
    ck_assert_int_eq(cell(0, 0, GREY_32), 'B');
}
END_TEST

struct layout_case {
    uint8_t bits_per_pixel;
    uint8_t red_position, red_size, green_position, green_size, blue_position, blue_size;
    uint32_t grey;      // light grey in this layout
};

static const struct layout_case layout_cases[] = {
    { 32, 0, 8, 8, 8, 16, 8, 0x00AAAAAA },                       // RGBX
    { 32, 20, 10, 10, 10, 0, 10, 0x2A8u << 20 | 0x2A8u << 10 | 0x2A8u },  // 10 bits a channel
    { 24, 16, 8, 8, 8, 0, 8, 0xAAAAAA },
    { 16, 11, 5, 5, 6, 0, 5, 0x15u << 11 | 0x2Au << 5 | 0x15u },  // 565
    { 15, 10, 5, 5, 5, 0, 5, 0x15u << 10 | 0x15u << 5 | 0x15u },  // 555
};

START_TEST(every_pixel_layout_gets_light_grey)
{
    const struct layout_case *layout = &layout_cases[_i];
    describe(4, 2, layout->bits_per_pixel, 8);
    info.red_position = layout->red_position;
    info.red_size = layout->red_size;
    info.green_position = layout->green_position;
    info.green_size = layout->green_size;
    info.blue_position = layout->blue_position;
    info.blue_size = layout->blue_size;
    initialize();
    write_text("BA");
    ck_assert_int_eq(cell(0, 0, layout->grey), 'B');
    ck_assert_int_eq(cell(0, 1, layout->grey), 'A');
    ck_assert_int_eq(cell(0, 2, layout->grey), '_');
    ck_assert_int_eq(cell(1, 3, layout->grey), ' ');
    uint32_t bytes_per_pixel = (layout->bits_per_pixel + 7u) / 8;
    ck_assert_uint_eq(memory[info.width * bytes_per_pixel], GARBAGE);
}
END_TEST

START_TEST(a_huge_screen_uses_at_most_256_columns)
{
    describe(300, 2, 32, 0);
    initialize();
    ck_assert(fake_printk_has(LOG_INFO, "256x2 characters", NULL));
    char line[300];
    memset(line, 'B', 257);
    line[257] = 0;
    write_text(line);
    ck_assert_int_eq(cell(0, 255, GREY_32), 'B');
    ck_assert_int_eq(cell(0, 256, GREY_32), ' ');  // beyond the text area
    ck_assert_int_eq(cell(1, 0, GREY_32), 'B');
    ck_assert_int_eq(cell(1, 1, GREY_32), '_');
}
END_TEST

static void assert_refused(const char *reason)
{
    char error[128] = "";
    memset(memory, GARBAGE, 4096);
    ck_assert(!framebuffer_console_init(&info, error, sizeof error));
    ck_assert_msg(strstr(error, reason), "reason \"%s\" does not say \"%s\"", error, reason);
    ck_assert_int_eq(registrations, 0);
    for (size_t i = 0; i < 4096; i++)
        ck_assert_uint_eq(memory[i], GARBAGE);
}

START_TEST(implausible_descriptions_are_refused)
{
    describe(8, 3, 32, 0);
    info.address = 0;
    assert_refused("address is 0");

    describe(8, 3, 8, 0);
    assert_refused("8 bits per pixel");
    describe(8, 3, 32, 0);
    info.bits_per_pixel = 31;
    assert_refused("31 bits per pixel");

    describe(8, 3, 32, 0);
    info.width = GLYPH_WIDTH - 1;
    assert_refused("size");
    describe(8, 3, 32, 0);
    info.height = 100000;
    assert_refused("size");

    describe(8, 3, 32, 0);
    info.pitch = info.width * 4 - 1;
    assert_refused("pitch");
    describe(8, 3, 32, 0);
    info.pitch = 0xFFFFFFFF;
    assert_refused("pitch");

    describe(8, 3, 32, 0);
    info.address = 0xFFFFFFFFFFFFF000ull;
    assert_refused("physical address space");

    describe(8, 3, 32, 0);
    info.red_position = 28;
    assert_refused("colour fields");
    describe(8, 3, 16, 0);      // still the 8-8-8 fields of 32 bits
    assert_refused("colour fields");
    describe(8, 3, 32, 0);
    info.green_size = 0;
    assert_refused("colour fields");
}
END_TEST

static Suite *console_framebuffer_suite(void)
{
    Suite *suite = suite_create("console_framebuffer");
    TCase *test_case = tcase_create("draw");
    tcase_add_checked_fixture(test_case, setup, teardown);
    tcase_add_test(test_case, init_clears_the_screen_and_shows_the_cursor);
    tcase_add_test(test_case, glyphs_and_cursor_land_in_their_cells);
    tcase_add_test(test_case, the_screen_scrolls);
    tcase_add_test(test_case, only_changed_cells_are_redrawn);
    tcase_add_loop_test(test_case, every_pixel_layout_gets_light_grey, 0,
                        sizeof layout_cases / sizeof layout_cases[0]);
    tcase_add_test(test_case, a_huge_screen_uses_at_most_256_columns);
    tcase_add_test(test_case, implausible_descriptions_are_refused);
    suite_add_tcase(suite, test_case);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(console_framebuffer_suite());
    srunner_run_all(runner, CK_ENV);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
