/*
 * A UTF-8 decoder that is fed one byte at a time.
 *
 * Kernel text is UTF-8 (C string literals, command-line values), but it
 * reaches the screen consoles in pieces: each console write is one printk
 * message, and nothing stops a message from ending in the middle of a
 * character. So the decoder keeps its state between calls instead of wanting
 * a whole string. The consoles turn code points into glyphs (kernel/font.c)
 * or into the VGA's code page 437 (kernel/console_vga.c).
 *
 * Malformed input never stops the text: a byte that cannot start a
 * character, a sequence cut short, an overlong form, a surrogate or a value
 * past U+10FFFF each come out as U+FFFD, the replacement character, and
 * decoding goes on with the next byte.
 */
#ifndef HARDWAY_UTF8_H
#define HARDWAY_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT_CHARACTER 0xFFFDu

struct utf8_decoder {
    uint32_t code_point;    // the bits gathered so far
    uint32_t minimum;       // the smallest code point this length may encode
    uint8_t remaining;      // continuation bytes still expected
};

#define UTF8_DECODER_INITIALIZER { 0, 0, 0 }

// Feeds one byte. Writes the code points it completes into `output` and
// returns how many: 0 (inside a character), 1, or 2 (a broken sequence's
// U+FFFD followed by the character the interrupting byte began or was).
size_t utf8_decode_byte(struct utf8_decoder *decoder, uint8_t byte, uint32_t output[2]);

#endif
