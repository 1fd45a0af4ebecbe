/*
 * The kernel's string functions. Plain byte loops: simple to read and correct
 * for any alignment. The kernel copies little memory in bulk; when a profile
 * says otherwise, memcpy and memset are the places to use `rep movsb`.
 */
#include <string.h>
#include <stdint.h>

void *memcpy(void *restrict destination, const void *restrict source, size_t count)
{
    unsigned char *to = destination;
    const unsigned char *from = source;
    while (count--)
        *to++ = *from++;
    return destination;
}

void *memmove(void *destination, const void *source, size_t count)
{
    unsigned char *to = destination;
    const unsigned char *from = source;
    if (to == from || count == 0)
        return destination;
    if ((uintptr_t)to < (uintptr_t)from) {
        while (count--)
            *to++ = *from++;
    } else {
        // Overlap with the destination above the source: copy backwards so
        // that no byte is overwritten before it has been read.
        to += count;
        from += count;
        while (count--)
            *--to = *--from;
    }
    return destination;
}

void *memset(void *destination, int byte, size_t count)
{
    unsigned char *to = destination;
    while (count--)
        *to++ = (unsigned char)byte;
    return destination;
}

int memcmp(const void *left, const void *right, size_t count)
{
    const unsigned char *a = left, *b = right;
    for (; count; count--, a++, b++)
        if (*a != *b)
            return *a - *b;
    return 0;
}

size_t strlen(const char *string)
{
    size_t length = 0;
    while (string[length])
        length++;
    return length;
}

size_t strnlen(const char *string, size_t limit)
{
    size_t length = 0;
    while (length < limit && string[length])
        length++;
    return length;
}

int strcmp(const char *left, const char *right)
{
    while (*left && *left == *right)
        left++, right++;
    return (unsigned char)*left - (unsigned char)*right;
}

int strncmp(const char *left, const char *right, size_t limit)
{
    for (; limit; limit--, left++, right++) {
        if (*left != *right)
            return (unsigned char)*left - (unsigned char)*right;
        if (*left == '\0')
            return 0;
    }
    return 0;
}

char *strchr(const char *string, int character)
{
    for (;; string++) {
        if (*string == (char)character)
            return (char *)string;
        if (*string == '\0')
            return NULL;
    }
}

void *memchr(const void *memory, int byte, size_t count)
{
    const unsigned char *bytes = memory;
    for (size_t i = 0; i < count; i++)
        if (bytes[i] == (unsigned char)byte)
            return (void *)(bytes + i);
    return NULL;
}
