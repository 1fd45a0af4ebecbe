/* kernel/libc/stdlib.c: the kernel's stdlib.h functions. */
#include <stdbool.h>
#include <stdlib.h>

int atoi(const char *text)
{
    while (*text == ' ' || (*text >= '\t' && *text <= '\r'))
        text++;
    bool negative = *text == '-';
    if (*text == '-' || *text == '+')
        text++;
    unsigned value = 0;
    for (; *text >= '0' && *text <= '9'; text++)
        value = value * 10 + (unsigned)(*text - '0');
    return negative ? -(int)value : (int)value;
}
