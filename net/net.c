/*
 * net.c: starting lwIP for the net API, and the API's error sentences
 * (net.h).
 *
 * lwIP's thread is a goroutine (net/lwip/sys_arch.c), started by
 * tcpip_init, which returns before the thread has set the stack up: the
 * thread calls us back when it is ready, and until then nothing may call
 * into lwIP -- the core lock does not even exist yet. net_init waits for that
 * callback under a sync.Once, so that every caller, the kernel's boot step
 * and the first net_listen or net_dial alike, returns only once lwIP runs.
 */
#include "net.h"
#include "chan.h"
#include "lwip/tcpip.h"
#include "sync.h"

static struct once net_init_once;

// lwIP's thread calls this once the stack is ready.
static void net_lwip_ready(void *ready)
{
    // Capacity 1 and one send: never blocks lwIP's thread.
    chan_send(ready, NULL);
}

static void net_start_lwip(void *unused)
{
    (void)unused;
    struct chan *ready = chan_make(0, 1);
    tcpip_init(net_lwip_ready, ready);
    chan_receive(ready, NULL);
    chan_free(ready);
}

void net_init(void)
{
    once_do(&net_init_once, net_start_lwip, NULL);
}

static const char *const net_error_strings[NET_ERROR_COUNT] = {
    [NET_OK] = "no error",
    [NET_ERROR_CLOSED] = "use of closed network connection",
    [NET_ERROR_EOF] = "EOF",
    [NET_ERROR_RESET] = "connection reset by peer",
    [NET_ERROR_ABORTED] = "connection aborted",
    [NET_ERROR_TIMEOUT] = "i/o timeout",
    [NET_ERROR_REFUSED] = "connection refused",
    [NET_ERROR_UNREACHABLE] = "no route to host",
    [NET_ERROR_ADDRESS_IN_USE] = "address already in use",
    [NET_ERROR_NO_MEMORY] = "out of memory",
    [NET_ERROR_INVALID] = "invalid argument",
    [NET_ERROR_INTERNAL] = "unexpected error from lwIP",
    [NET_ERROR_NO_SUCH_HOST] = "no such host",
};

const char *net_error_string(enum net_error error)
{
    if ((unsigned)error >= NET_ERROR_COUNT)
        return "unknown network error";
    return net_error_strings[error];
}
