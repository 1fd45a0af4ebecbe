/*
 * Unit tests for kernel/screen_text.c, the terminal rules both screen
 * consoles share: printing, the deferred wrap at the right edge, scrolling,
 * '\n' '\r' '\t' '\b', dropped control characters, UTF-8 split across
 * writes, and a cursor left out of range (as a racing panic writer could)
 * being pulled back inside the grid.
 *
 * The grid here is 10 columns by 3 rows, and a cell holds the code point
 * itself, so the expected screen reads as text: '.' for a cell cleared by
 * the grid, ' ' for a space written into it.
 */
#include "screen_text.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

#define COLUMNS 10
#define ROWS 3
#define BLANK '.'

// One cell of padding on each side catches stores outside the grid.
static uint16_t cells[1 + COLUMNS * ROWS + 1];
static struct screen_text text;

static uint16_t cell_for(uint32_t code_point)
{
    return (uint16_t)code_point;
}

static void setup(void)
{
    cells[0] = cells[1 + COLUMNS * ROWS] = '#';
    text = (struct screen_text){
        .cells = cells + 1,
        .columns = COLUMNS,
        .rows = ROWS,
        .blank = BLANK,
        .cell_for = cell_for,
        .decoder = UTF8_DECODER_INITIALIZER,
    };
    for (size_t i = 1; i <= COLUMNS * ROWS; i++)
        cells[i] = 'X';
    screen_text_clear(&text);
}

static void write_text(const char *bytes)
{
    screen_text_write(&text, bytes, strlen(bytes));
}

// `expected` is the screen, line after line, with no separators.
static void assert_screen(const char *expected, uint32_t row, uint32_t column)
{
    char shown[COLUMNS * ROWS + 1];
    for (size_t i = 0; i < COLUMNS * ROWS; i++)
        shown[i] = cells[1 + i] < 0x80 ? (char)cells[1 + i] : '*';
    shown[COLUMNS * ROWS] = 0;
    ck_assert_str_eq(shown, expected);
    ck_assert_uint_eq(text.row, row);
    ck_assert_uint_eq(text.column, column);
    ck_assert_uint_eq(cells[0], '#');
    ck_assert_uint_eq(cells[1 + COLUMNS * ROWS], '#');
}

START_TEST(clear_blanks_everything)
{
    assert_screen(".........."
                  ".........."
                  "..........", 0, 0);
}
END_TEST

START_TEST(characters_and_new_lines)
{
    write_text("ab\ncd");
    assert_screen("ab........"
                  "cd........"
                  "..........", 1, 2);
}
END_TEST

START_TEST(a_full_line_wraps_only_when_more_comes)
{
    write_text("1234567890");
    assert_screen("1234567890"
                  ".........."
                  "..........", 0, COLUMNS);
    ck_assert_uint_eq(screen_text_cursor_index(&text), COLUMNS - 1);
    write_text("\nx");      // no empty line between
    assert_screen("1234567890"
                  "x........."
                  "..........", 1, 1);
    write_text("abcdefghijkl");
    assert_screen("1234567890"
                  "xabcdefghi"
                  "jkl.......", 2, 3);
}
END_TEST

START_TEST(the_bottom_line_scrolls_up)
{
    write_text("one\ntwo\nthree\nfour");
    assert_screen("two......."
                  "three....."
                  "four......", 2, 4);
    write_text("\n");
    assert_screen("three....."
                  "four......"
                  "..........", 2, 0);
    write_text("1234567890" "9");  // wrapping on the last line scrolls too
    assert_screen("four......"
                  "1234567890"
                  "9.........", 2, 1);
}
END_TEST

START_TEST(carriage_return_goes_to_column_zero)
{
    write_text("abc\rX");
    assert_screen("Xbc......."
                  ".........."
                  "..........", 0, 1);
    write_text("\r1234567890\r");  // also while a wrap is pending
    assert_screen("1234567890"
                  ".........."
                  "..........", 0, 0);
}
END_TEST

START_TEST(tab_stops_at_multiples_of_eight_and_at_the_edge)
{
    write_text("a\tb");
    assert_screen("a.......b."
                  ".........."
                  "..........", 0, 9);
    // The next stop, 16, is past the last column: the tab stops at column 9.
    write_text("\tc");
    assert_screen("a.......bc"
                  ".........."
                  "..........", 0, COLUMNS);
}
END_TEST

START_TEST(backspace_moves_left_without_erasing)
{
    write_text("abc\b");
    assert_screen("abc......."
                  ".........."
                  "..........", 0, 2);
    write_text(" \b");            // a space, as a terminal erases
    assert_screen("ab ......."
                  ".........."
                  "..........", 0, 2);
    write_text("\b\b\b\b");      // stops at column 0
    assert_screen("ab ......."
                  ".........."
                  "..........", 0, 0);
    write_text("1234567890\b \b");  // erases the last column while a wrap is pending
    assert_screen("123456789 "
                  ".........."
                  "..........", 0, COLUMNS - 1);
}
END_TEST

START_TEST(other_control_characters_are_dropped)
{
    // C0 controls, ESC (escape sequences are not interpreted), DEL, and the
    // C1 control U+0085 in its UTF-8 form.
    write_text("a\x01\x1b[31mb\x7f" "c\xc2\x85" "d");
    assert_screen("a[31mbcd.."
                  ".........."
                  "..........", 0, 8);
}
END_TEST

START_TEST(utf8_split_across_writes)
{
    write_text("\xe2\x86");
    assert_screen(".........."
                  ".........."
                  "..........", 0, 0);
    write_text("\x92!");
    ck_assert_uint_eq(cells[1], 0x2192);
    ck_assert_uint_eq(cells[2], '!');
    write_text("\xff");
    ck_assert_uint_eq(cells[3], 0xFFFD);
}
END_TEST

START_TEST(a_cursor_out_of_range_is_pulled_back)
{
    text.row = 1000;
    text.column = 1000;
    ck_assert_uint_eq(screen_text_cursor_index(&text), ROWS * COLUMNS - 1);
    write_text("z");
    assert_screen(".........."
                  ".........."
                  "z.........", 2, 1);
}
END_TEST

static Suite *screen_text_suite(void)
{
    Suite *suite = suite_create("screen_text");
    TCase *test_case = tcase_create("terminal");
    tcase_add_checked_fixture(test_case, setup, NULL);
    tcase_add_test(test_case, clear_blanks_everything);
    tcase_add_test(test_case, characters_and_new_lines);
    tcase_add_test(test_case, a_full_line_wraps_only_when_more_comes);
    tcase_add_test(test_case, the_bottom_line_scrolls_up);
    tcase_add_test(test_case, carriage_return_goes_to_column_zero);
    tcase_add_test(test_case, tab_stops_at_multiples_of_eight_and_at_the_edge);
    tcase_add_test(test_case, backspace_moves_left_without_erasing);
    tcase_add_test(test_case, other_control_characters_are_dropped);
    tcase_add_test(test_case, utf8_split_across_writes);
    tcase_add_test(test_case, a_cursor_out_of_range_is_pulled_back);
    suite_add_tcase(suite, test_case);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(screen_text_suite());
    srunner_run_all(runner, CK_ENV);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
