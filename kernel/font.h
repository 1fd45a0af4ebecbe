/*
 * Bitmap console fonts in the PC Screen Font format (PSF1 and PSF2), the
 * format of the Linux console's fonts (kernel/font.c has the details).
 *
 * The font the kernel draws with is not in the source tree: mk/font.mk takes
 * one of Debian's console fonts at build time and links its bytes in as
 * console_font_data. font_parse checks those bytes and builds the table from
 * Unicode code points to glyphs; the framebuffer console then asks for a
 * glyph per character. Nothing here touches hardware, so the same code can be
 * tested on the host.
 */
#ifndef HARDWAY_FONT_H
#define HARDWAY_FONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// The PSF file linked into the kernel by mk/font.mk: [data, data_end).
extern const uint8_t console_font_data[];
extern const uint8_t console_font_data_end[];

// Glyph indices fit in 15 bits: the tables below hold them in 16, with
// FONT_NO_GLYPH marking a code point the font does not draw, and the
// framebuffer console keeps a cursor flag in the 16th bit of its cells.
#define FONT_GLYPHS_MAX 0x8000u
#define FONT_NO_GLYPH 0xFFFFu
// Larger glyphs than any console font has; the limit keeps a corrupt header
// from describing glyphs that would not fit any screen.
#define FONT_GLYPH_SIZE_MAX 64
// Code points above Latin-1 that one font can map (Debian's 512-glyph fonts
// map about 600); more are dropped and drawn as the replacement glyph.
#define FONT_WIDE_MAPPINGS_MAX 2048

struct font {
    const uint8_t *glyphs;          // glyph_count bitmaps of bytes_per_glyph bytes
    uint32_t glyph_count;
    uint32_t glyph_width;           // pixels
    uint32_t glyph_height;          // pixels
    uint32_t bytes_per_row;         // each row is padded to whole bytes, leftmost pixel in bit 7
    uint32_t bytes_per_glyph;
    uint32_t replacement_glyph;     // drawn for code points the font lacks
    // Code point -> glyph. Latin-1 (below 256) is looked up directly, because
    // nearly everything the kernel prints is ASCII; the rest is a table
    // sorted by code point for binary search.
    uint16_t latin1_glyphs[256];
    uint32_t wide_code_points[FONT_WIDE_MAPPINGS_MAX];
    uint16_t wide_glyphs[FONT_WIDE_MAPPINGS_MAX];
    size_t wide_count;
};

// Checks the PSF1 or PSF2 file at [data, data + size) and fills `font`,
// which then points into `data` (keep it alive). Returns false, with a
// one-line reason in `error`, when the file is not a font we can draw with.
bool font_parse(struct font *font, const void *data, size_t size, char *error, size_t error_size);

// The glyph that draws `code_point`: the font's own, or its replacement glyph.
uint32_t font_glyph_index(const struct font *font, uint32_t code_point);

// The bitmap of glyph `index` (which must be below glyph_count).
static inline const uint8_t *font_glyph_bitmap(const struct font *font, uint32_t index)
{
    return font->glyphs + (size_t)index * font->bytes_per_glyph;
}

#endif
