/*
 * The TCP echo service (net/echo.c), started by echo=PORT.
 */
#ifndef HARDWAY_NET_ECHO_H
#define HARDWAY_NET_ECHO_H

#include "net.h"
#include <stdbool.h>
#include <stdint.h>

// Listens on `port` of every local address and echoes each connection on
// its own goroutine. False, with *error set, when it cannot listen.
bool echo_start(uint16_t port, enum net_error *error);

#endif
