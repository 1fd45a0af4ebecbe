/*
 * A grid of character cells that behaves like a terminal: the part the two
 * screen consoles share (kernel/screen_text.c has the rules).
 *
 * A backend owns the cells, in RAM, and says what one cell holds: for the
 * VGA text console a code-page-437 byte and a colour, as the card wants
 * them; for the framebuffer console a glyph number of its font.
 * screen_text_write does the rest: UTF-8 decoding, line wrap, scrolling and
 * the control characters. After a write the backend brings the screen up to
 * date with the grid, each in its own way.
 */
#ifndef HARDWAY_SCREEN_TEXT_H
#define HARDWAY_SCREEN_TEXT_H

#include "utf8.h"
#include <stddef.h>
#include <stdint.h>

#define SCREEN_TEXT_TAB_WIDTH 8

struct screen_text {
    uint16_t *cells;            // `rows` lines of `columns` cells, line after line
    uint32_t columns, rows;
    // Where the next character goes. column == columns means "past the last
    // column": the line wraps when the next character comes, not before, so
    // a line that exactly fills the width followed by '\n' leaves no empty line.
    uint32_t row, column;
    uint16_t blank;             // the cell a space makes, for clearing
    uint16_t (*cell_for)(uint32_t code_point);  // a printable character's cell
    struct utf8_decoder decoder;
};

// Fills every cell with `blank` and puts the cursor in the top left corner.
void screen_text_clear(struct screen_text *text);

// Puts UTF-8 text into the grid at the cursor, wrapping and scrolling.
void screen_text_write(struct screen_text *text, const char *bytes, size_t length);

// The cursor's cell as an index into `cells`: on the last column while a
// wrap is pending.
size_t screen_text_cursor_index(const struct screen_text *text);

#endif
