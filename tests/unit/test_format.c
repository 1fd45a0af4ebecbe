/*
 * Unit tests for kernel/libc/format.c, the kernel's snprintf: every case is
 * printed by the kernel's function and by the host's (glibc) with the same
 * arguments, and both the text and the return value must match, at full
 * size and cut short at every smaller buffer size.
 *
 * The kernel's functions are linked under other names: mk/unit.mk compiles
 * format.c with -Dsnprintf=kernel_snprintf -Dvsnprintf=kernel_vsnprintf, so
 * that this program keeps glibc's snprintf to compare with.
 */
#include <check.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kernel_snprintf(char *buffer, size_t size, const char *format, ...) __attribute__((format(printf, 3, 4)));

// The cases include formats that are well defined but pointless ("%-08d",
// where '-' overrides '0'; '+' with %u; the empty format), which is exactly
// where two implementations part ways; gcc's advice about them is not wanted.
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-zero-length"

#define FORMAT_BUFFER 512

// The two outputs for every buffer size from 0 to one past the full length:
// same return value, same bytes written, nothing written past `size`.
#define SAME(format, ...)                                                                                         \
    do {                                                                                                          \
        char expected[FORMAT_BUFFER], actual[FORMAT_BUFFER];                                                      \
        int full = snprintf(NULL, 0, format, ##__VA_ARGS__);                                                      \
        ck_assert_int_lt(full, FORMAT_BUFFER - 2);                                                                \
        for (int size = full + 1; size >= 0; size--) {                                                            \
            memset(expected, 'X', sizeof expected);                                                               \
            memset(actual, 'X', sizeof actual);                                                                   \
            int expected_length = snprintf(expected, (size_t)size, format, ##__VA_ARGS__);                        \
            int actual_length = kernel_snprintf(size ? actual : NULL, (size_t)size, format, ##__VA_ARGS__);       \
            ck_assert_msg(expected_length == actual_length && memcmp(expected, actual, sizeof expected) == 0,     \
                          "format \"%s\" into %d bytes: host \"%.*s\" (returns %d), kernel \"%.*s\" (returns %d)", \
                          format, size, size, expected, expected_length, size, actual, actual_length);            \
        }                                                                                                         \
    } while (0)

START_TEST(plain_text)
{
    SAME("");
    SAME("hello, world");
    SAME("100%% sure");
    SAME("%%");
    SAME("a%%b%%c");
}
END_TEST

START_TEST(signed_decimal)
{
    int values[] = { 0, 1, -1, 42, -42, 1000000, INT_MAX, INT_MIN };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        int v = values[i];
        SAME("%d", v);
        SAME("%i", v);
        SAME("[%8d]", v);
        SAME("[%-8d]", v);
        SAME("[%08d]", v);
        SAME("[%+d]", v);
        SAME("[% d]", v);
        SAME("[%+8d]", v);
        SAME("[%-+8d]", v);
        SAME("[%+08d]", v);
        SAME("[% 08d]", v);
        SAME("[%-08d]", v);
        SAME("[%.3d]", v);
        SAME("[%.0d]", v);
        SAME("[%8.3d]", v);
        SAME("[%-8.3d]", v);
        SAME("[%08.3d]", v);
        SAME("[%+.5d]", v);
        SAME("[%.12d]", v);
        SAME("[%1d]", v);
    }
}
END_TEST

START_TEST(unsigned_conversions)
{
    unsigned values[] = { 0, 1, 7, 8, 255, 4096, 0xDEADBEEF, UINT_MAX };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        unsigned v = values[i];
        SAME("%u", v);
        SAME("%x", v);
        SAME("%X", v);
        SAME("%o", v);
        SAME("[%#x]", v);
        SAME("[%#X]", v);
        SAME("[%#o]", v);
        SAME("[%10x]", v);
        SAME("[%-10x]", v);
        SAME("[%010x]", v);
        SAME("[%#10x]", v);
        SAME("[%#010x]", v);
        SAME("[%-#10x]", v);
        SAME("[%.0x]", v);
        SAME("[%#.0x]", v);
        SAME("[%#.0o]", v);
        SAME("[%.6x]", v);
        SAME("[%#.6x]", v);
        SAME("[%#12.6x]", v);
        SAME("[%#.5o]", v);
        SAME("[%#.1o]", v);
        SAME("[%08.3u]", v);
    }
}
END_TEST

// C gives the '+' and ' ' flags a meaning only for signed conversions.
START_TEST(sign_flags_on_unsigned_conversions)
{
    unsigned values[] = { 0, 42, UINT_MAX };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        SAME("[%+u]", values[i]);
        SAME("[% u]", values[i]);
        SAME("[%+x]", values[i]);
        SAME("[% #x]", values[i]);
        SAME("[%+#o]", values[i]);
        SAME("[%+08X]", values[i]);
    }
}
END_TEST

START_TEST(length_modifiers)
{
    SAME("%hhd", (signed char)-56);
    SAME("%hhd", 200);       // converted to signed char, as C says
    SAME("%hhu", 300);
    SAME("%hhx", 0x1FF);
    SAME("%hd", 70000);
    SAME("%hu", 70000);
    SAME("%hx", -1);
    SAME("%ld", LONG_MIN);
    SAME("%ld", LONG_MAX);
    SAME("%lu", ULONG_MAX);
    SAME("%lx", 0xFFFF800000000000ul);
    SAME("%lld", LLONG_MIN);
    SAME("%llu", ULLONG_MAX);
    SAME("%#llx", 0x0123456789ABCDEFull);
    SAME("%llo", ULLONG_MAX);
    SAME("%zu", SIZE_MAX);
    SAME("%zx", (size_t)0x1000);
    SAME("%zd", (ptrdiff_t)-5);
    SAME("%td", (ptrdiff_t)PTRDIFF_MIN);
    SAME("%jd", INTMAX_MIN);
    SAME("%ju", UINTMAX_MAX);
    SAME("%jx", (uintmax_t)0xABCDEF);
    SAME("%-20lld|", -1234567890123ll);
    SAME("%020llu", 98765432109876ull);
}
END_TEST

START_TEST(star_width_and_precision)
{
    SAME("[%*d]", 6, 42);
    SAME("[%-*d]", 6, 42);
    SAME("[%*d]", -6, 42);   // a negative width means left-aligned
    SAME("[%.*d]", 4, 42);
    SAME("[%.*d]", -1, 42);  // a negative precision means none
    SAME("[%.*d]", 0, 0);
    SAME("[%*.*d]", 8, 4, -42);
    SAME("[%*s]", 10, "abc");
    SAME("[%.*s]", 2, "abc");
    SAME("[%-*.*s]", 7, 2, "abc");
    SAME("[%*c]", 3, 'z');
}
END_TEST

START_TEST(strings)
{
    SAME("%s", "hello");
    SAME("%s", "");
    SAME("[%10s]", "hello");
    SAME("[%-10s]", "hello");
    SAME("[%.3s]", "hello");
    SAME("[%.0s]", "hello");
    SAME("[%.10s]", "hello");
    SAME("[%10.3s]", "hello");
    SAME("[%-10.3s]", "hello");
    SAME("[%2s]", "hello");
    SAME("%s and %s", "this", "that");
    char long_text[300];
    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    SAME("<%s>", long_text);
}
END_TEST

START_TEST(null_string)
{
    // glibc prints "(null)" when the precision leaves room for it, else nothing.
    const char *volatile nothing = NULL;
    SAME("%s", nothing);
    SAME("[%10s]", nothing);
    SAME("[%-10s]", nothing);
    SAME("[%.6s]", nothing);
    SAME("[%.3s]", nothing);
    SAME("[%8.3s]", nothing);
    SAME("[%.0s]", nothing);
}
END_TEST

START_TEST(characters)
{
    SAME("%c", 'a');
    SAME("[%5c]", 'a');
    SAME("[%-5c]", 'a');
    SAME("%c%c%c", 'a', 'b', 'c');
    SAME("a%cb", 0);        // a NUL character is still one character
    SAME("[%3c]", 0);
    SAME("[%-3c]", 0);
    SAME("%c", 0xFF);
}
END_TEST

START_TEST(pointers)
{
    int object;
    void *pointers[] = { &object, (void *)(uintptr_t)0x1000, (void *)(uintptr_t)0xFFFFFFFFFFFFFFFFull };
    for (size_t i = 0; i < sizeof pointers / sizeof pointers[0]; i++) {
        SAME("%p", pointers[i]);
        SAME("[%20p]", pointers[i]);
        SAME("[%-20p]", pointers[i]);
    }
    void *volatile nothing = NULL;
    SAME("%p", nothing);
    SAME("[%10p]", nothing);
    SAME("[%-10p]", nothing);
}
END_TEST

START_TEST(mixed)
{
    SAME("[%s:%d] %#llx %c%% %-6s|%5.2u", "boot.c", 42, 0xFEE00000ull, 'x', "ok", 7u);
    SAME("hardway ready: cpus=%u mem=%llu MiB", 4u, 2048ull);
    SAME("%s=%d%s", "procs", 4, "");
    SAME("%08lx:%08lx", 0x1234ul, 0xABCDul);
}
END_TEST

START_TEST(size_zero_writes_nothing)
{
    char buffer[4] = { 'q', 'q', 'q', 'q' };
    ck_assert_int_eq(kernel_snprintf(buffer, 0, "%d", 12345), 5);
    ck_assert_int_eq(buffer[0], 'q');
    ck_assert_int_eq(kernel_snprintf(NULL, 0, "%s", "abc"), 3);
    ck_assert_int_eq(kernel_snprintf(buffer, 1, "%d", 12345), 5);
    ck_assert_int_eq(buffer[0], '\0');
    ck_assert_int_eq(buffer[1], 'q');
}
END_TEST

static Suite *format_suite(void)
{
    Suite *suite = suite_create("format");
    TCase *test_case = tcase_create("snprintf");
    tcase_add_test(test_case, plain_text);
    tcase_add_test(test_case, signed_decimal);
    tcase_add_test(test_case, unsigned_conversions);
    tcase_add_test(test_case, sign_flags_on_unsigned_conversions);
    tcase_add_test(test_case, length_modifiers);
    tcase_add_test(test_case, star_width_and_precision);
    tcase_add_test(test_case, strings);
    tcase_add_test(test_case, null_string);
    tcase_add_test(test_case, characters);
    tcase_add_test(test_case, pointers);
    tcase_add_test(test_case, mixed);
    tcase_add_test(test_case, size_zero_writes_nothing);
    suite_add_tcase(suite, test_case);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(format_suite());
    srunner_run_all(runner, CK_ENV);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
