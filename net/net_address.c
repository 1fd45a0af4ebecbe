/*
 * net_address.c: "A.B.C.D:PORT" to struct net_address and back (net.h).
 *
 * The forms Go's net.Listen and net.Dial take for TCP over IPv4 literals:
 * a dotted quad and a port, or an empty host for "any local address"
 * (":8080"). No name resolution here: a host name is DNS's business, and
 * DNS lives on top of this layer. Written with nothing but string
 * handling, so that the kernel's small libc is enough.
 */
#include "net.h"
#include <stdio.h>

static bool net_address_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

// A decimal number at text[*position]: 1 to `max_digits` digits, at most
// `maximum`; advances *position past it.
static bool net_address_parse_number(const char *text, size_t *position, unsigned max_digits, uint32_t maximum,
                                     bool allow_leading_zero, uint32_t *value)
{
    size_t start = *position;
    size_t end = start;
    uint32_t number = 0;
    while (net_address_is_digit(text[end])) {
        if (end - start == max_digits)
            return false;
        number = number * 10 + (uint32_t)(text[end] - '0');
        end++;
    }
    if (end == start || number > maximum)
        return false;
    if (!allow_leading_zero && text[start] == '0' && end - start > 1)
        return false;
    *position = end;
    *value = number;
    return true;
}

bool net_parse_address(const char *text, struct net_address *address)
{
    if (text == NULL || address == NULL)
        return false;
    size_t position = 0;
    uint32_t ip = 0;
    if (text[0] != ':') {
        for (int octet = 0; octet < 4; octet++) {
            uint32_t value;
            if (!net_address_parse_number(text, &position, 3, 255, false, &value))
                return false;
            ip = ip << 8 | value;
            if (octet < 3 && text[position++] != '.')
                return false;
        }
    }
    if (text[position++] != ':')
        return false;
    uint32_t port;
    if (!net_address_parse_number(text, &position, 5, 65535, true, &port) || text[position] != '\0')
        return false;
    address->ip = ip;
    address->port = (uint16_t)port;
    return true;
}

int net_format_address(const struct net_address *address, char *buffer, size_t size)
{
    return snprintf(buffer, size, "%u.%u.%u.%u:%u", (unsigned)(address->ip >> 24), (unsigned)(address->ip >> 16 & 0xff),
                    (unsigned)(address->ip >> 8 & 0xff), (unsigned)(address->ip & 0xff), (unsigned)address->port);
}
