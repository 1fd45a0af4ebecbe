/*
 * UTF-8 decoding, a byte at a time (the contract is in kernel/utf8.h).
 *
 * A lead byte says how many continuation bytes follow (10xxxxxx each); the
 * decoder gathers their six-bit pieces and checks the result when the last
 * one arrives. The lead bytes C0, C1 and F5..FF can only start overlong or
 * out-of-range forms, so they are refused at once.
 */
#include "utf8.h"
#include <stdbool.h>

static size_t utf8_start(struct utf8_decoder *decoder, uint8_t byte, uint32_t *output)
{
    if (byte < 0x80) {
        *output = byte;
        return 1;
    }
    if (byte >= 0xC2 && byte <= 0xDF) {
        decoder->code_point = byte & 0x1F;
        decoder->minimum = 0x80;
        decoder->remaining = 1;
    } else if (byte >= 0xE0 && byte <= 0xEF) {
        decoder->code_point = byte & 0x0F;
        decoder->minimum = 0x800;
        decoder->remaining = 2;
    } else if (byte >= 0xF0 && byte <= 0xF4) {
        decoder->code_point = byte & 0x07;
        decoder->minimum = 0x10000;
        decoder->remaining = 3;
    } else {
        // A stray continuation byte or a lead byte no valid text contains.
        *output = UTF8_REPLACEMENT_CHARACTER;
        return 1;
    }
    return 0;
}

size_t utf8_decode_byte(struct utf8_decoder *decoder, uint8_t byte, uint32_t output[2])
{
    if (decoder->remaining == 0)
        return utf8_start(decoder, byte, output);

    if ((byte & 0xC0) != 0x80) {
        // The sequence was cut short. Report that, then read this byte
        // afresh: it may be an ordinary character or the next lead byte,
        // and dropping it would lose text that is itself fine.
        decoder->remaining = 0;
        output[0] = UTF8_REPLACEMENT_CHARACTER;
        return 1 + utf8_start(decoder, byte, output + 1);
    }

    decoder->code_point = (decoder->code_point << 6) | (byte & 0x3F);
    if (--decoder->remaining > 0)
        return 0;
    uint32_t code_point = decoder->code_point;
    bool overlong = code_point < decoder->minimum;
    bool surrogate = code_point >= 0xD800 && code_point <= 0xDFFF;
    output[0] = (overlong || surrogate || code_point > 0x10FFFF) ? UTF8_REPLACEMENT_CHARACTER : code_point;
    return 1;
}
