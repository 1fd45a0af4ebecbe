/*
 * Terminal behaviour for a grid of character cells, shared by the VGA text
 * console and the framebuffer console (see kernel/screen_text.h).
 *
 * The rules are the Linux console's, cut down to what kernel messages use:
 *   - a printable character goes at the cursor, which moves right; at the
 *     right edge it wraps to the next line when the next character arrives;
 *   - '\n' starts the next line at column 0 (the serial console sends CR LF
 *     for it, so both show the same thing), '\r' returns to column 0;
 *   - '\t' moves to the next multiple of 8 but never past the last column;
 *   - '\b' moves one cell left without erasing, so "\b \b" erases;
 *   - below the last line the grid scrolls up one line and the new bottom
 *     line is blank;
 *   - other control characters (C0, DEL, C1) are dropped: they would draw
 *     as stray symbols, and escape sequences are not interpreted.
 *
 * Every write works on local copies of the cursor and checks them against
 * the grid's fixed size before each store. The console lock normally makes
 * that moot, but in a panic two CPUs may write at once (kernel/console.c),
 * and then they may garble the text but never store outside the grid.
 */
#include "screen_text.h"
#include <string.h>

void screen_text_clear(struct screen_text *text)
{
    size_t count = (size_t)text->rows * text->columns;
    for (size_t i = 0; i < count; i++)
        text->cells[i] = text->blank;
    text->row = 0;
    text->column = 0;
}

static void screen_text_scroll(struct screen_text *text)
{
    size_t line = text->columns;
    memmove(text->cells, text->cells + line, (size_t)(text->rows - 1) * line * sizeof text->cells[0]);
    uint16_t *last = text->cells + (size_t)(text->rows - 1) * line;
    for (uint32_t column = 0; column < text->columns; column++)
        last[column] = text->blank;
}

// The cursor while a write runs; copied back into the grid at its end.
struct screen_text_cursor {
    uint32_t row, column;
};

static void screen_text_new_line(struct screen_text *text, struct screen_text_cursor *cursor)
{
    cursor->column = 0;
    if (cursor->row + 1 < text->rows)
        cursor->row++;
    else
        screen_text_scroll(text);
}

static void screen_text_put(struct screen_text *text, struct screen_text_cursor *cursor, uint32_t code_point)
{
    switch (code_point) {
    case '\n':
        screen_text_new_line(text, cursor);
        return;
    case '\r':
        cursor->column = 0;
        return;
    case '\t': {
        uint32_t next = (cursor->column / SCREEN_TEXT_TAB_WIDTH + 1) * SCREEN_TEXT_TAB_WIDTH;
        cursor->column = next < text->columns ? next : text->columns - 1;
        return;
    }
    case '\b':
        if (cursor->column > 0)
            cursor->column--;
        return;
    }
    if (code_point < 0x20 || (code_point >= 0x7F && code_point < 0xA0))
        return;
    if (cursor->column >= text->columns)
        screen_text_new_line(text, cursor);
    text->cells[(size_t)cursor->row * text->columns + cursor->column] = text->cell_for(code_point);
    cursor->column++;
}

void screen_text_write(struct screen_text *text, const char *bytes, size_t length)
{
    struct screen_text_cursor cursor = { text->row, text->column };
    if (cursor.row >= text->rows)
        cursor.row = text->rows - 1;
    if (cursor.column > text->columns)
        cursor.column = text->columns;
    for (size_t i = 0; i < length; i++) {
        uint32_t code_points[2];
        size_t count = utf8_decode_byte(&text->decoder, (uint8_t)bytes[i], code_points);
        for (size_t j = 0; j < count; j++)
            screen_text_put(text, &cursor, code_points[j]);
    }
    text->row = cursor.row;
    text->column = cursor.column;
}

size_t screen_text_cursor_index(const struct screen_text *text)
{
    uint32_t row = text->row < text->rows ? text->row : text->rows - 1;
    uint32_t column = text->column < text->columns ? text->column : text->columns - 1;
    return (size_t)row * text->columns + column;
}
