/*
 * vsnprintf for the kernel: the printf family's conversions without floating
 * point (see kernel/libc/include/stdio.h for the list).
 *
 * The output goes through one small "sink" that counts every character and
 * stores only those that fit, so truncation needs no special cases and the
 * return value is the untruncated length, as C requires. Each conversion is
 * parsed into a `conversion` (flags, width, precision, length) and then
 * printed by one of two routines: one for integers, one for strings.
 *
 * The unit tests (tests/unit/test_format.c) hold this file against the
 * host's snprintf on the same formats.
 */
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>

struct sink {
    char *buffer;
    size_t size;      // room in buffer, including the terminating NUL
    size_t length;    // characters produced so far, stored or not
};

static void sink_put(struct sink *sink, char character)
{
    if (sink->length + 1 < sink->size)
        sink->buffer[sink->length] = character;
    sink->length++;
}

static void sink_repeat(struct sink *sink, char character, int count)
{
    while (count-- > 0)
        sink_put(sink, character);
}

enum length_modifier { LENGTH_INT, LENGTH_CHAR, LENGTH_SHORT, LENGTH_LONG, LENGTH_LONG_LONG, LENGTH_SIZE };

struct conversion {
    bool left_align;      // '-'
    bool zero_pad;        // '0'
    bool plus_sign;       // '+'
    bool space_sign;      // ' '
    bool alternate;       // '#': 0x prefix for hex, leading 0 for octal
    int width;            // -1 when absent
    int precision;        // -1 when absent
    enum length_modifier length;
};

static void print_string(struct sink *sink, const struct conversion *spec, const char *string)
{
    // As glibc: "(null)" when the precision leaves room for all of it,
    // nothing otherwise (rather than a confusing "(nu").
    if (string == NULL)
        string = spec->precision < 0 || spec->precision >= 6 ? "(null)" : "";
    int length = (int)(spec->precision >= 0 ? strnlen(string, (size_t)spec->precision) : strlen(string));
    int padding = spec->width > length ? spec->width - length : 0;
    if (!spec->left_align)
        sink_repeat(sink, ' ', padding);
    for (int i = 0; i < length; i++)
        sink_put(sink, string[i]);
    if (spec->left_align)
        sink_repeat(sink, ' ', padding);
}

// Prints `magnitude` in `base`, with the sign and prefix the conversion asks
// for, zero-extended to the precision and padded to the width.
static void print_integer(struct sink *sink, const struct conversion *spec, uintmax_t magnitude,
                          bool negative, unsigned base, bool uppercase)
{
    const char *digits = uppercase ? "0123456789ABCDEF" : "0123456789abcdef";
    char reversed[32];
    int count = 0;
    while (magnitude) {
        reversed[count++] = digits[magnitude % base];
        magnitude /= base;
    }
    // C prints "0" for a zero value, except with an explicit precision of 0.
    if (count == 0 && spec->precision != 0)
        reversed[count++] = '0';

    int zeros = spec->precision > count ? spec->precision - count : 0;
    const char *prefix = "";
    if (negative)
        prefix = "-";
    else if (spec->plus_sign)
        prefix = "+";
    else if (spec->space_sign)
        prefix = " ";
    else if (spec->alternate && base == 16 && count > 0 && !(count == 1 && reversed[0] == '0'))
        prefix = uppercase ? "0X" : "0x";
    // '#' with octal only guarantees a leading 0: none is added when the
    // precision's zeros already provide one.
    else if (spec->alternate && base == 8 && zeros == 0 && (count == 0 || reversed[count - 1] != '0'))
        prefix = "0";

    int prefix_length = (int)strlen(prefix);
    int total = prefix_length + zeros + count;
    int padding = spec->width > total ? spec->width - total : 0;
    // The '0' flag pads with zeros after the sign, unless a precision is given.
    if (spec->zero_pad && !spec->left_align && spec->precision < 0) {
        zeros += padding;
        padding = 0;
    }
    if (!spec->left_align)
        sink_repeat(sink, ' ', padding);
    for (int i = 0; i < prefix_length; i++)
        sink_put(sink, prefix[i]);
    sink_repeat(sink, '0', zeros);
    while (count)
        sink_put(sink, reversed[--count]);
    if (spec->left_align)
        sink_repeat(sink, ' ', padding);
}

static intmax_t take_signed(va_list *arguments, enum length_modifier length)
{
    switch (length) {
    case LENGTH_CHAR: return (signed char)va_arg(*arguments, int);
    case LENGTH_SHORT: return (short)va_arg(*arguments, int);
    case LENGTH_LONG: return va_arg(*arguments, long);
    case LENGTH_LONG_LONG: return va_arg(*arguments, long long);
    case LENGTH_SIZE: return va_arg(*arguments, ptrdiff_t);
    default: return va_arg(*arguments, int);
    }
}

static uintmax_t take_unsigned(va_list *arguments, enum length_modifier length)
{
    switch (length) {
    case LENGTH_CHAR: return (unsigned char)va_arg(*arguments, unsigned);
    case LENGTH_SHORT: return (unsigned short)va_arg(*arguments, unsigned);
    case LENGTH_LONG: return va_arg(*arguments, unsigned long);
    case LENGTH_LONG_LONG: return va_arg(*arguments, unsigned long long);
    case LENGTH_SIZE: return va_arg(*arguments, size_t);
    default: return va_arg(*arguments, unsigned);
    }
}

// Reads a width or precision: decimal digits, or '*' taken from the arguments.
static int parse_number(const char **format, va_list *arguments)
{
    if (**format == '*') {
        (*format)++;
        return va_arg(*arguments, int);
    }
    int number = 0;
    while (**format >= '0' && **format <= '9')
        number = number * 10 + (*(*format)++ - '0');
    return number;
}

int vsnprintf(char *buffer, size_t size, const char *format, va_list arguments_in)
{
    struct sink sink = { buffer, size, 0 };
    va_list arguments;
    va_copy(arguments, arguments_in);

    while (*format) {
        if (*format != '%') {
            sink_put(&sink, *format++);
            continue;
        }
        format++;
        struct conversion spec = { .width = -1, .precision = -1, .length = LENGTH_INT };
        for (;; format++) {
            if (*format == '-') spec.left_align = true;
            else if (*format == '0') spec.zero_pad = true;
            else if (*format == '+') spec.plus_sign = true;
            else if (*format == ' ') spec.space_sign = true;
            else if (*format == '#') spec.alternate = true;
            else break;
        }
        if (*format == '*' || (*format >= '0' && *format <= '9')) {
            spec.width = parse_number(&format, &arguments);
            if (spec.width < 0) {   // a negative '*' width means left-aligned
                spec.left_align = true;
                spec.width = -spec.width;
            }
        }
        if (*format == '.') {
            format++;
            spec.precision = parse_number(&format, &arguments);
            if (spec.precision < 0)
                spec.precision = -1;
        }
        if (format[0] == 'h' && format[1] == 'h') { spec.length = LENGTH_CHAR; format += 2; }
        else if (format[0] == 'h') { spec.length = LENGTH_SHORT; format++; }
        else if (format[0] == 'l' && format[1] == 'l') { spec.length = LENGTH_LONG_LONG; format += 2; }
        else if (format[0] == 'l' || format[0] == 'j') { spec.length = LENGTH_LONG; format++; }
        else if (format[0] == 'z' || format[0] == 't') { spec.length = LENGTH_SIZE; format++; }

        char conversion = *format;
        if (conversion == '\0')
            break;
        format++;
        // '+' and ' ' are for signed conversions only; C ignores them elsewhere.
        if (conversion != 'd' && conversion != 'i')
            spec.plus_sign = spec.space_sign = false;
        switch (conversion) {
        case 'd':
        case 'i': {
            intmax_t value = take_signed(&arguments, spec.length);
            uintmax_t magnitude = value < 0 ? (uintmax_t)0 - (uintmax_t)value : (uintmax_t)value;
            print_integer(&sink, &spec, magnitude, value < 0, 10, false);
            break;
        }
        case 'u': print_integer(&sink, &spec, take_unsigned(&arguments, spec.length), false, 10, false); break;
        case 'x': print_integer(&sink, &spec, take_unsigned(&arguments, spec.length), false, 16, false); break;
        case 'X': print_integer(&sink, &spec, take_unsigned(&arguments, spec.length), false, 16, true); break;
        case 'o': print_integer(&sink, &spec, take_unsigned(&arguments, spec.length), false, 8, false); break;
        case 'p': {
            // Pointers print as 0x followed by hex digits, as glibc does.
            spec.alternate = true;
            spec.plus_sign = spec.space_sign = false;
            uintptr_t pointer = (uintptr_t)va_arg(arguments, void *);
            if (pointer == 0) {
                spec.precision = -1;
                print_string(&sink, &spec, "(nil)");
            } else {
                print_integer(&sink, &spec, pointer, false, 16, false);
            }
            break;
        }
        case 's': print_string(&sink, &spec, va_arg(arguments, const char *)); break;
        case 'c': {
            char character[2] = { (char)va_arg(arguments, int), '\0' };
            spec.precision = -1;
            // %c of NUL still produces one character.
            if (character[0] == '\0') {
                int padding = spec.width > 1 ? spec.width - 1 : 0;
                if (!spec.left_align) sink_repeat(&sink, ' ', padding);
                sink_put(&sink, '\0');
                if (spec.left_align) sink_repeat(&sink, ' ', padding);
            } else {
                print_string(&sink, &spec, character);
            }
            break;
        }
        case '%': sink_put(&sink, '%'); break;
        default:
            // An unknown conversion is printed as it was written, so a wrong
            // format string is visible in the output rather than silently lost.
            sink_put(&sink, '%');
            sink_put(&sink, conversion);
            break;
        }
    }
    va_end(arguments);
    if (size > 0)
        buffer[sink.length < size ? sink.length : size - 1] = '\0';
    return (int)sink.length;
}

int snprintf(char *buffer, size_t size, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    int length = vsnprintf(buffer, size, format, arguments);
    va_end(arguments);
    return length;
}
