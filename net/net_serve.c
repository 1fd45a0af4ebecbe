/*
 * net_serve.c: what every TCP service writes (net.h's net_serve), written
 * once: listen, then one goroutine accepts and each connection is handed
 * to a goroutine of its own, as Go's servers do.
 */
#include "net.h"
#include "malloc.h"
#include "runtime.h"

struct net_server {
    struct net_listener *listener;
    goroutine_function handler;
};

static void net_serve_loop(void *argument)
{
    struct net_server server = *(struct net_server *)argument;
    runtime_free(argument);
    for (;;) {
        enum net_error error;
        struct net_conn *conn = net_accept(server.listener, &error);
        if (conn != NULL) {
            go(server.handler, conn);
        } else if (error == NET_ERROR_CLOSED) {
            return;
        } else {
            // Out of memory, say: a line on the console, and try again soon.
            runtime_printf("net: accept failed: %s\n", net_error_string(error));
            gosleep(10 * 1000 * 1000);
        }
    }
}

bool net_serve(const char *name, uint16_t port, goroutine_function handler, enum net_error *error)
{
    struct net_address local = { .ip = NET_IPV4_ANY, .port = port };
    struct net_listener *listener = net_listen(&local, 0, error);
    if (listener == NULL)
        return false;
    struct net_server *server = runtime_malloc(sizeof *server);
    if (server == NULL) {
        net_listener_close(listener);
        if (error)
            *error = NET_ERROR_NO_MEMORY;
        return false;
    }
    *server = (struct net_server){ listener, handler };
    go(net_serve_loop, server);
    runtime_printf("%s: listening on port %u\n", name, (unsigned)port);
    return true;
}
