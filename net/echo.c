/*
 * echo.c: the TCP echo service (RFC 862) that `echo=PORT` starts.
 *
 * Everything a client sends comes back, byte for byte, until it closes its
 * side; then the service closes too. Users check their network with it,
 * the QEMU tests drive data through the whole path with it (host client
 * -> QEMU -> e1000 -> lwIP -> this goroutine -> back), and make bench-net
 * uses it too. net_serve gives each connection a goroutine that reads and
 * writes back, so a slow client holds up only itself.
 */
#include "echo.h"
#include "malloc.h"
#include "runtime.h"

// Bytes read and written back at a time: large enough for a TCP window.
#define ECHO_BUFFER_SIZE (64 * 1024)

static void echo_connection(void *argument)
{
    struct net_conn *conn = argument;
    char *buffer = runtime_malloc(ECHO_BUFFER_SIZE);
    if (buffer == NULL) {
        net_close(conn);
        return;
    }
    enum net_error error = NET_OK;
    long received;
    while ((received = net_read(conn, buffer, ECHO_BUFFER_SIZE, &error)) > 0)
        if (net_write(conn, buffer, (size_t)received, &error) != received)
            break;
    // The client closing its side is how a session ends; anything else is
    // worth a line (a user checking the network wants to know).
    if (error != NET_ERROR_EOF) {
        char peer[NET_ADDRESS_STRING_SIZE];
        struct net_address remote = net_remote_address(conn);
        net_format_address(&remote, peer, sizeof peer);
        runtime_printf("echo: connection from %s ended: %s\n", peer, net_error_string(error));
    }
    runtime_free(buffer);
    net_close(conn);
}

bool echo_start(uint16_t port, enum net_error *error)
{
    return net_serve("echo", port, echo_connection, error);
}
