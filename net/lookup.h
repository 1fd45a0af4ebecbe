/*
 * Host names to addresses through DNS (net/lookup.c): Go's
 * net.LookupHost, IPv4 only, on lwIP's resolver.
 */
#ifndef HARDWAY_NET_LOOKUP_H
#define HARDWAY_NET_LOOKUP_H

#include "net.h"
#include <stdbool.h>
#include <stdint.h>

// The IPv4 address of `name` (a dotted quad is taken as it is): asks the
// DNS servers that DHCP or ip=...,dns= gave, parking the goroutine until
// the answer or lwIP's own retries run out. False with *error set:
// NET_ERROR_NO_SUCH_HOST when the name has no address or no server
// answered, NET_ERROR_INVALID for a name too long or empty.
bool net_lookup_host(const char *name, uint32_t *ip, enum net_error *error);

#endif
