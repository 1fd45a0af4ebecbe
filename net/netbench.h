/*
 * The guest's side of make bench-net (net/netbench.c), started by
 * netbench=PORT.
 */
#ifndef HARDWAY_NET_NETBENCH_H
#define HARDWAY_NET_NETBENCH_H

#include "net.h"
#include <stdbool.h>
#include <stdint.h>

// Listens on `port` of every local address and serves the benchmark's
// requests (netbench.c). False, with *error set, when it cannot listen.
bool netbench_start(uint16_t port, enum net_error *error);

#endif
