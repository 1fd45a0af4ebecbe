/*
 * CRC-32 (net/crc32.c): the standard check value, zlib's results, the
 * table against the bit-at-a-time definition, and that a CRC continued in
 * pieces equals the CRC of the whole.
 */
#include "crc32.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

// The definition: one bit at a time.
static uint32_t crc32_by_bits(const uint8_t *data, size_t length)
{
    uint32_t crc = ~0u;
    for (size_t i = 0; i < length; i++) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; bit++)
            crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
    }
    return ~crc;
}

START_TEST(known_values)
{
    ck_assert_uint_eq(crc32_update(0, "123456789", 9), 0xcbf43926u);   // the catalogue's check value
    ck_assert_uint_eq(crc32_update(0, "", 0), 0);
    // zlib.crc32(b"The quick brown fox jumps over the lazy dog")
    ck_assert_uint_eq(crc32_update(0, "The quick brown fox jumps over the lazy dog", 43), 0x414fa339u);
}
END_TEST

START_TEST(matches_the_definition)
{
    static uint8_t data[65536];
    uint32_t seed = 1;
    for (size_t i = 0; i < sizeof data; i++) {
        seed = seed * 1103515245u + 12345u;
        data[i] = (uint8_t)(seed >> 16);
    }
    for (size_t length = 0; length < 300; length++)
        ck_assert_uint_eq(crc32_update(0, data, length), crc32_by_bits(data, length));
    ck_assert_uint_eq(crc32_update(0, data, sizeof data), crc32_by_bits(data, sizeof data));
}
END_TEST

START_TEST(pieces_add_up)
{
    const char *text = "a download arrives in pieces of any size";
    size_t length = strlen(text);
    uint32_t whole = crc32_update(0, text, length);
    for (size_t split = 0; split <= length; split++)
        ck_assert_uint_eq(crc32_update(crc32_update(0, text, split), text + split, length - split), whole);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("crc32");
    TCase *test_case = tcase_create("crc32");
    tcase_add_test(test_case, known_values);
    tcase_add_test(test_case, matches_the_definition);
    tcase_add_test(test_case, pieces_add_up);
    suite_add_tcase(suite, test_case);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
