/*
 * Unit tests for kernel/utf8.c: well-formed characters of every length,
 * characters split across calls, and every kind of malformed input coming
 * out as U+FFFD without losing the text around it.
 */
#include "utf8.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

#define REPLACEMENT UTF8_REPLACEMENT_CHARACTER

// Decodes `bytes` with `decoder` and returns how many code points came out.
static size_t decode(struct utf8_decoder *decoder, const char *bytes, uint32_t *output, size_t output_max)
{
    size_t count = 0;
    for (size_t i = 0; bytes[i]; i++) {
        uint32_t code_points[2];
        size_t produced = utf8_decode_byte(decoder, (uint8_t)bytes[i], code_points);
        ck_assert_uint_le(produced, 2);
        for (size_t j = 0; j < produced; j++) {
            ck_assert_uint_lt(count, output_max);
            output[count++] = code_points[j];
        }
    }
    return count;
}

static void assert_decodes_to(const char *bytes, const uint32_t *expected, size_t expected_count)
{
    struct utf8_decoder decoder = UTF8_DECODER_INITIALIZER;
    uint32_t output[32];
    size_t count = decode(&decoder, bytes, output, 32);
    ck_assert_msg(count == expected_count, "\"%s\": %zu code points, expected %zu", bytes, count, expected_count);
    for (size_t i = 0; i < count; i++)
        ck_assert_msg(output[i] == expected[i], "\"%s\": code point %zu is U+%04X, expected U+%04X",
                      bytes, i, output[i], expected[i]);
    ck_assert_uint_eq(decoder.remaining, 0);
}

START_TEST(ascii_passes_through)
{
    assert_decodes_to("Az~\n\t", (uint32_t[]){ 'A', 'z', '~', '\n', '\t' }, 5);
}
END_TEST

START_TEST(every_length_decodes)
{
    // é (2 bytes), → (3 bytes), 😀 (4 bytes), and the extremes of each length.
    assert_decodes_to("\xc3\xa9\xe2\x86\x92\xf0\x9f\x98\x80", (uint32_t[]){ 0xE9, 0x2192, 0x1F600 }, 3);
    assert_decodes_to("\xc2\x80\xdf\xbf", (uint32_t[]){ 0x80, 0x7FF }, 2);
    assert_decodes_to("\xe0\xa0\x80\xef\xbf\xbf", (uint32_t[]){ 0x800, 0xFFFF }, 2);
    assert_decodes_to("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", (uint32_t[]){ 0x10000, 0x10FFFF }, 2);
}
END_TEST

START_TEST(a_character_split_across_calls_is_whole)
{
    struct utf8_decoder decoder = UTF8_DECODER_INITIALIZER;
    uint32_t output[4];
    ck_assert_uint_eq(decode(&decoder, "ab\xe2\x86", output, 4), 2);
    ck_assert_uint_eq(decoder.remaining, 1);
    ck_assert_uint_eq(decode(&decoder, "\x92", output, 4), 1);
    ck_assert_uint_eq(output[0], 0x2192);
}
END_TEST

START_TEST(stray_and_impossible_bytes_are_replaced)
{
    // A continuation byte with no lead, the never-valid leads C0, C1, F5..FF.
    assert_decodes_to("a\x80" "b", (uint32_t[]){ 'a', REPLACEMENT, 'b' }, 3);
    assert_decodes_to("\xc0\xc1\xf5\xff", (uint32_t[]){ REPLACEMENT, REPLACEMENT, REPLACEMENT, REPLACEMENT }, 4);
}
END_TEST

START_TEST(a_cut_sequence_keeps_the_byte_that_cut_it)
{
    // The interrupting byte is ASCII, or the start of a good character.
    assert_decodes_to("\xe2\x86" "x", (uint32_t[]){ REPLACEMENT, 'x' }, 2);
    assert_decodes_to("\xe2\xc3\xa9", (uint32_t[]){ REPLACEMENT, 0xE9 }, 2);
    assert_decodes_to("\xf0\x9f\xe2\x86\x92!", (uint32_t[]){ REPLACEMENT, 0x2192, '!' }, 3);
}
END_TEST

START_TEST(overlong_surrogate_and_too_large_are_replaced)
{
    assert_decodes_to("\xe0\x80\xaf", (uint32_t[]){ REPLACEMENT }, 1);        // '/' in 3 bytes
    assert_decodes_to("\xf0\x80\x80\xaf", (uint32_t[]){ REPLACEMENT }, 1);    // '/' in 4 bytes
    assert_decodes_to("\xed\xa0\x80", (uint32_t[]){ REPLACEMENT }, 1);        // U+D800
    assert_decodes_to("\xf4\x90\x80\x80", (uint32_t[]){ REPLACEMENT }, 1);    // U+110000
}
END_TEST

static Suite *utf8_suite(void)
{
    Suite *suite = suite_create("utf8");
    TCase *test_case = tcase_create("decode");
    tcase_add_test(test_case, ascii_passes_through);
    tcase_add_test(test_case, every_length_decodes);
    tcase_add_test(test_case, a_character_split_across_calls_is_whole);
    tcase_add_test(test_case, stray_and_impossible_bytes_are_replaced);
    tcase_add_test(test_case, a_cut_sequence_keeps_the_byte_that_cut_it);
    tcase_add_test(test_case, overlong_surrogate_and_too_large_are_replaced);
    suite_add_tcase(suite, test_case);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(utf8_suite());
    srunner_run_all(runner, CK_ENV);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
