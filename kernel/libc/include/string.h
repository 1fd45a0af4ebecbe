/* The string functions the kernel uses, written for it (kernel/libc/string.c).
 * The compiler may also emit calls to memcpy, memmove, memset and memcmp on its
 * own, for struct copies and large initialisers, so these four must exist. */
#ifndef HARDWAY_STRING_H
#define HARDWAY_STRING_H

#include <stddef.h>

void *memcpy(void *restrict destination, const void *restrict source, size_t count);
void *memmove(void *destination, const void *source, size_t count);
void *memset(void *destination, int byte, size_t count);
int memcmp(const void *left, const void *right, size_t count);
void *memchr(const void *memory, int byte, size_t count);
size_t strlen(const char *string);
size_t strnlen(const char *string, size_t limit);
int strcmp(const char *left, const char *right);
int strncmp(const char *left, const char *right, size_t limit);
char *strchr(const char *string, int character);

#endif
