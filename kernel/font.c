/*
 * PC Screen Font (PSF) parsing: glyph bitmaps and the Unicode table.
 *
 * PSF is the Linux console's font format, and Debian ships its console fonts
 * in it (/usr/share/consolefonts, package console-setup-linux). It has two
 * versions, and Debian uses both: PSF1 for the 8-pixel-wide fonts, PSF2 for
 * the wider ones.
 *
 *   PSF1: a 4-byte header {0x36, 0x04, mode, height}. Glyphs are 8 pixels
 *         wide, one byte per row; 256 of them, or 512 when mode bit 0 is set.
 *         When mode bit 1 or 2 is set a Unicode table follows the glyphs:
 *         for each glyph, little-endian 16-bit code points, then 0xFFFF.
 *   PSF2: a 32-byte header (magic 72 B5 4A 86, version, header size, flags,
 *         glyph count, bytes per glyph, height, width); any width, each row
 *         padded to whole bytes. With flag bit 0 a Unicode table follows:
 *         for each glyph, its code points in UTF-8, then 0xFF.
 *
 * In both tables a marker (0xFFFE, or 0xFE) starts sequences of several code
 * points that one glyph draws (a letter with a combining accent). The kernel
 * draws one code point at a time and skips them.
 *
 * Why the Unicode table matters: a font's glyph order is its own, not ASCII's
 * (glyph 0 of Debian's Lat15 and Uni2 fonts is the copyright sign). A font
 * without a table is taken to be in PC code-page order, where at least ASCII
 * is in place, and only ASCII is mapped.
 *
 * The parser trusts nothing in the file: every count and offset is checked
 * against the file's size before it is used, so a truncated or foreign file
 * is refused with a reason instead of being read past its end.
 */
#include "font.h"
#include "utf8.h"
#include <stdio.h>

#define PSF1_HEADER_SIZE            4
#define PSF1_MAGIC_0                0x36
#define PSF1_MAGIC_1                0x04
#define PSF1_MODE_512_GLYPHS        0x01
#define PSF1_MODE_HAS_TABLE         0x02
#define PSF1_MODE_HAS_SEQUENCES     0x04
#define PSF1_TABLE_SEQUENCE_START   0xFFFE
#define PSF1_TABLE_GLYPH_END        0xFFFF

#define PSF2_HEADER_SIZE            32
#define PSF2_MAGIC                  0x864AB572u
#define PSF2_FLAG_HAS_TABLE         0x01
#define PSF2_TABLE_SEQUENCE_START   0xFE
#define PSF2_TABLE_GLYPH_END        0xFF

static bool font_fail(char *error, size_t error_size, const char *reason)
{
    snprintf(error, error_size, "%s", reason);
    return false;
}

static uint32_t font_read_32(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 | (uint32_t)bytes[3] << 24;
}

// Records that `glyph` draws `code_point`. When a font lists a code point
// twice, the first glyph wins, as in the Linux console.
static void font_map(struct font *font, uint32_t code_point, uint32_t glyph)
{
    if (code_point < 256) {
        if (font->latin1_glyphs[code_point] == FONT_NO_GLYPH)
            font->latin1_glyphs[code_point] = (uint16_t)glyph;
        return;
    }
    // Insertion into the sorted table: a font has at most a few thousand
    // mappings and this runs once at boot, so the quadratic cost is a few
    // milliseconds at worst, and it needs no memory beyond the table.
    size_t low = 0, high = font->wide_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (font->wide_code_points[middle] < code_point)
            low = middle + 1;
        else
            high = middle;
    }
    if (low < font->wide_count && font->wide_code_points[low] == code_point)
        return;
    if (font->wide_count == FONT_WIDE_MAPPINGS_MAX)
        return;     // documented in font.h: drawn as the replacement glyph
    for (size_t i = font->wide_count; i > low; i--) {
        font->wide_code_points[i] = font->wide_code_points[i - 1];
        font->wide_glyphs[i] = font->wide_glyphs[i - 1];
    }
    font->wide_code_points[low] = code_point;
    font->wide_glyphs[low] = (uint16_t)glyph;
    font->wide_count++;
}

static void font_read_psf1_table(struct font *font, const uint8_t *table, const uint8_t *end)
{
    uint32_t glyph = 0;
    bool in_sequence = false;
    for (const uint8_t *entry = table; entry + 2 <= end && glyph < font->glyph_count; entry += 2) {
        uint32_t value = (uint32_t)entry[0] | (uint32_t)entry[1] << 8;
        if (value == PSF1_TABLE_GLYPH_END) {
            glyph++;
            in_sequence = false;
        } else if (value == PSF1_TABLE_SEQUENCE_START) {
            in_sequence = true;
        } else if (!in_sequence) {
            font_map(font, value, glyph);
        }
    }
}

static void font_read_psf2_table(struct font *font, const uint8_t *table, const uint8_t *end)
{
    uint32_t glyph = 0;
    bool in_sequence = false;
    struct utf8_decoder decoder = UTF8_DECODER_INITIALIZER;
    for (const uint8_t *byte = table; byte < end && glyph < font->glyph_count; byte++) {
        if (*byte == PSF2_TABLE_GLYPH_END) {
            glyph++;
            in_sequence = false;
            decoder = (struct utf8_decoder)UTF8_DECODER_INITIALIZER;
        } else if (*byte == PSF2_TABLE_SEQUENCE_START) {
            in_sequence = true;
            decoder = (struct utf8_decoder)UTF8_DECODER_INITIALIZER;
        } else if (!in_sequence) {
            // The decoder answers malformed bytes with U+FFFD, which must not
            // become a mapping; a font that draws U+FFFD itself spells it out
            // as EF BF BD, and that is taken before the decoder sees it.
            if (decoder.remaining == 0 && end - byte >= 3 &&
                byte[0] == 0xEF && byte[1] == 0xBF && byte[2] == 0xBD) {
                font_map(font, UTF8_REPLACEMENT_CHARACTER, glyph);
                byte += 2;
                continue;
            }
            uint32_t code_points[2];
            size_t count = utf8_decode_byte(&decoder, *byte, code_points);
            for (size_t i = 0; i < count; i++)
                if (code_points[i] != UTF8_REPLACEMENT_CHARACTER)
                    font_map(font, code_points[i], glyph);
        }
    }
}

static uint32_t font_lookup(const struct font *font, uint32_t code_point)
{
    if (code_point < 256)
        return font->latin1_glyphs[code_point];
    size_t low = 0, high = font->wide_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (font->wide_code_points[middle] == code_point)
            return font->wide_glyphs[middle];
        if (font->wide_code_points[middle] < code_point)
            low = middle + 1;
        else
            high = middle;
    }
    return FONT_NO_GLYPH;
}

bool font_parse(struct font *font, const void *data, size_t size, char *error, size_t error_size)
{
    const uint8_t *bytes = data;
    const uint8_t *end = bytes + size;
    uint64_t header_size;
    bool has_table, table_is_utf8;

    if (size >= PSF1_HEADER_SIZE && bytes[0] == PSF1_MAGIC_0 && bytes[1] == PSF1_MAGIC_1) {
        uint8_t mode = bytes[2];
        header_size = PSF1_HEADER_SIZE;
        font->glyph_count = (mode & PSF1_MODE_512_GLYPHS) ? 512 : 256;
        font->glyph_width = 8;
        font->glyph_height = bytes[3];
        font->bytes_per_row = 1;
        font->bytes_per_glyph = font->glyph_height;
        has_table = mode & (PSF1_MODE_HAS_TABLE | PSF1_MODE_HAS_SEQUENCES);
        table_is_utf8 = false;
    } else if (size >= PSF2_HEADER_SIZE && font_read_32(bytes) == PSF2_MAGIC) {
        if (font_read_32(bytes + 4) != 0)
            return font_fail(error, error_size, "PSF2 font of an unknown version");
        header_size = font_read_32(bytes + 8);
        font->glyph_count = font_read_32(bytes + 16);
        font->bytes_per_glyph = font_read_32(bytes + 20);
        font->glyph_height = font_read_32(bytes + 24);
        font->glyph_width = font_read_32(bytes + 28);
        font->bytes_per_row = (font->glyph_width + 7) / 8;
        has_table = font_read_32(bytes + 12) & PSF2_FLAG_HAS_TABLE;
        table_is_utf8 = true;
        if (header_size < PSF2_HEADER_SIZE)
            return font_fail(error, error_size, "PSF2 header shorter than 32 bytes");
        if (font->glyph_count == 0 || font->glyph_count > FONT_GLYPHS_MAX)
            return font_fail(error, error_size, "PSF2 glyph count is 0 or above 32768");
    } else {
        return font_fail(error, error_size, "not a PSF1 or PSF2 font (bad magic)");
    }

    if (font->glyph_width == 0 || font->glyph_width > FONT_GLYPH_SIZE_MAX ||
        font->glyph_height == 0 || font->glyph_height > FONT_GLYPH_SIZE_MAX)
        return font_fail(error, error_size, "glyph size is 0 or above 64 pixels");
    if (font->bytes_per_glyph != font->bytes_per_row * font->glyph_height)
        return font_fail(error, error_size, "bytes per glyph do not match the glyph size");
    // 64-bit sums: header fields are 32 bits each and cannot overflow them.
    uint64_t glyphs_end = header_size + (uint64_t)font->glyph_count * font->bytes_per_glyph;
    if (glyphs_end > size)
        return font_fail(error, error_size, "font file is shorter than its glyphs");
    font->glyphs = bytes + header_size;

    for (uint32_t i = 0; i < 256; i++)
        font->latin1_glyphs[i] = FONT_NO_GLYPH;
    font->wide_count = 0;
    if (!has_table) {
        for (uint32_t i = 0; i < 128 && i < font->glyph_count; i++)
            font->latin1_glyphs[i] = (uint16_t)i;
    } else if (table_is_utf8) {
        font_read_psf2_table(font, bytes + glyphs_end, end);
    } else {
        font_read_psf1_table(font, bytes + glyphs_end, end);
    }

    // The glyph for characters the font lacks: its own replacement
    // character when it has one, else a question mark, else whatever glyph
    // 0 is (still better than dropping the character and shifting the line).
    uint32_t replacement = font_lookup(font, UTF8_REPLACEMENT_CHARACTER);
    if (replacement == FONT_NO_GLYPH)
        replacement = font_lookup(font, '?');
    font->replacement_glyph = replacement == FONT_NO_GLYPH ? 0 : replacement;
    return true;
}

uint32_t font_glyph_index(const struct font *font, uint32_t code_point)
{
    uint32_t glyph = font_lookup(font, code_point);
    return glyph == FONT_NO_GLYPH ? font->replacement_glyph : glyph;
}
