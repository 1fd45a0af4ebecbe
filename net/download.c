/*
 * download.c: `download=HOST:PORT` -- dial out, read everything, print a
 * checksum.
 *
 * A user checks the path out of the machine with it: a name resolved by
 * DNS, a connection through the gateway, a stream read to its end. The
 * QEMU tests serve a file from the host (reached as 10.0.2.2) and compare
 * the CRC-32 printed here with their own, and make the server refuse, or
 * vanish mid-stream, to see the errors reported rather than a hang:
 *
 *   download: 67108864 bytes from 10.0.2.2:8080 crc32 0x1c291ca3
 *   download: 10.0.2.2:8080 failed after 1048576 bytes: i/o timeout
 *   download: cannot resolve files.hardway.test: no such host
 */
#include "download.h"
#include "crc32.h"
#include "lookup.h"
#include "malloc.h"
#include "net.h"
#include "runtime.h"
#include <string.h>

#define DOWNLOAD_BUFFER_SIZE (64 * 1024)
// How long a dial may take (a server that never answers the SYN).
#define DOWNLOAD_DIAL_TIMEOUT_NS (30ull * 1000 * 1000 * 1000)
// How long the server may stay silent before the download gives up: a peer
// that vanishes -- a crash, a cable pulled -- sends no reset; silence is
// all there is to see.
#define DOWNLOAD_IDLE_TIMEOUT_NS (10ull * 1000 * 1000 * 1000)

// Splits "HOST:PORT" at its last colon and resolves HOST.
static bool download_resolve(const char *target, struct net_address *address)
{
    const char *colon = NULL;
    for (const char *at = target; *at; at++)
        if (*at == ':')
            colon = at;
    char host[256];
    size_t host_length = colon ? (size_t)(colon - target) : 0;
    unsigned port = 0;
    bool port_ok = colon && colon[1] != '\0';
    for (const char *digit = colon ? colon + 1 : ""; port_ok && *digit; digit++) {
        port_ok = *digit >= '0' && *digit <= '9' && port <= 6553;
        port = port * 10 + (unsigned)(*digit - '0');
    }
    if (!colon || host_length == 0 || host_length >= sizeof host || !port_ok || port == 0 || port > 65535) {
        runtime_printf("download: \"%s\" is not HOST:PORT\n", target);
        return false;
    }
    memcpy(host, target, host_length);
    host[host_length] = '\0';
    enum net_error error;
    if (!net_lookup_host(host, &address->ip, &error)) {
        runtime_printf("download: cannot resolve %s: %s\n", host, net_error_string(error));
        return false;
    }
    address->port = (uint16_t)port;
    return true;
}

static void download_run(void *argument)
{
    const char *target = argument;
    struct net_address address;
    if (!download_resolve(target, &address))
        return;
    char shown[NET_ADDRESS_STRING_SIZE];
    net_format_address(&address, shown, sizeof shown);
    enum net_error error;
    struct net_conn *conn = net_dial(&address, DOWNLOAD_DIAL_TIMEOUT_NS, &error);
    if (conn == NULL) {
        runtime_printf("download: %s failed after 0 bytes: %s\n", shown, net_error_string(error));
        return;
    }
    uint8_t *buffer = runtime_malloc(DOWNLOAD_BUFFER_SIZE);
    uint64_t total = 0;
    uint32_t crc = 0;
    while (buffer) {
        net_set_read_deadline(conn, nanotime() + DOWNLOAD_IDLE_TIMEOUT_NS);
        long received = net_read(conn, buffer, DOWNLOAD_BUFFER_SIZE, &error);
        if (received <= 0)
            break;
        crc = crc32_update(crc, buffer, (size_t)received);
        total += (uint64_t)received;
    }
    if (buffer == NULL)
        error = NET_ERROR_NO_MEMORY;
    runtime_free(buffer);
    net_close(conn);
    if (error == NET_ERROR_EOF)
        runtime_printf("download: %llu bytes from %s crc32 0x%08x\n", (unsigned long long)total, shown, crc);
    else
        runtime_printf("download: %s failed after %llu bytes: %s\n", shown, (unsigned long long)total,
                       net_error_string(error));
}

void download_start(const char *target)
{
    go(download_run, (void *)target);
}
