/*
 * Unit tests for kernel/font.c: PSF1 and PSF2 headers, the Unicode tables of
 * both (sequences skipped, first mapping wins, malformed UTF-8 ignored), the
 * replacement glyph, fonts without a table, the limit on wide mappings, and
 * refusal of every malformed header without reading past the file.
 *
 * The fonts are built here byte by byte, so each test shows exactly what it
 * feeds the parser; glyph N's first byte is N (mod 256) so a test can tell
 * glyphs apart.
 */
#include "font.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

// One font under construction.
static uint8_t font_bytes[1 << 17];
static size_t font_length;
static struct font font;

static void put_byte(uint8_t byte)
{
    ck_assert_uint_lt(font_length, sizeof font_bytes);
    font_bytes[font_length++] = byte;
}

static void put_16(uint32_t value)
{
    put_byte((uint8_t)value);
    put_byte((uint8_t)(value >> 8));
}

static void put_32(uint32_t value)
{
    put_16(value & 0xFFFF);
    put_16(value >> 16);
}

static void put_text(const char *text)
{
    for (; *text; text++)
        put_byte((uint8_t)*text);
}

static void put_glyphs(uint32_t count, uint32_t bytes_per_glyph)
{
    for (uint32_t glyph = 0; glyph < count; glyph++)
        for (uint32_t i = 0; i < bytes_per_glyph; i++)
            put_byte(i == 0 ? (uint8_t)glyph : 0);
}

static void start_psf1(uint8_t mode, uint8_t height)
{
    font_length = 0;
    put_byte(0x36);
    put_byte(0x04);
    put_byte(mode);
    put_byte(height);
    put_glyphs((mode & 0x01) ? 512 : 256, height);
}

static void start_psf2(uint32_t header_size, uint32_t flags, uint32_t count, uint32_t bytes_per_glyph,
                       uint32_t height, uint32_t width)
{
    font_length = 0;
    put_32(0x864AB572);
    put_32(0);
    put_32(header_size);
    put_32(flags);
    put_32(count);
    put_32(bytes_per_glyph);
    put_32(height);
    put_32(width);
    while (font_length < header_size && font_length < sizeof font_bytes)
        put_byte(0xEE);     // padding a newer header might use
    put_glyphs(count, bytes_per_glyph);
}

// PSF1 table entries: code points, then the end-of-glyph marker.
#define PSF1_SEQUENCE 0xFFFE
#define PSF1_END 0xFFFF
static void psf1_entry(const uint32_t *code_points, size_t count)
{
    for (size_t i = 0; i < count; i++)
        put_16(code_points[i]);
    put_16(PSF1_END);
}
#define PSF1_ENTRY(...) psf1_entry((uint32_t[]){ __VA_ARGS__ }, sizeof((uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t))

static void psf1_empty_entries(uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        put_16(PSF1_END);
}

static bool parse(char *error, size_t error_size)
{
    memset(error, 0, error_size);
    memset(&font, 0x5A, sizeof font);   // nothing may depend on a cleared struct
    return font_parse(&font, font_bytes, font_length, error, error_size);
}

static void parse_ok(void)
{
    char error[80];
    ck_assert_msg(parse(error, sizeof error), "refused: %s", error);
}

static void assert_refused(const char *expected_reason)
{
    char error[80];
    ck_assert(!parse(error, sizeof error));
    ck_assert_msg(strstr(error, expected_reason), "reason \"%s\" does not say \"%s\"", error, expected_reason);
}

START_TEST(psf1_table_maps_code_points_to_glyphs)
{
    start_psf1(0x02, 16);
    PSF1_ENTRY('A', 0x391, PSF1_SEQUENCE, 'A', 0x301);  // glyph 0: A, Greek Alpha; A + acute is a sequence
    PSF1_ENTRY('?');                                     // glyph 1
    PSF1_ENTRY(0xFFFD);                                  // glyph 2
    PSF1_ENTRY(0x2192, 0x2190);                          // glyph 3: two arrows
    PSF1_ENTRY('A', 0xE9);                               // glyph 4: A again (the first wins)
    psf1_empty_entries(256 - 5);
    parse_ok();

    ck_assert_uint_eq(font.glyph_count, 256);
    ck_assert_uint_eq(font.glyph_width, 8);
    ck_assert_uint_eq(font.glyph_height, 16);
    ck_assert_uint_eq(font.bytes_per_row, 1);
    ck_assert_uint_eq(font.bytes_per_glyph, 16);
    ck_assert_uint_eq(font_glyph_index(&font, 'A'), 0);
    ck_assert_uint_eq(font_glyph_index(&font, 0x391), 0);
    ck_assert_uint_eq(font_glyph_index(&font, '?'), 1);
    ck_assert_uint_eq(font_glyph_index(&font, 0xFFFD), 2);
    ck_assert_uint_eq(font_glyph_index(&font, 0x2192), 3);
    ck_assert_uint_eq(font_glyph_index(&font, 0x2190), 3);
    ck_assert_uint_eq(font_glyph_index(&font, 0xE9), 4);
    // Not in the font, or only inside a sequence: the replacement glyph.
    ck_assert_uint_eq(font.replacement_glyph, 2);
    ck_assert_uint_eq(font_glyph_index(&font, 'B'), 2);
    ck_assert_uint_eq(font_glyph_index(&font, 0x301), 2);
    ck_assert_uint_eq(font_glyph_index(&font, 0x10FFFF), 2);
    ck_assert_uint_eq(font_glyph_bitmap(&font, 3)[0], 3);
    ck_assert_ptr_eq(font_glyph_bitmap(&font, 0), font_bytes + 4);
}
END_TEST

START_TEST(psf1_with_512_glyphs)
{
    start_psf1(0x01 | 0x02, 14);
    psf1_empty_entries(300);
    PSF1_ENTRY('x');
    psf1_empty_entries(511 - 300);
    parse_ok();
    ck_assert_uint_eq(font.glyph_count, 512);
    ck_assert_uint_eq(font.glyph_height, 14);
    ck_assert_uint_eq(font_glyph_index(&font, 'x'), 300);
    ck_assert_uint_eq(font_glyph_bitmap(&font, 300)[0], 300 & 0xFF);
}
END_TEST

START_TEST(replacement_falls_back_to_question_mark_then_glyph_zero)
{
    start_psf1(0x02, 8);
    psf1_empty_entries(7);
    PSF1_ENTRY('?');
    psf1_empty_entries(256 - 8);
    parse_ok();
    ck_assert_uint_eq(font.replacement_glyph, 7);
    ck_assert_uint_eq(font_glyph_index(&font, 0x4E00), 7);

    start_psf1(0x02, 8);
    PSF1_ENTRY(' ');
    psf1_empty_entries(255);
    parse_ok();
    ck_assert_uint_eq(font.replacement_glyph, 0);
}
END_TEST

START_TEST(a_font_without_table_is_in_ascii_order)
{
    start_psf1(0x00, 16);
    parse_ok();
    ck_assert_uint_eq(font_glyph_index(&font, 'A'), 'A');
    ck_assert_uint_eq(font_glyph_index(&font, '~'), '~');
    // Above ASCII a table-less font's order is some code page: not guessed.
    ck_assert_uint_eq(font.replacement_glyph, '?');
    ck_assert_uint_eq(font_glyph_index(&font, 0xE9), '?');
}
END_TEST

START_TEST(a_table_cut_short_keeps_what_it_has)
{
    start_psf1(0x02, 16);
    PSF1_ENTRY('a');
    PSF1_ENTRY('b');
    put_byte('c');      // half a code point, then the file ends
    parse_ok();
    ck_assert_uint_eq(font_glyph_index(&font, 'a'), 0);
    ck_assert_uint_eq(font_glyph_index(&font, 'b'), 1);
}
END_TEST

START_TEST(psf2_table_is_utf8)
{
    // 12 pixels wide: two bytes per row. A 40-byte header: the parser must
    // honour header_size, not assume 32.
    start_psf2(40, 0x01, 4, 2 * 20, 20, 12);
    put_text("A\xce\x91");                    // glyph 0: A, Greek Alpha
    put_byte(0xFE);
    put_text("A\xcc\x81");                    // a sequence: skipped
    put_byte(0xFF);
    put_text("\xef\xbf\xbd");                 // glyph 1: U+FFFD itself
    put_byte(0xFF);
    put_text("\xe2\x86\x92" "\x80" "\xc3");   // glyph 2: an arrow, then malformed bytes
    put_byte(0xFF);
    put_text("\xc3\xa9");                     // glyph 3: é
    put_byte(0xFF);
    parse_ok();

    ck_assert_uint_eq(font.glyph_count, 4);
    ck_assert_uint_eq(font.glyph_width, 12);
    ck_assert_uint_eq(font.glyph_height, 20);
    ck_assert_uint_eq(font.bytes_per_row, 2);
    ck_assert_ptr_eq(font_glyph_bitmap(&font, 0), font_bytes + 40);
    ck_assert_uint_eq(font_glyph_bitmap(&font, 2)[0], 2);
    ck_assert_uint_eq(font_glyph_index(&font, 'A'), 0);
    ck_assert_uint_eq(font_glyph_index(&font, 0x391), 0);
    ck_assert_uint_eq(font_glyph_index(&font, 0xFFFD), 1);
    ck_assert_uint_eq(font.replacement_glyph, 1);
    ck_assert_uint_eq(font_glyph_index(&font, 0x2192), 2);
    ck_assert_uint_eq(font_glyph_index(&font, 0xE9), 3);
    ck_assert_uint_eq(font_glyph_index(&font, 0x301), 1);
}
END_TEST

START_TEST(wide_mappings_past_the_limit_are_dropped)
{
    // 512 glyphs with 5 code points each, listed in descending order so that
    // every insertion lands in front: 2560 mappings for 2048 places.
    start_psf1(0x01 | 0x02, 16);
    for (uint32_t glyph = 0; glyph < 512; glyph++) {
        for (uint32_t i = 0; i < 5; i++)
            put_16(0x9000 - glyph * 5 - i);
        put_16(PSF1_END);
    }
    parse_ok();
    ck_assert_uint_eq(font.wide_count, FONT_WIDE_MAPPINGS_MAX);
    for (size_t i = 1; i < font.wide_count; i++)
        ck_assert_uint_lt(font.wide_code_points[i - 1], font.wide_code_points[i]);
    ck_assert_uint_eq(font_glyph_index(&font, 0x9000), 0);
    ck_assert_uint_eq(font_glyph_index(&font, 0x9000 - 5 * 100 - 3), 100);
    uint32_t last_kept = 0x9000 - (FONT_WIDE_MAPPINGS_MAX - 1);
    ck_assert_uint_eq(font_glyph_index(&font, last_kept), (FONT_WIDE_MAPPINGS_MAX - 1) / 5);
}
END_TEST

START_TEST(malformed_fonts_are_refused)
{
    font_length = 0;
    assert_refused("bad magic");
    put_text("hello, world, this is no font at all");
    assert_refused("bad magic");

    start_psf1(0x02, 16);
    font_length = 4 + 255 * 16;
    assert_refused("shorter than its glyphs");
    start_psf1(0x00, 0);
    assert_refused("glyph size");
    start_psf1(0x00, 65);
    assert_refused("glyph size");

    start_psf2(32, 0, 4, 16, 16, 8);
    font_bytes[4] = 1;
    assert_refused("version");
    start_psf2(32, 0, 4, 16, 16, 8);
    font_bytes[8] = 16;
    assert_refused("header");
    start_psf2(32, 0, 0, 16, 16, 8);
    assert_refused("glyph count");
    start_psf2(32, 0, 4, 16, 16, 8);
    font_bytes[16] = 0x01;
    font_bytes[18] = 0x01;      // 65537 glyphs
    assert_refused("glyph count");
    start_psf2(32, 0, 4, 16, 16, 0);
    assert_refused("glyph size");
    start_psf2(32, 0, 4, 65 * 9, 65, 65);
    assert_refused("glyph size");
    start_psf2(32, 0, 4, 17, 16, 8);
    assert_refused("bytes per glyph");
    start_psf2(32, 0, 4, 16, 16, 8);
    font_length -= 1;
    assert_refused("shorter than its glyphs");
    start_psf2(32, 0, 4, 16, 16, 8);
    memset(font_bytes + 8, 0xFF, 4);    // a header "4 GiB long"
    assert_refused("shorter than its glyphs");
}
END_TEST

static Suite *font_suite(void)
{
    Suite *suite = suite_create("font");
    TCase *test_case = tcase_create("parse");
    tcase_add_test(test_case, psf1_table_maps_code_points_to_glyphs);
    tcase_add_test(test_case, psf1_with_512_glyphs);
    tcase_add_test(test_case, replacement_falls_back_to_question_mark_then_glyph_zero);
    tcase_add_test(test_case, a_font_without_table_is_in_ascii_order);
    tcase_add_test(test_case, a_table_cut_short_keeps_what_it_has);
    tcase_add_test(test_case, psf2_table_is_utf8);
    tcase_add_test(test_case, wide_mappings_past_the_limit_are_dropped);
    tcase_add_test(test_case, malformed_fonts_are_refused);
    suite_add_tcase(suite, test_case);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(font_suite());
    srunner_run_all(runner, CK_ENV);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
