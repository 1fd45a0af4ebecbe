/*
 * netbench.c: the guest's side of make bench-net (`netbench=PORT`).
 *
 * One TCP service that measures each direction on its own, so that the
 * benchmark (tools/bench-net) can time host -> guest and guest -> host
 * separately, which an echo cannot. A client sends one request and then:
 *
 *   'R' + 8-byte length (big-endian)  sends that many bytes, which the
 *                                     service reads and throws away; it
 *                                     answers one byte, 'K', at the end
 *                                     (so the client's clock stops when
 *                                     the guest has everything)
 *   'S' + 8-byte length               the service sends that many bytes,
 *                                     then closes
 *
 * Each connection runs on its own goroutine; anything else is a protocol
 * error, answered by closing the connection.
 */
#include "netbench.h"
#include "malloc.h"
#include "runtime.h"
#include <string.h>

#define NETBENCH_BUFFER_SIZE (64 * 1024)

// Reads exactly `size` bytes; false on EOF or an error first.
static bool netbench_read_full(struct net_conn *conn, void *buffer, size_t size)
{
    for (size_t done = 0; done < size;) {
        enum net_error error;
        long received = net_read(conn, (uint8_t *)buffer + done, size - done, &error);
        if (received <= 0)
            return false;
        done += (size_t)received;
    }
    return true;
}

static void netbench_connection(void *argument)
{
    struct net_conn *conn = argument;
    uint8_t request[9];
    uint8_t *buffer = runtime_malloc(NETBENCH_BUFFER_SIZE);
    if (buffer == NULL || !netbench_read_full(conn, request, sizeof request))
        goto done;
    uint64_t length = 0;
    for (int i = 1; i < 9; i++)
        length = length << 8 | request[i];
    enum net_error error;
    if (request[0] == 'R') {
        uint64_t left = length;
        while (left > 0) {
            long received = net_read(conn, buffer, left < NETBENCH_BUFFER_SIZE ? left : NETBENCH_BUFFER_SIZE, &error);
            if (received <= 0)
                goto done;
            left -= (uint64_t)received;
        }
        net_write(conn, "K", 1, &error);
    } else if (request[0] == 'S') {
        memset(buffer, 'x', NETBENCH_BUFFER_SIZE);
        for (uint64_t left = length; left > 0;) {
            size_t chunk = left < NETBENCH_BUFFER_SIZE ? (size_t)left : NETBENCH_BUFFER_SIZE;
            if (net_write(conn, buffer, chunk, &error) != (long)chunk)
                goto done;
            left -= chunk;
        }
    }
done:
    runtime_free(buffer);
    net_close(conn);
}

bool netbench_start(uint16_t port, enum net_error *error)
{
    return net_serve("netbench", port, netbench_connection, error);
}
