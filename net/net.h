/*
 * net.h: TCP for goroutines -- Go's net.Listen, Accept, Dial, Read, Write,
 * Close and deadlines, for C, on lwIP.
 *
 *     static void serve(void *argument)                // one per connection
 *     {
 *         struct net_conn *conn = argument;
 *         char buffer[4096];
 *         long n;
 *         enum net_error error;
 *         while ((n = net_read(conn, buffer, sizeof buffer, &error)) > 0)
 *             if (net_write(conn, buffer, (size_t)n, &error) != n)
 *                 break;
 *         net_close(conn);                              // error == NET_ERROR_EOF: the peer is done
 *     }
 *
 *     static void main_goroutine(void *unused)
 *     {
 *         struct net_address address;
 *         net_parse_address(":7", &address);            // any local address, port 7
 *         enum net_error error;
 *         struct net_listener *listener = net_listen(&address, 0, &error);
 *         struct net_conn *conn;
 *         while ((conn = net_accept(listener, &error)) != NULL)
 *             go(serve, conn);
 *     }
 *
 * Every call that waits -- accept, dial, read, write -- parks the calling
 * goroutine, never its M or CPU, until lwIP has something for it: Go's
 * netpoller semantics. How: net/net_tcp.c's opening comment, and
 * docs/network.md, "The net API".
 *
 * Errors are values (enum net_error), returned through an `error` pointer
 * that may be NULL. Addresses are IPv4 and a port, numbers in host order
 * (127.0.0.1 is 0x7f000001, as in net_config.h).
 *
 * Lifetime, the one rule C adds to Go's: net_close and net_listener_close
 * give the object back. The goroutine that closes must not use it again;
 * goroutines already inside a call on it (blocked in net_read, say) return
 * NET_ERROR_CLOSED, and its memory is freed when the last of them leaves.
 * A call that *starts* after the close has returned is a use after free.
 *
 * All of this must run on a goroutine (runtime.h), after net_init -- which
 * net_listen and net_dial call themselves.
 */
#ifndef HARDWAY_NET_H
#define HARDWAY_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- Errors (net/net.c) ------------------------------------------------------ */

enum net_error {
    NET_OK = 0,
    NET_ERROR_CLOSED,          // the connection or listener was closed by this side (Go's ErrClosed)
    NET_ERROR_EOF,             // the peer closed its sending side; every byte it sent has been read
    NET_ERROR_RESET,           // the peer reset the connection (RST)
    NET_ERROR_ABORTED,         // lwIP gave the connection up: retransmissions or keepalives went
                               // unanswered, or it was killed to free memory for a new one
    NET_ERROR_TIMEOUT,         // a deadline passed, or a dial's SYN was never answered
    NET_ERROR_REFUSED,         // a dial's SYN was answered with RST: nobody listens there
    NET_ERROR_UNREACHABLE,     // no route to the remote address
    NET_ERROR_ADDRESS_IN_USE,  // the local address is taken (or no local port is free)
    NET_ERROR_NO_MEMORY,       // lwIP or the heap ran out of memory
    NET_ERROR_INVALID,         // a bad argument
    NET_ERROR_INTERNAL,        // lwIP answered something this layer does not expect (a bug)
    NET_ERROR_NO_SUCH_HOST,    // a name DNS has no address for, or no DNS server answered (net/lookup.h)
    NET_ERROR_COUNT
};

// A sentence for `error`, in Go's words where Go has some ("use of closed
// network connection", "i/o timeout", "connection refused"...).
const char *net_error_string(enum net_error error);

/* --- Addresses (net/net_address.c) ------------------------------------------- */

struct net_address {
    uint32_t ip;      // most significant byte first: 127.0.0.1 is 0x7f000001; 0 is any
    uint16_t port;    // 0: any (net_listen picks a free one)
};

#define NET_IPV4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define NET_IPV4_ANY 0u
#define NET_IPV4_LOOPBACK NET_IPV4(127, 0, 0, 1)

// "255.255.255.255:65535" and its NUL.
#define NET_ADDRESS_STRING_SIZE 22

// Parses "A.B.C.D:PORT", or ":PORT" for any local address (Go's ":8080").
// Octets are decimal, 0-255, without leading zeros (Go rejects them too: is
// 010 eight or ten?); the port is 0-65535. False, and `address` untouched,
// for anything else: host names, IPv6, spaces, a missing port.
bool net_parse_address(const char *text, struct net_address *address);

// Writes "A.B.C.D:PORT" (what net_parse_address reads back). Returns what
// snprintf returns; NET_ADDRESS_STRING_SIZE bytes always suffice.
int net_format_address(const struct net_address *address, char *buffer, size_t size);

/* --- Starting (net/net.c) ------------------------------------------------------ */

// Starts lwIP -- its thread, a goroutine, with the loopback interface
// 127.0.0.1 -- and waits until it runs. The first call does it; every other
// call, concurrent ones included, returns once it is done. The kernel adds
// its NIC afterwards.
void net_init(void);

/* --- Listening (net/net_tcp.c) ------------------------------------------------- */

struct net_listener;
struct net_conn;

// Listens for TCP connections on `local` (NULL: any address, a free port).
// `backlog` (<= 0: 128) bounds the connections that have finished their
// handshake but not been accepted yet; one more is reset. NULL, with
// *error set (NET_ERROR_ADDRESS_IN_USE...), on failure. As in Go, a port
// whose old connections still wait in TIME-WAIT may be listened on again;
// one another listener holds, on the same address or an overlapping one
// (any address overlaps all), may not.
struct net_listener *net_listen(const struct net_address *local, int backlog, enum net_error *error);

// Waits for the next connection and returns it. NULL with NET_ERROR_CLOSED
// once the listener is closed (a blocked accept is woken), NET_ERROR_TIMEOUT
// when its deadline passes.
struct net_conn *net_accept(struct net_listener *listener, enum net_error *error);

// The address the listener is bound to, with the port it picked for port 0.
struct net_address net_listener_address(const struct net_listener *listener);

// The deadline for net_accept: an absolute nanotime(), 0 for none. Takes
// effect at once, for an accept already blocked too.
void net_listener_set_deadline(struct net_listener *listener, uint64_t deadline_ns);

// Stops listening, resets the connections nobody accepted, wakes blocked
// accepts (NET_ERROR_CLOSED) and gives the listener back (the lifetime
// rule above).
void net_listener_close(struct net_listener *listener);

// A TCP service (net/net_serve.c): listens on `port` of every local
// address, says "NAME: listening on port N" on the console, and hands each
// connection to handler(conn) on a goroutine of its own, which owns it
// (closes it). False, with *error set, when it cannot listen.
bool net_serve(const char *name, uint16_t port, void (*handler)(void *conn), enum net_error *error);

/* --- Connections (net/net_tcp.c) ------------------------------------------------ */

// Connects to `remote`, waiting at most `timeout_ns` (0: as long as lwIP
// keeps retrying its SYN). NET_ERROR_REFUSED when nobody listens there,
// NET_ERROR_UNREACHABLE without a route, NET_ERROR_TIMEOUT when time runs out.
struct net_conn *net_dial(const struct net_address *remote, uint64_t timeout_ns, enum net_error *error);

// Reads what has arrived, at most `size` bytes, waiting until something has:
// returns the count (> 0), or -1 with *error set -- NET_ERROR_EOF once the
// peer has closed and all its data has been read, NET_ERROR_RESET,
// NET_ERROR_TIMEOUT... Data that arrived before a reset is read first. A
// `size` of 0 returns 0 at once. Reading is what reopens the peer's window:
// a connection nobody reads stops its sender (flow control).
long net_read(struct net_conn *conn, void *buffer, size_t size, enum net_error *error);

// Writes all `size` bytes, waiting for room in lwIP's send buffer as the
// peer acknowledges: returns `size`, or, with *error set, the bytes handed
// to lwIP before the error (0 or more; Go's n, err). Concurrent writes are
// whole and in some order, never interleaved.
long net_write(struct net_conn *conn, const void *data, size_t size, enum net_error *error);

// Closes the sending side (a FIN after the data already written); reading
// goes on. Later writes fail with NET_ERROR_CLOSED. Go's CloseWrite.
enum net_error net_close_write(struct net_conn *conn);

// Closes the connection: a FIN after the data already written, or a reset
// if data arrived that nobody read (as Linux does). Never blocks. Wakes
// goroutines blocked on it (NET_ERROR_CLOSED) and gives the connection back
// (the lifetime rule above).
void net_close(struct net_conn *conn);

// Deadlines, as Go's: absolute nanotime() values, 0 for none. A read or
// write whose deadline has passed fails with NET_ERROR_TIMEOUT -- at once if
// it had passed before the call. Setting a deadline takes effect at once,
// for a call already blocked too (an earlier one wakes it, a later one lets
// it wait longer). After a timeout the connection is intact: set a new
// deadline and go on.
void net_set_read_deadline(struct net_conn *conn, uint64_t deadline_ns);
void net_set_write_deadline(struct net_conn *conn, uint64_t deadline_ns);
void net_set_deadline(struct net_conn *conn, uint64_t deadline_ns);   // both

struct net_address net_local_address(const struct net_conn *conn);
struct net_address net_remote_address(const struct net_conn *conn);

/* --- Statistics (net/net_tcp.c) -------------------------------------------------- */

struct net_statistics {
    uint64_t connections;      // struct net_conn alive: open, queued for accept, or closed with a call still inside
    uint64_t listeners;        // struct net_listener alive
    uint64_t waiting;          // goroutines parked in accept, dial, read or write
    uint64_t received_queued;  // bytes received and not read yet, all connections together
};

void net_read_statistics(struct net_statistics *statistics);

#endif
