/*
 * The framebuffer console: kernel messages on the screen of a UEFI boot.
 *
 * UEFI firmware leaves no text mode behind, only a linear framebuffer: rows
 * of pixels, `pitch` bytes apart, each pixel 2, 3 or 4 bytes with its red,
 * green and blue fields where the boot information says. GRUB passes this
 * framebuffer on in its multiboot2 tag, and kernel/screen.c chooses this
 * backend for it. Characters are drawn from the bitmap font linked into the
 * kernel (kernel/font.c, from mk/font.mk), light grey on black like the VGA
 * text console, with an underline as the cursor.
 *
 * Drawing works like a text-mode card does it in hardware. The text lives in
 * a grid of cells, each cell a glyph number, kept by kernel/screen_text.c
 * (wrap, scroll, control characters). A second grid records what the pixels
 * show now. After each write the two are compared and only the cells that
 * differ are drawn. So:
 *   - scrolling is a move of the small cell grid, not of megabytes of pixels,
 *     and redraws only cells whose character changed (blank cells stay);
 *   - a message with several lines, or one that scrolls several times, is
 *     drawn once, at the end of its write;
 *   - the framebuffer is only ever written, never read, which matters on real
 *     hardware where video memory is mapped uncached or write-combining and
 *     reads from it are very slow.
 * The cost is two grids of 16-bit cells in .bss; screens wider or taller
 * than FRAMEBUFFER_COLUMNS_MAX x FRAMEBUFFER_ROWS_MAX characters use that
 * many, from the top left.
 *
 * The framebuffer description comes from the boot loader and is checked
 * before anything is drawn (see framebuffer_check); a description that could
 * make us write outside the framebuffer is refused, and then this console is
 * not registered at all. console_write (kernel/console.c) calls
 * framebuffer_console_write with the console lock held.
 */
#include "screen.h"
#include "screen_text.h"
#include "console.h"
#include "font.h"
#include "physical.h"
#include "printk.h"
#include <stdio.h>
#include <string.h>

#define FRAMEBUFFER_COLUMNS_MAX     256
#define FRAMEBUFFER_ROWS_MAX        128
#define FRAMEBUFFER_DIMENSION_MAX   16384   // pixels, either way; 16K screens do not exist yet
#define FRAMEBUFFER_PITCH_MAX       (FRAMEBUFFER_DIMENSION_MAX * 4 * 2)
// Physical addresses have at most 52 bits on x86-64.
#define FRAMEBUFFER_PHYSICAL_LIMIT  (1ull << 52)

// The VGA's light grey and black, so both screen consoles look alike.
#define FRAMEBUFFER_FOREGROUND_INTENSITY  0xAA
#define FRAMEBUFFER_BACKGROUND_INTENSITY  0x00

// A cell is a glyph number (below FONT_GLYPHS_MAX, so 15 bits) plus this
// flag on the cell the cursor is on: the cursor is drawn as part of its
// cell, and moving it makes two cells differ, which redraws both.
#define FRAMEBUFFER_CELL_CURSOR     0x8000u

static struct font framebuffer_font;
static uint8_t *framebuffer_pixels;
static uint32_t framebuffer_pitch;
static uint32_t framebuffer_width, framebuffer_height;
static uint32_t framebuffer_bytes_per_pixel;
static uint32_t framebuffer_foreground, framebuffer_background;  // pixel values
static uint32_t framebuffer_cursor_height;                       // pixel rows of the underline

static struct screen_text framebuffer_text;
static uint16_t framebuffer_cells[FRAMEBUFFER_ROWS_MAX * FRAMEBUFFER_COLUMNS_MAX];  // what to show
static uint16_t framebuffer_shown[FRAMEBUFFER_ROWS_MAX * FRAMEBUFFER_COLUMNS_MAX];  // what is shown

static uint16_t framebuffer_cell_for(uint32_t code_point)
{
    return (uint16_t)font_glyph_index(&framebuffer_font, code_point);
}

// One colour channel of a pixel: an 8-bit intensity scaled to the field's
// width and moved to its position.
static uint32_t framebuffer_channel(uint32_t intensity, uint8_t position, uint8_t size)
{
    uint32_t value = size <= 8 ? intensity >> (8 - size) : intensity << (size - 8);
    return value << position;
}

static uint32_t framebuffer_colour(const struct framebuffer_info *framebuffer, uint32_t intensity)
{
    return framebuffer_channel(intensity, framebuffer->red_position, framebuffer->red_size) |
           framebuffer_channel(intensity, framebuffer->green_position, framebuffer->green_size) |
           framebuffer_channel(intensity, framebuffer->blue_position, framebuffer->blue_size);
}

static bool framebuffer_field_fits(uint8_t position, uint8_t size, uint32_t bits_per_pixel)
{
    return size > 0 && size <= 16 && (uint32_t)position + size <= bits_per_pixel;
}

// Refuses a description that is wrong or that we cannot draw on, with the
// reason in `error`. Everything later relies on what is checked here.
static bool framebuffer_check(const struct framebuffer_info *framebuffer, const struct font *font,
                              char *error, size_t error_size)
{
    uint32_t bits = framebuffer->bits_per_pixel;
    uint32_t bytes_per_pixel = (bits + 7) / 8;
    if (framebuffer->address == 0) {
        snprintf(error, error_size, "framebuffer address is 0");
        return false;
    }
    if (bits != 15 && bits != 16 && bits != 24 && bits != 32) {
        snprintf(error, error_size, "framebuffer has %u bits per pixel; only 15, 16, 24 and 32 are drawn", bits);
        return false;
    }
    if (framebuffer->width < font->glyph_width || framebuffer->height < font->glyph_height ||
        framebuffer->width > FRAMEBUFFER_DIMENSION_MAX || framebuffer->height > FRAMEBUFFER_DIMENSION_MAX) {
        snprintf(error, error_size, "framebuffer size %ux%u is not plausible",
                 framebuffer->width, framebuffer->height);
        return false;
    }
    if (framebuffer->pitch < framebuffer->width * bytes_per_pixel || framebuffer->pitch > FRAMEBUFFER_PITCH_MAX) {
        snprintf(error, error_size, "framebuffer pitch %u does not fit a width of %u pixels",
                 framebuffer->pitch, framebuffer->width);
        return false;
    }
    uint64_t size = (uint64_t)framebuffer->pitch * framebuffer->height;
    if (framebuffer->address >= FRAMEBUFFER_PHYSICAL_LIMIT || size > FRAMEBUFFER_PHYSICAL_LIMIT - framebuffer->address) {
        snprintf(error, error_size, "framebuffer at %#lx runs past the physical address space",
                 (unsigned long)framebuffer->address);
        return false;
    }
    if (!framebuffer_field_fits(framebuffer->red_position, framebuffer->red_size, bits) ||
        !framebuffer_field_fits(framebuffer->green_position, framebuffer->green_size, bits) ||
        !framebuffer_field_fits(framebuffer->blue_position, framebuffer->blue_size, bits)) {
        snprintf(error, error_size, "framebuffer colour fields do not fit in %u bits per pixel", bits);
        return false;
    }
    return true;
}

// A glyph row with every pixel lit, for the cursor's underline.
static const uint8_t framebuffer_solid_row[FONT_GLYPH_SIZE_MAX / 8] = { [0 ... FONT_GLYPH_SIZE_MAX / 8 - 1] = 0xFF };

static inline bool framebuffer_bit(const uint8_t *bits, uint32_t x)
{
    return bits[x / 8] & (0x80 >> (x % 8));  // leftmost pixel in the high bit
}

// Draws one cell's glyph (and the cursor, when the cell carries it) into
// the framebuffer, one row of pixels at a time. The pixel size is chosen
// outside the inner loops, which then are a plain store per pixel.
static void framebuffer_draw_cell(uint32_t row, uint32_t column, uint16_t cell)
{
    const struct font *font = &framebuffer_font;
    const uint8_t *bitmap = font_glyph_bitmap(font, cell & ~FRAMEBUFFER_CELL_CURSOR);
    uint32_t width = font->glyph_width;
    uint32_t cursor_from = (cell & FRAMEBUFFER_CELL_CURSOR)
        ? font->glyph_height - framebuffer_cursor_height : font->glyph_height;
    uint8_t *line = framebuffer_pixels + (size_t)row * font->glyph_height * framebuffer_pitch
                    + (size_t)column * width * framebuffer_bytes_per_pixel;
    uint32_t foreground = framebuffer_foreground, background = framebuffer_background;

    for (uint32_t y = 0; y < font->glyph_height; y++, line += framebuffer_pitch, bitmap += font->bytes_per_row) {
        const uint8_t *bits = y >= cursor_from ? framebuffer_solid_row : bitmap;
        switch (framebuffer_bytes_per_pixel) {
        case 4: {
            uint32_t *pixel = (uint32_t *)line;
            for (uint32_t x = 0; x < width; x++)
                pixel[x] = framebuffer_bit(bits, x) ? foreground : background;
            break;
        }
        case 3:
            // No 24-bit type: three byte stores, least significant first.
            for (uint32_t x = 0; x < width; x++) {
                uint32_t value = framebuffer_bit(bits, x) ? foreground : background;
                line[3 * x] = (uint8_t)value;
                line[3 * x + 1] = (uint8_t)(value >> 8);
                line[3 * x + 2] = (uint8_t)(value >> 16);
            }
            break;
        case 2: {
            uint16_t *pixel = (uint16_t *)line;
            for (uint32_t x = 0; x < width; x++)
                pixel[x] = (uint16_t)(framebuffer_bit(bits, x) ? foreground : background);
            break;
        }
        }
    }
}

// Draws the cells whose content, or cursor, changed since they were drawn.
static void framebuffer_flush(void)
{
    size_t cursor = screen_text_cursor_index(&framebuffer_text);
    uint32_t columns = framebuffer_text.columns;
    for (uint32_t row = 0; row < framebuffer_text.rows; row++) {
        for (uint32_t column = 0; column < columns; column++) {
            size_t index = (size_t)row * columns + column;
            uint16_t wanted = framebuffer_cells[index] | (index == cursor ? FRAMEBUFFER_CELL_CURSOR : 0);
            if (framebuffer_shown[index] != wanted) {
                framebuffer_draw_cell(row, column, wanted);
                framebuffer_shown[index] = wanted;
            }
        }
    }
}

// Paints every pixel with the background, margins included: the firmware or
// GRUB may have left a logo or a menu there. Done once, at init.
static void framebuffer_clear_pixels(void)
{
    uint8_t *line = framebuffer_pixels;
    uint32_t background = framebuffer_background;
    for (uint32_t y = 0; y < framebuffer_height; y++, line += framebuffer_pitch) {
        switch (framebuffer_bytes_per_pixel) {
        case 4:
            for (uint32_t x = 0; x < framebuffer_width; x++)
                ((uint32_t *)line)[x] = background;
            break;
        case 3:
            for (uint32_t x = 0; x < framebuffer_width; x++) {
                line[3 * x] = (uint8_t)background;
                line[3 * x + 1] = (uint8_t)(background >> 8);
                line[3 * x + 2] = (uint8_t)(background >> 16);
            }
            break;
        case 2:
            for (uint32_t x = 0; x < framebuffer_width; x++)
                ((uint16_t *)line)[x] = (uint16_t)background;
            break;
        }
    }
}

static void framebuffer_console_write(const char *text, size_t length)
{
    screen_text_write(&framebuffer_text, text, length);
    framebuffer_flush();
}

static struct console_backend framebuffer_console = { .name = "framebuffer", .write = framebuffer_console_write };

bool framebuffer_console_init(const struct framebuffer_info *framebuffer, char *error, size_t error_size)
{
    char font_error[80];
    size_t font_size = (size_t)(console_font_data_end - console_font_data);
    if (!font_parse(&framebuffer_font, console_font_data, font_size, font_error, sizeof font_error)) {
        snprintf(error, error_size, "console font: %s", font_error);
        return false;
    }
    if (!framebuffer_check(framebuffer, &framebuffer_font, error, error_size))
        return false;

    framebuffer_pixels = physical_to_virtual(framebuffer->address);
    framebuffer_pitch = framebuffer->pitch;
    framebuffer_width = framebuffer->width;
    framebuffer_height = framebuffer->height;
    framebuffer_bytes_per_pixel = (framebuffer->bits_per_pixel + 7u) / 8;
    framebuffer_foreground = framebuffer_colour(framebuffer, FRAMEBUFFER_FOREGROUND_INTENSITY);
    framebuffer_background = framebuffer_colour(framebuffer, FRAMEBUFFER_BACKGROUND_INTENSITY);
    framebuffer_cursor_height = framebuffer_font.glyph_height >= 8 ? framebuffer_font.glyph_height / 8 : 1;

    uint32_t columns = framebuffer->width / framebuffer_font.glyph_width;
    uint32_t rows = framebuffer->height / framebuffer_font.glyph_height;
    framebuffer_text = (struct screen_text){
        .cells = framebuffer_cells,
        .columns = columns < FRAMEBUFFER_COLUMNS_MAX ? columns : FRAMEBUFFER_COLUMNS_MAX,
        .rows = rows < FRAMEBUFFER_ROWS_MAX ? rows : FRAMEBUFFER_ROWS_MAX,
        .blank = framebuffer_cell_for(' '),
        .cell_for = framebuffer_cell_for,
        .decoder = UTF8_DECODER_INITIALIZER,
    };
    screen_text_clear(&framebuffer_text);
    // The cleared pixels show blank cells everywhere: record that, so the
    // first flush draws only the text and the cursor.
    framebuffer_clear_pixels();
    memcpy(framebuffer_shown, framebuffer_cells, sizeof framebuffer_shown);
    framebuffer_flush();

    console_register(&framebuffer_console);
    log_info("screen: framebuffer %ux%u, %u bits per pixel, at %#lx: %ux%u characters of %ux%u pixels\n",
             framebuffer->width, framebuffer->height, framebuffer->bits_per_pixel,
             (unsigned long)framebuffer->address, framebuffer_text.columns, framebuffer_text.rows,
             framebuffer_font.glyph_width, framebuffer_font.glyph_height);
    return true;
}
