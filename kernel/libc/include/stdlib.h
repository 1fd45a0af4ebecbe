/* The little of stdlib.h the kernel has (kernel/libc/stdlib.c): lwIP's
 * netif_find reads an interface number with atoi. Memory comes from the
 * runtime's allocator (runtime/malloc.h), not from malloc here. */
#ifndef HARDWAY_STDLIB_H
#define HARDWAY_STDLIB_H

// The decimal integer at the start of `text`, after spaces and a sign;
// 0 when there is none. Overflow is not detected (as C allows).
int atoi(const char *text);

#endif
