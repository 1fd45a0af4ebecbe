/* Formatted output into a buffer, written for the kernel (kernel/libc/format.c).
 * Conversions: %d %i %u %x %X %o %p %s %c %%, with flags '-' '0' '+' ' ' '#',
 * a width and a precision (digits or '*'), and length modifiers hh h l ll z t j.
 * No floating point: the kernel is built without SSE. Like C's snprintf, the
 * result is always NUL-terminated when size > 0, and the return value is the
 * length the whole output would have had. */
#ifndef HARDWAY_STDIO_H
#define HARDWAY_STDIO_H

#include <stdarg.h>
#include <stddef.h>

int vsnprintf(char *buffer, size_t size, const char *format, va_list arguments);
int snprintf(char *buffer, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif
