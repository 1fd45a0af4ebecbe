/*
 * How the image's network interface gets its address: the `ip=` option.
 *
 *   ip=dhcp                                  ask a DHCP server (the default)
 *   ip=ADDR/PREFIX[,gw=GATEWAY][,dns=SERVER][,dns=SERVER]
 *                                            a static address, e.g.
 *                                            ip=10.0.2.15/24,gw=10.0.2.2,dns=10.0.2.3
 *
 * A parser and a printer with no dependency on lwIP or the kernel, so that
 * the command line (kernel/cmdline.c) and its unit test share them. The
 * network glue turns the result into lwIP's netif configuration.
 */
#ifndef HARDWAY_NET_CONFIG_H
#define HARDWAY_NET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_CONFIG_DNS_MAX 2

// IPv4 addresses as numbers, most significant byte first: 10.0.2.15 is
// 0x0a00020f.
struct net_config {
    bool dhcp;                               // true: everything below is unset
    uint32_t address;
    uint8_t prefix_length;                   // 0..32: the netmask's one bits
    uint32_t gateway;                        // 0: none
    uint32_t dns[NET_CONFIG_DNS_MAX];        // 0: none
    uint8_t dns_count;
};

// Parses the value of ip= (`text`, `length` bytes, not NUL-terminated).
// False, with a sentence in `error` naming what is wrong, when it is not one
// of the forms above; `config` is then left alone.
bool net_config_parse(const char *text, size_t length, struct net_config *config, char *error, size_t error_size);

// Writes `config` as ip= would take it back ("dhcp", or the static form
// with only the parts that are set). Returns what snprintf returns.
int net_config_format(const struct net_config *config, char *buffer, size_t size);

// The netmask of a prefix length: 24 gives 0xffffff00.
uint32_t net_config_netmask(uint8_t prefix_length);

#endif
