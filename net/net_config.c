/*
 * net_config.c: the ip= option's parser and printer (net_config.h).
 *
 * The value is a comma-separated list: first `dhcp` or ADDR/PREFIX, then,
 * for a static address only, `gw=` once and `dns=` up to twice. Everything
 * a person could get wrong gets its own message: an octet over 255, a
 * missing prefix, a gateway outside the subnet, the subnet's own network
 * or broadcast address used as the interface's, a repeated gw=.
 */
#include "net_config.h"
#include <stdio.h>
#include <string.h>

uint32_t net_config_netmask(uint8_t prefix_length)
{
    return prefix_length == 0 ? 0 : ~(uint32_t)0 << (32 - prefix_length);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

// A decimal number of 1 to `max_digits` digits, at most `maximum`.
static bool parse_number(const char *text, size_t length, unsigned max_digits, uint32_t maximum, uint32_t *value)
{
    if (length == 0 || length > max_digits)
        return false;
    uint32_t number = 0;
    for (size_t i = 0; i < length; i++) {
        if (!is_digit(text[i]))
            return false;
        number = number * 10 + (uint32_t)(text[i] - '0');
    }
    if (number > maximum)
        return false;
    *value = number;
    return true;
}

// A dotted quad, exactly four decimal octets.
static bool parse_address(const char *text, size_t length, uint32_t *address)
{
    uint32_t value = 0;
    size_t start = 0;
    for (int octet = 0; octet < 4; octet++) {
        size_t end = start;
        while (end < length && text[end] != '.')
            end++;
        if ((octet < 3) != (end < length))
            return false;   // too few or too many dots
        uint32_t number;
        if (!parse_number(text + start, end - start, 3, 255, &number))
            return false;
        value = value << 8 | number;
        start = end + 1;
    }
    *address = value;
    return true;
}

static void format_address(uint32_t address, char *buffer, size_t size)
{
    snprintf(buffer, size, "%u.%u.%u.%u", (unsigned)(address >> 24), (unsigned)(address >> 16 & 0xff),
             (unsigned)(address >> 8 & 0xff), (unsigned)(address & 0xff));
}

static bool starts_with(const char *text, size_t length, const char *prefix)
{
    size_t prefix_length = strlen(prefix);
    return length >= prefix_length && memcmp(text, prefix, prefix_length) == 0;
}

static bool equals(const char *text, size_t length, const char *word)
{
    return length == strlen(word) && memcmp(text, word, length) == 0;
}

// ADDR/PREFIX, the first field of a static configuration.
static bool parse_interface(const char *text, size_t length, struct net_config *config, char *error, size_t size)
{
    const char *slash = memchr(text, '/', length);
    if (slash == NULL) {
        snprintf(error, size, "\"%.*s\" needs a prefix length: ADDR/PREFIX, as in 10.0.2.15/24", (int)length, text);
        return false;
    }
    size_t address_length = (size_t)(slash - text);
    if (!parse_address(text, address_length, &config->address)) {
        snprintf(error, size, "\"%.*s\" is not an IPv4 address (four numbers 0..255 joined by dots)",
                 (int)address_length, text);
        return false;
    }
    uint32_t prefix;
    const char *prefix_text = slash + 1;
    size_t prefix_length = length - address_length - 1;
    if (!parse_number(prefix_text, prefix_length, 2, 32, &prefix) || prefix == 0) {
        snprintf(error, size, "prefix length \"%.*s\" is not a number 1..32", (int)prefix_length, prefix_text);
        return false;
    }
    config->prefix_length = (uint8_t)prefix;
    uint32_t netmask = net_config_netmask(config->prefix_length);
    uint32_t host = config->address & ~netmask;
    if (config->address == 0 || (prefix <= 30 && (host == 0 || host == ~netmask))) {
        char shown[16];
        format_address(config->address, shown, sizeof shown);
        snprintf(error, size, "%s/%u is the subnet's %s address, not one an interface can have", shown,
                 (unsigned)prefix, host == 0 ? "network" : "broadcast");
        return false;
    }
    return true;
}

bool net_config_parse(const char *text, size_t length, struct net_config *config, char *error, size_t error_size)
{
    struct net_config parsed = { 0 };
    bool gateway_seen = false;
    size_t start = 0;
    for (int field = 0; start <= length; field++) {
        size_t end = start;
        while (end < length && text[end] != ',')
            end++;
        const char *item = text + start;
        size_t item_length = end - start;
        if (item_length == 0) {
            snprintf(error, error_size, "an empty part (two commas, or one at an end)");
            return false;
        }
        if (field == 0) {
            if (equals(item, item_length, "dhcp"))
                parsed.dhcp = true;
            else if (!parse_interface(item, item_length, &parsed, error, error_size))
                return false;
        } else if (parsed.dhcp) {
            snprintf(error, error_size, "dhcp takes nothing after it (\"%.*s\"): the server gives the rest",
                     (int)item_length, item);
            return false;
        } else if (starts_with(item, item_length, "gw=")) {
            if (gateway_seen) {
                snprintf(error, error_size, "gw= is given twice");
                return false;
            }
            gateway_seen = true;
            if (!parse_address(item + 3, item_length - 3, &parsed.gateway)) {
                snprintf(error, error_size, "gateway \"%.*s\" is not an IPv4 address", (int)item_length - 3, item + 3);
                return false;
            }
            uint32_t netmask = net_config_netmask(parsed.prefix_length);
            if ((parsed.gateway & netmask) != (parsed.address & netmask) || parsed.gateway == parsed.address) {
                char gateway[16], address[16];
                format_address(parsed.gateway, gateway, sizeof gateway);
                format_address(parsed.address, address, sizeof address);
                snprintf(error, error_size, "gateway %s is not another host of %s/%u", gateway, address,
                         (unsigned)parsed.prefix_length);
                return false;
            }
        } else if (starts_with(item, item_length, "dns=")) {
            if (parsed.dns_count == NET_CONFIG_DNS_MAX) {
                snprintf(error, error_size, "at most %d dns= servers", NET_CONFIG_DNS_MAX);
                return false;
            }
            uint32_t server;
            if (!parse_address(item + 4, item_length - 4, &server) || server == 0) {
                snprintf(error, error_size, "DNS server \"%.*s\" is not an IPv4 address", (int)item_length - 4,
                         item + 4);
                return false;
            }
            parsed.dns[parsed.dns_count++] = server;
        } else {
            snprintf(error, error_size, "\"%.*s\" is not gw=ADDR or dns=ADDR", (int)item_length, item);
            return false;
        }
        start = end + 1;
    }
    *config = parsed;
    return true;
}

int net_config_format(const struct net_config *config, char *buffer, size_t size)
{
    if (config->dhcp)
        return snprintf(buffer, size, "dhcp");
    char address[16];
    format_address(config->address, address, sizeof address);
    int used = snprintf(buffer, size, "%s/%u", address, (unsigned)config->prefix_length);
    if (config->gateway && used >= 0 && (size_t)used < size) {
        format_address(config->gateway, address, sizeof address);
        used += snprintf(buffer + used, size - (size_t)used, ",gw=%s", address);
    }
    for (uint8_t i = 0; i < config->dns_count && used >= 0 && (size_t)used < size; i++) {
        format_address(config->dns[i], address, sizeof address);
        used += snprintf(buffer + used, size - (size_t)used, ",dns=%s", address);
    }
    return used;
}
