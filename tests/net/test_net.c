/*
 * The net API (net/net.h), hosted: goroutines talking TCP to each other
 * through lwIP over its loopback interface, 127.0.0.1.
 *
 * What a user of net.h relies on, one behaviour per test: bytes echoed
 * intact (1 byte, 64 KiB, 16 MiB, and 100 connections at once), each
 * error where it belongs (refused, unreachable, address in use, EOF after
 * all data, reset by an aborting peer, closed under a blocked read,
 * timeouts), deadlines that wake blocked calls and leave the connection
 * usable, flow control that stops a writer instead of growing memory, and
 * no memory left behind after many connections. Address parsing is tested
 * on its own.
 *
 * Nothing here asserts on time. A test that must know a goroutine is
 * blocked waits until net_read_statistics counts it as parked; a deadline
 * test checks that the error is NET_ERROR_TIMEOUT, not when it came.
 *
 * Each test runs a whole runtime in a process of its own (Check forks),
 * with 1 P and with 2 where scheduling could matter.
 */
#include "net.h"
#include "chan.h"
#include "lwip/opt.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"
#include "malloc.h"
#include "runtime.h"
#include "sync.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

#define MILLISECOND 1000000ull

static int run(goroutine_function main_function, int procs)
{
    struct runtime_config config = { .procs = procs };
    return runtime_run(main_function, NULL, &config);
}

/* --- Helpers -------------------------------------------------------------------------- */

// Byte `index` of stream `seed`: a hash, so that a byte lost, doubled or
// moved anywhere in 16 MiB changes what is compared.
static uint8_t pattern_byte(uint32_t seed, uint64_t index)
{
    uint32_t x = (uint32_t)index * 2654435761u ^ (uint32_t)(index >> 32) ^ (seed + 1) * 0x9E3779B9u;
    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    x *= 3266489917u;
    x ^= x >> 16;
    return (uint8_t)x;
}

static void pattern_fill(uint8_t *buffer, size_t size, uint32_t seed, uint64_t offset)
{
    for (size_t i = 0; i < size; i++)
        buffer[i] = pattern_byte(seed, offset + i);
}

static struct net_address loopback(uint16_t port)
{
    return (struct net_address){ .ip = NET_IPV4_LOOPBACK, .port = port };
}

static struct net_listener *listen_on_loopback(int backlog)
{
    struct net_address any_port = loopback(0);
    enum net_error error = NET_ERROR_INTERNAL;
    struct net_listener *listener = net_listen(&any_port, backlog, &error);
    ck_assert_msg(listener != NULL, "listen: %s", net_error_string(error));
    ck_assert_int_eq(error, NET_OK);
    ck_assert_uint_ne(net_listener_address(listener).port, 0);
    return listener;
}

static struct net_conn *dial_listener(struct net_listener *listener)
{
    struct net_address address = loopback(net_listener_address(listener).port);
    enum net_error error = NET_ERROR_INTERNAL;
    struct net_conn *conn = net_dial(&address, 0, &error);
    ck_assert_msg(conn != NULL, "dial: %s", net_error_string(error));
    ck_assert_int_eq(error, NET_OK);
    return conn;
}

static struct net_conn *accept_one(struct net_listener *listener)
{
    enum net_error error = NET_ERROR_INTERNAL;
    struct net_conn *conn = net_accept(listener, &error);
    ck_assert_msg(conn != NULL, "accept: %s", net_error_string(error));
    ck_assert_int_eq(error, NET_OK);
    return conn;
}

// Reads exactly `size` bytes of stream `seed` from `offset` on, checking each.
static void read_pattern(struct net_conn *conn, size_t size, uint32_t seed, uint64_t offset)
{
    uint8_t *buffer = malloc(65536);
    ck_assert_ptr_nonnull(buffer);
    size_t done = 0;
    while (done < size) {
        size_t want = size - done < 65536 ? size - done : 65536;
        enum net_error error = NET_ERROR_INTERNAL;
        long n = net_read(conn, buffer, want, &error);
        ck_assert_msg(n > 0, "read after %zu of %zu bytes: %s", done, size, net_error_string(error));
        ck_assert_uint_le((size_t)n, want);
        for (long i = 0; i < n; i++)
            if (buffer[i] != pattern_byte(seed, offset + done + (size_t)i))
                ck_abort_msg("byte %zu of stream %u differs", (size_t)(offset + done + (size_t)i), seed);
        done += (size_t)n;
    }
    free(buffer);
}

// Writes `size` bytes of stream `seed` from `offset` on, in pieces of
// `piece` bytes; returns what the last net_write said.
static enum net_error write_pattern(struct net_conn *conn, size_t size, uint32_t seed, uint64_t offset, size_t piece,
                                    size_t *written)
{
    uint8_t *buffer = malloc(piece);
    ck_assert_ptr_nonnull(buffer);
    size_t done = 0;
    enum net_error error = NET_OK;
    while (done < size) {
        size_t chunk = size - done < piece ? size - done : piece;
        pattern_fill(buffer, chunk, seed, offset + done);
        long n = net_write(conn, buffer, chunk, &error);
        ck_assert_int_ge(n, 0);
        done += (size_t)n;
        if (error != NET_OK) {
            ck_assert_uint_lt((size_t)n, chunk);
            break;
        }
        ck_assert_uint_eq((size_t)n, chunk);
    }
    free(buffer);
    if (written)
        *written = done;
    return error;
}

static void expect_read_error(struct net_conn *conn, enum net_error expected)
{
    uint8_t byte;
    enum net_error error = NET_OK;
    long n = net_read(conn, &byte, 1, &error);
    ck_assert_msg(n == -1 && error == expected, "read: %ld, %s (expected %s)", n, net_error_string(error),
                  net_error_string(expected));
}

static struct net_statistics statistics(void)
{
    struct net_statistics now;
    net_read_statistics(&now);
    return now;
}

// Waits (without a time limit: Check's timeout is the backstop) until
// `count` goroutines are parked in the net API.
static void wait_until_parked(uint64_t count)
{
    while (statistics().waiting < count)
        gosleep(100000);
}

// Waits until lwIP has finished every connection that was closed, and
// drops those in TIME_WAIT (lwIP would keep them for 2 MSL), so that the
// heap holds nothing of them.
static void settle_lwip(void)
{
    for (;;) {
        LOCK_TCPIP_CORE();
        bool active = tcp_active_pcbs != NULL;
        while (tcp_tw_pcbs != NULL)
            tcp_abort(tcp_tw_pcbs);
        UNLOCK_TCPIP_CORE();
        if (!active)
            return;
        gosleep(MILLISECOND);
    }
}

/* --- An echo server ----------------------------------------------------------------------- */

struct echo_server {
    struct net_listener *listener;
    struct waitgroup handlers;   // the server loop and each connection's handler
};

static void echo_connection(void *argument)
{
    void **arguments = argument;
    struct echo_server *server = arguments[0];
    struct net_conn *conn = arguments[1];
    free(arguments);
    uint8_t *buffer = malloc(16384);
    ck_assert_ptr_nonnull(buffer);
    enum net_error error = NET_OK;
    long n;
    while ((n = net_read(conn, buffer, 16384, &error)) > 0) {
        enum net_error write_error = NET_ERROR_INTERNAL;
        ck_assert_int_eq(net_write(conn, buffer, (size_t)n, &write_error), n);
        ck_assert_int_eq(write_error, NET_OK);
    }
    ck_assert_msg(error == NET_ERROR_EOF, "echo read: %s", net_error_string(error));
    free(buffer);
    net_close(conn);
    waitgroup_done(&server->handlers);
}

static void echo_accept_loop(void *argument)
{
    struct echo_server *server = argument;
    for (;;) {
        enum net_error error = NET_OK;
        struct net_conn *conn = net_accept(server->listener, &error);
        if (conn == NULL) {
            ck_assert_msg(error == NET_ERROR_CLOSED, "accept: %s", net_error_string(error));
            break;
        }
        void **arguments = malloc(2 * sizeof *arguments);
        arguments[0] = server;
        arguments[1] = conn;
        waitgroup_add(&server->handlers, 1);
        go(echo_connection, arguments);
    }
    waitgroup_done(&server->handlers);
}

static void echo_server_start(struct echo_server *server, int backlog)
{
    server->listener = listen_on_loopback(backlog);
    waitgroup_add(&server->handlers, 1);
    go(echo_accept_loop, server);
}

// Closes the listener (its accept loop ends with NET_ERROR_CLOSED) and
// waits for every handler.
static void echo_server_stop(struct echo_server *server)
{
    net_listener_close(server->listener);
    waitgroup_wait(&server->handlers);
}

/* --- Echo: one connection ------------------------------------------------------------------- */

struct sender {
    struct net_conn *conn;
    size_t size;
    uint32_t seed;
    struct chan *done;   // receives the net_error of the last write or of close_write
};

static void send_then_close_write(void *argument)
{
    struct sender *sender = argument;
    size_t written = 0;
    enum net_error error = write_pattern(sender->conn, sender->size, sender->seed, 0, 50000, &written);
    if (error == NET_OK) {
        ck_assert_uint_eq(written, sender->size);
        error = net_close_write(sender->conn);
    }
    chan_send(sender->done, &error);
}

// Sends `size` bytes of stream `seed` through the server and checks every
// byte of the echo, then EOF (the server closes after ours). The sending
// runs in a goroutine of its own, so that neither side's window fills up
// with nobody reading it.
static void echo_through(struct echo_server *server, size_t size, uint32_t seed)
{
    struct net_conn *conn = dial_listener(server->listener);
    struct sender sender = { .conn = conn, .size = size, .seed = seed, .done = chan_make(sizeof(enum net_error), 1) };
    go(send_then_close_write, &sender);
    read_pattern(conn, size, seed, 0);
    expect_read_error(conn, NET_ERROR_EOF);
    expect_read_error(conn, NET_ERROR_EOF);   // and again
    enum net_error sent;
    chan_receive(sender.done, &sent);
    ck_assert_msg(sent == NET_OK, "send: %s", net_error_string(sent));
    chan_free(sender.done);
    net_close(conn);
}

static size_t echo_size;

static void echo_one(void *unused)
{
    (void)unused;
    struct echo_server server = { 0 };
    echo_server_start(&server, 0);
    echo_through(&server, echo_size, 7);
    echo_server_stop(&server);
    ck_assert_uint_eq(statistics().connections, 0);
}

START_TEST(test_echo_one_byte)
{
    echo_size = 1;
    ck_assert_int_eq(run(echo_one, _i), 0);
}
END_TEST

START_TEST(test_echo_64_kib)
{
    echo_size = 64 * 1024;
    ck_assert_int_eq(run(echo_one, _i), 0);
}
END_TEST

START_TEST(test_echo_16_mib)
{
    echo_size = 16 * 1024 * 1024;
    ck_assert_int_eq(run(echo_one, _i), 0);
}
END_TEST

/* --- Echo: 100 connections at once ---------------------------------------------------------- */

#define CONCURRENT_CLIENTS 100

struct concurrent_client {
    struct echo_server *server;
    uint32_t seed;
    struct waitgroup *clients;
};

static void concurrent_client(void *argument)
{
    struct concurrent_client *client = argument;
    echo_through(client->server, 8192 + client->seed * 397, client->seed);
    waitgroup_done(client->clients);
}

static void echo_concurrently(void *unused)
{
    (void)unused;
    struct echo_server server = { 0 };
    echo_server_start(&server, CONCURRENT_CLIENTS);
    struct waitgroup clients = { 0 };
    static struct concurrent_client each[CONCURRENT_CLIENTS];
    for (uint32_t i = 0; i < CONCURRENT_CLIENTS; i++) {
        each[i] = (struct concurrent_client){ .server = &server, .seed = i, .clients = &clients };
        waitgroup_add(&clients, 1);
        go(concurrent_client, &each[i]);
    }
    waitgroup_wait(&clients);
    echo_server_stop(&server);
    ck_assert_uint_eq(statistics().connections, 0);
}

START_TEST(test_echo_100_connections_at_once)
{
    ck_assert_int_eq(run(echo_concurrently, _i), 0);
}
END_TEST

/* --- Dial errors ------------------------------------------------------------------------------ */

static void dial_errors(void *unused)
{
    (void)unused;
    // A port that was just freed: nobody listens there any more.
    struct net_listener *listener = listen_on_loopback(0);
    uint16_t port = net_listener_address(listener).port;
    net_listener_close(listener);
    struct net_address nobody = loopback(port);
    enum net_error error = NET_OK;
    ck_assert_ptr_null(net_dial(&nobody, 0, &error));
    ck_assert_msg(error == NET_ERROR_REFUSED, "%s", net_error_string(error));

    // Hosted, lwIP has only its loopback interface: no route elsewhere.
    struct net_address elsewhere = { .ip = NET_IPV4(10, 1, 2, 3), .port = 80 };
    error = NET_OK;
    ck_assert_ptr_null(net_dial(&elsewhere, 0, &error));
    ck_assert_msg(error == NET_ERROR_UNREACHABLE, "%s", net_error_string(error));

    // Bad arguments.
    struct net_address port_zero = loopback(0);
    error = NET_OK;
    ck_assert_ptr_null(net_dial(&port_zero, 0, &error));
    ck_assert_int_eq(error, NET_ERROR_INVALID);
    error = NET_OK;
    ck_assert_ptr_null(net_dial(NULL, 0, &error));
    ck_assert_int_eq(error, NET_ERROR_INVALID);

    struct net_statistics after = statistics();
    ck_assert_uint_eq(after.connections, 0);
    ck_assert_uint_eq(after.listeners, 0);
}

START_TEST(test_dial_errors)
{
    ck_assert_int_eq(run(dial_errors, _i), 0);
}
END_TEST

/* --- Listening: port in use, addresses ---------------------------------------------------------- */

static void listen_and_addresses(void *unused)
{
    (void)unused;
    net_init();
    net_init();   // idempotent
    struct net_listener *listener = listen_on_loopback(0);
    struct net_address bound = net_listener_address(listener);
    ck_assert_uint_eq(bound.ip, NET_IPV4_LOOPBACK);

    // The same port again, on the same address and on any address.
    enum net_error error = NET_OK;
    ck_assert_ptr_null(net_listen(&bound, 0, &error));
    ck_assert_msg(error == NET_ERROR_ADDRESS_IN_USE, "%s", net_error_string(error));
    struct net_address any_same_port = { .ip = NET_IPV4_ANY, .port = bound.port };
    error = NET_OK;
    ck_assert_ptr_null(net_listen(&any_same_port, 0, &error));
    ck_assert_msg(error == NET_ERROR_ADDRESS_IN_USE, "%s", net_error_string(error));

    // Two listeners with port 0 get different ports.
    struct net_listener *other = listen_on_loopback(0);
    ck_assert_uint_ne(net_listener_address(other).port, bound.port);
    net_listener_close(other);

    // Both ends agree on who is who.
    struct net_conn *client = dial_listener(listener);
    struct net_conn *server = accept_one(listener);
    struct net_address client_local = net_local_address(client);
    struct net_address client_remote = net_remote_address(client);
    struct net_address server_local = net_local_address(server);
    struct net_address server_remote = net_remote_address(server);
    ck_assert_uint_eq(client_remote.ip, NET_IPV4_LOOPBACK);
    ck_assert_uint_eq(client_remote.port, bound.port);
    ck_assert_uint_eq(client_local.ip, NET_IPV4_LOOPBACK);
    ck_assert_uint_ne(client_local.port, 0);
    ck_assert_uint_eq(server_local.ip, NET_IPV4_LOOPBACK);
    ck_assert_uint_eq(server_local.port, bound.port);
    ck_assert_uint_eq(server_remote.ip, client_local.ip);
    ck_assert_uint_eq(server_remote.port, client_local.port);

    // A dial with a timeout that does not run out is a dial.
    struct net_address same = loopback(bound.port);
    struct net_conn *patient = net_dial(&same, 3600 * 1000 * MILLISECOND, &error);
    ck_assert_msg(patient != NULL, "%s", net_error_string(error));
    struct net_conn *patient_server = accept_one(listener);
    net_close(patient);
    net_close(patient_server);

    // A listener on any address is reached through 127.0.0.1 too.
    struct net_address any_address = { .ip = NET_IPV4_ANY, .port = 0 };
    struct net_listener *wildcard = net_listen(&any_address, 0, &error);
    ck_assert_ptr_nonnull(wildcard);
    ck_assert_uint_eq(net_listener_address(wildcard).ip, NET_IPV4_ANY);
    struct net_conn *through_wildcard = dial_listener(wildcard);
    struct net_conn *accepted = accept_one(wildcard);
    net_close(through_wildcard);
    net_close(accepted);
    net_listener_close(wildcard);

    // After close_write, writing is using a closed connection; reading goes on.
    ck_assert_int_eq(net_close_write(client), NET_OK);
    ck_assert_int_eq(net_close_write(client), NET_OK);   // idempotent
    error = NET_OK;
    ck_assert_int_eq(net_write(client, "x", 1, &error), 0);
    ck_assert_int_eq(error, NET_ERROR_CLOSED);
    expect_read_error(server, NET_ERROR_EOF);
    ck_assert_int_eq(net_write(server, "late", 4, &error), 4);
    char late[4];
    ck_assert_int_eq(net_read(client, late, 4, &error), 4);
    ck_assert_int_eq(memcmp(late, "late", 4), 0);
    // A read of nothing returns 0 at once; a bad buffer is an error.
    ck_assert_int_eq(net_read(client, late, 0, &error), 0);
    ck_assert_int_eq(error, NET_OK);
    ck_assert_int_eq(net_read(client, NULL, 4, &error), -1);
    ck_assert_int_eq(error, NET_ERROR_INVALID);
    net_close(server);
    expect_read_error(client, NET_ERROR_EOF);
    net_close(client);
    net_listener_close(listener);
    struct net_statistics after = statistics();
    ck_assert_uint_eq(after.connections, 0);
    ck_assert_uint_eq(after.listeners, 0);
}

START_TEST(test_listen_address_in_use_and_addresses)
{
    ck_assert_int_eq(run(listen_and_addresses, 2), 0);
}
END_TEST

/* --- Listening again where old connections wait ------------------------------------------------- */

// A server that closes its connections first leaves their ends waiting on
// its port (FIN-WAIT, then TIME-WAIT for two minutes in lwIP). A listener
// there again must work at once, as in Go, which sets SO_REUSEADDR on every
// listener: a restarted service would otherwise be refused its own port. A
// second listener while the first listens is still refused.
static void listen_again(void *unused)
{
    (void)unused;
    struct net_listener *listener = listen_on_loopback(0);
    struct net_address bound = net_listener_address(listener);
    struct net_conn *client = dial_listener(listener);
    struct net_conn *server = accept_one(listener);
    net_close(server);   // the server's end is the one that waits
    expect_read_error(client, NET_ERROR_EOF);
    net_close(client);
    net_listener_close(listener);

    enum net_error error = NET_ERROR_INTERNAL;
    struct net_listener *again = net_listen(&bound, 0, &error);
    ck_assert_msg(again != NULL, "listening again on port %u: %s", bound.port, net_error_string(error));
    struct net_conn *second_client = dial_listener(again);
    struct net_conn *second_server = accept_one(again);
    ck_assert_int_eq(net_write(second_client, "x", 1, &error), 1);
    char byte = 0;
    ck_assert_int_eq(net_read(second_server, &byte, 1, &error), 1);
    ck_assert_int_eq(byte, 'x');

    error = NET_OK;
    ck_assert_ptr_null(net_listen(&bound, 0, &error));
    ck_assert_msg(error == NET_ERROR_ADDRESS_IN_USE, "%s", net_error_string(error));

    net_close(second_client);
    net_close(second_server);
    net_listener_close(again);
}

START_TEST(test_listen_again_where_old_connections_wait)
{
    ck_assert_int_eq(run(listen_again, 2), 0);
}
END_TEST

/* --- EOF after all data ----------------------------------------------------------------------- */

#define EOF_BYTES 100000

static void write_all_then_close(void *argument)
{
    struct net_conn *conn = argument;
    ck_assert_int_eq(write_pattern(conn, EOF_BYTES, 3, 0, 7000, NULL), NET_OK);
    net_close(conn);
}

static void eof_after_all_data(void *unused)
{
    (void)unused;
    struct net_listener *listener = listen_on_loopback(0);
    struct net_conn *client = dial_listener(listener);
    struct net_conn *server = accept_one(listener);
    go(write_all_then_close, server);
    // The server may well have closed before we read anything: every byte
    // is still delivered, and EOF only after the last.
    read_pattern(client, EOF_BYTES, 3, 0);
    expect_read_error(client, NET_ERROR_EOF);
    expect_read_error(client, NET_ERROR_EOF);
    net_close(client);
    net_listener_close(listener);
}

START_TEST(test_eof_after_all_data)
{
    ck_assert_int_eq(run(eof_after_all_data, _i), 0);
}
END_TEST

/* --- Resets ----------------------------------------------------------------------------------- */

static void reset_by_close_with_unread_data(void *unused)
{
    (void)unused;
    struct net_listener *listener = listen_on_loopback(0);
    struct net_conn *client = dial_listener(listener);
    struct net_conn *server = accept_one(listener);
    ck_assert_int_eq(write_pattern(client, 1000, 5, 0, 1000, NULL), NET_OK);
    // Once the data is queued at the server, unread, closing there sends
    // an RST instead of a FIN.
    while (statistics().received_queued < 1000)
        gosleep(100000);
    net_close(server);
    expect_read_error(client, NET_ERROR_RESET);
    expect_read_error(client, NET_ERROR_RESET);
    enum net_error error = NET_OK;
    ck_assert_int_eq(net_write(client, "x", 1, &error), 0);
    ck_assert_int_eq(error, NET_ERROR_RESET);
    net_close(client);
    net_listener_close(listener);
    ck_assert_uint_eq(statistics().connections, 0);
}

START_TEST(test_reset_when_the_peer_closes_with_unread_data)
{
    ck_assert_int_eq(run(reset_by_close_with_unread_data, _i), 0);
}
END_TEST

// A peer on lwIP's raw API that aborts (tcp_abort) when data arrives.
static err_t aborting_peer_received(void *argument, struct tcp_pcb *pcb, struct pbuf *p, err_t error)
{
    (void)argument;
    (void)error;
    if (p)
        pbuf_free(p);
    tcp_abort(pcb);
    return ERR_ABRT;
}

static err_t aborting_peer_accepted(void *argument, struct tcp_pcb *pcb, err_t error)
{
    (void)argument;
    if (pcb == NULL || error != ERR_OK)
        return ERR_VAL;
    tcp_recv(pcb, aborting_peer_received);
    return ERR_OK;
}

static void blocked_reader(void *argument)
{
    void **arguments = argument;
    struct net_conn *conn = arguments[0];
    struct chan *result = arguments[1];
    uint8_t byte;
    enum net_error error = NET_OK;
    long n = net_read(conn, &byte, 1, &error);
    ck_assert_int_eq(n, -1);
    chan_send(result, &error);
}

static void reset_by_an_aborting_peer(void *unused)
{
    (void)unused;
    net_init();
    ip_addr_t any;
    ip_addr_set_ip4_u32(&any, 0);
    LOCK_TCPIP_CORE();
    struct tcp_pcb *raw = tcp_new();
    ck_assert_ptr_nonnull(raw);
    ck_assert_int_eq(tcp_bind(raw, &any, 0), ERR_OK);
    raw = tcp_listen(raw);
    ck_assert_ptr_nonnull(raw);
    tcp_accept(raw, aborting_peer_accepted);
    uint16_t port = raw->local_port;
    UNLOCK_TCPIP_CORE();

    struct net_address address = loopback(port);
    enum net_error error = NET_OK;
    struct net_conn *conn = net_dial(&address, 0, &error);
    ck_assert_ptr_nonnull(conn);
    // A reader blocked before the reset comes is woken by it, not left hanging.
    struct chan *result = chan_make(sizeof(enum net_error), 1);
    void *arguments[2] = { conn, result };
    go(blocked_reader, arguments);
    wait_until_parked(1);
    ck_assert_int_eq(net_write(conn, "boom", 4, &error), 4);
    enum net_error read_error;
    chan_receive(result, &read_error);
    ck_assert_msg(read_error == NET_ERROR_RESET, "%s", net_error_string(read_error));
    chan_free(result);
    net_close(conn);

    LOCK_TCPIP_CORE();
    tcp_close(raw);
    UNLOCK_TCPIP_CORE();
    ck_assert_uint_eq(statistics().connections, 0);
}

START_TEST(test_reset_by_a_peer_that_aborts)
{
    ck_assert_int_eq(run(reset_by_an_aborting_peer, _i), 0);
}
END_TEST

/* --- Close wakes what is blocked ------------------------------------------------------------- */

static void blocked_writer(void *argument)
{
    void **arguments = argument;
    struct net_conn *conn = arguments[0];
    struct chan *result = arguments[1];
    size_t written = 0;
    enum net_error error = write_pattern(conn, 4 * 1024 * 1024, 1, 0, 4 * 1024 * 1024, &written);
    ck_assert_uint_lt(written, 4 * 1024 * 1024);
    chan_send(result, &error);
}

static void close_wakes_blocked_calls(void *unused)
{
    (void)unused;
    struct net_listener *listener = listen_on_loopback(0);
    struct net_conn *client = dial_listener(listener);
    struct net_conn *server = accept_one(listener);
    struct chan *results = chan_make(sizeof(enum net_error), 2);

    // A read blocked on a connection that another goroutine closes.
    void *reader_arguments[2] = { client, results };
    go(blocked_reader, reader_arguments);
    wait_until_parked(1);
    // A write blocked on the same connection: the server never reads.
    void *writer_arguments[2] = { client, results };
    go(blocked_writer, writer_arguments);
    wait_until_parked(2);
    net_close(client);
    for (int i = 0; i < 2; i++) {
        enum net_error error;
        chan_receive(results, &error);
        ck_assert_msg(error == NET_ERROR_CLOSED, "%s", net_error_string(error));
    }
    chan_free(results);
    // The last goroutine to leave freed the connection: only the server's is left.
    ck_assert_uint_eq(statistics().connections, 1);
    net_close(server);

    net_listener_close(listener);
}

START_TEST(test_close_wakes_a_blocked_read_and_write)
{
    ck_assert_int_eq(run(close_wakes_blocked_calls, _i), 0);
}
END_TEST

static void blocked_accepter(void *argument)
{
    void **arguments = argument;
    struct net_listener *listener = arguments[0];
    struct chan *result = arguments[1];
    enum net_error error = NET_OK;
    ck_assert_ptr_null(net_accept(listener, &error));
    chan_send(result, &error);
}

static void listener_close_wakes_accept(void *unused)
{
    (void)unused;
    struct net_listener *listener = listen_on_loopback(0);
    struct chan *result = chan_make(sizeof(enum net_error), 1);
    void *arguments[2] = { listener, result };
    go(blocked_accepter, arguments);
    wait_until_parked(1);
    net_listener_close(listener);
    enum net_error error;
    chan_receive(result, &error);
    ck_assert_msg(error == NET_ERROR_CLOSED, "%s", net_error_string(error));
    chan_free(result);
    ck_assert_uint_eq(statistics().listeners, 0);

    // Connections nobody accepted are reset when the listener closes.
    listener = listen_on_loopback(0);
    struct net_conn *unaccepted = dial_listener(listener);
    // Wait until the handshake has reached the listener's queue: lwIP made
    // a connection for it.
    while (statistics().connections < 2)
        gosleep(100000);
    net_listener_close(listener);
    expect_read_error(unaccepted, NET_ERROR_RESET);
    net_close(unaccepted);
    struct net_statistics after = statistics();
    ck_assert_uint_eq(after.connections, 0);
    ck_assert_uint_eq(after.listeners, 0);
}

START_TEST(test_listener_close_wakes_a_blocked_accept)
{
    ck_assert_int_eq(run(listener_close_wakes_accept, _i), 0);
}
END_TEST

/* --- Deadlines -------------------------------------------------------------------------------- */

static void read_deadlines(void *unused)
{
    (void)unused;
    struct net_listener *listener = listen_on_loopback(0);
    struct net_conn *client = dial_listener(listener);
    struct net_conn *server = accept_one(listener);
    enum net_error error = NET_OK;
    char byte = 0;

    // Nothing comes: the deadline passes while the read waits.
    net_set_read_deadline(client, nanotime() + 20 * MILLISECOND);
    expect_read_error(client, NET_ERROR_TIMEOUT);
    // ...and again at once, for the deadline is still in the past.
    expect_read_error(client, NET_ERROR_TIMEOUT);

    // The connection is intact: without a deadline, data arrives.
    net_set_read_deadline(client, 0);
    ck_assert_int_eq(net_write(server, "x", 1, &error), 1);
    ck_assert_int_eq(net_read(client, &byte, 1, &error), 1);
    ck_assert_int_eq(byte, 'x');
    // A deadline far away does not get in the way.
    net_set_read_deadline(client, nanotime() + 3600 * 1000 * MILLISECOND);
    ck_assert_int_eq(net_write(server, "y", 1, &error), 1);
    ck_assert_int_eq(net_read(client, &byte, 1, &error), 1);
    ck_assert_int_eq(byte, 'y');

    // A deadline moved while a read is blocked takes effect for that read:
    // from an hour away to now, it wakes it.
    struct chan *result = chan_make(sizeof(enum net_error), 1);
    void *arguments[2] = { client, result };
    go(blocked_reader, arguments);
    wait_until_parked(1);
    net_set_read_deadline(client, nanotime());
    enum net_error read_error;
    chan_receive(result, &read_error);
    ck_assert_msg(read_error == NET_ERROR_TIMEOUT, "%s", net_error_string(read_error));
    // And from none to soon.
    net_set_read_deadline(client, 0);
    go(blocked_reader, arguments);
    wait_until_parked(1);
    net_set_read_deadline(client, nanotime() + 5 * MILLISECOND);
    chan_receive(result, &read_error);
    ck_assert_msg(read_error == NET_ERROR_TIMEOUT, "%s", net_error_string(read_error));
    chan_free(result);

    // Still intact, in both directions.
    net_set_deadline(client, 0);
    ck_assert_int_eq(net_write(server, "z", 1, &error), 1);
    ck_assert_int_eq(net_read(client, &byte, 1, &error), 1);
    ck_assert_int_eq(byte, 'z');
    ck_assert_int_eq(net_write(client, "w", 1, &error), 1);
    ck_assert_int_eq(net_read(server, &byte, 1, &error), 1);
    ck_assert_int_eq(byte, 'w');
    net_close(client);
    net_close(server);
    net_listener_close(listener);
}

START_TEST(test_read_deadline)
{
    ck_assert_int_eq(run(read_deadlines, _i), 0);
}
END_TEST

#define WRITE_DEADLINE_BYTES (4 * 1024 * 1024)

struct pattern_reader {
    struct net_conn *conn;
    size_t size;
    uint32_t seed;
    struct chan *done;
};

static void read_pattern_in_goroutine(void *argument)
{
    struct pattern_reader *reader = argument;
    read_pattern(reader->conn, reader->size, reader->seed, 0);
    chan_send(reader->done, NULL);
}

static void write_deadlines(void *unused)
{
    (void)unused;
    struct net_listener *listener = listen_on_loopback(0);
    struct net_conn *client = dial_listener(listener);
    struct net_conn *server = accept_one(listener);

    // The server reads nothing, so the write stops when the buffers are
    // full, and its deadline passes: some of the bytes went, not all.
    net_set_write_deadline(client, nanotime() + 20 * MILLISECOND);
    size_t written = 0;
    enum net_error error = write_pattern(client, WRITE_DEADLINE_BYTES, 9, 0, WRITE_DEADLINE_BYTES, &written);
    ck_assert_msg(error == NET_ERROR_TIMEOUT, "%s", net_error_string(error));
    ck_assert_uint_lt(written, WRITE_DEADLINE_BYTES);

    // Without the deadline the rest goes too, and the stream is whole.
    net_set_write_deadline(client, 0);
    struct pattern_reader reader = { server, WRITE_DEADLINE_BYTES, 9, chan_make(0, 1) };
    go(read_pattern_in_goroutine, &reader);
    size_t rest = 0;
    ck_assert_int_eq(write_pattern(client, WRITE_DEADLINE_BYTES - written, 9, written, 65536, &rest), NET_OK);
    ck_assert_uint_eq(rest, WRITE_DEADLINE_BYTES - written);
    chan_receive(reader.done, NULL);
    chan_free(reader.done);
    net_close(client);
    net_close(server);
    net_listener_close(listener);
}

START_TEST(test_write_deadline)
{
    ck_assert_int_eq(run(write_deadlines, _i), 0);
}
END_TEST

static void dial_later(void *argument)
{
    struct net_conn *conn = dial_listener(argument);
    net_close(conn);
}

static void accept_deadlines(void *unused)
{
    (void)unused;
    struct net_listener *listener = listen_on_loopback(0);
    enum net_error error = NET_OK;
    net_listener_set_deadline(listener, nanotime() + 10 * MILLISECOND);
    ck_assert_ptr_null(net_accept(listener, &error));
    ck_assert_msg(error == NET_ERROR_TIMEOUT, "%s", net_error_string(error));

    // A deadline moved to now wakes an accept that waits.
    net_listener_set_deadline(listener, 0);
    struct chan *result = chan_make(sizeof(enum net_error), 1);
    void *arguments[2] = { listener, result };
    go(blocked_accepter, arguments);
    wait_until_parked(1);
    net_listener_set_deadline(listener, nanotime());
    chan_receive(result, &error);
    ck_assert_msg(error == NET_ERROR_TIMEOUT, "%s", net_error_string(error));
    chan_free(result);

    // The listener still works.
    net_listener_set_deadline(listener, 0);
    go(dial_later, listener);
    struct net_conn *conn = accept_one(listener);
    net_close(conn);
    net_listener_close(listener);
}

START_TEST(test_accept_deadline)
{
    ck_assert_int_eq(run(accept_deadlines, _i), 0);
}
END_TEST

/* --- Flow control ------------------------------------------------------------------------------- */

#define FLOW_BYTES (4 * 1024 * 1024)

struct flow_writer {
    struct net_conn *conn;
    struct chan *done;
};

static void flow_write(void *argument)
{
    struct flow_writer *writer = argument;
    size_t written = 0;
    ck_assert_int_eq(write_pattern(writer->conn, FLOW_BYTES, 11, 0, FLOW_BYTES, &written), NET_OK);
    ck_assert_uint_eq(written, FLOW_BYTES);
    chan_send(writer->done, NULL);
}

// Whether some connection's pcb holds data its receive callback refused.
static bool a_refused_probe_is_held(void)
{
    bool held = false;
    LOCK_TCPIP_CORE();
    for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next)
        if (pcb->refused_data)
            held = true;
    UNLOCK_TCPIP_CORE();
    return held;
}

static void flow_control(void *unused)
{
    (void)unused;
    struct net_listener *listener = listen_on_loopback(0);
    struct net_conn *client = dial_listener(listener);
    struct net_conn *server = accept_one(listener);
    struct memstats before;
    runtime_read_memstats(&before);

    // One write of 4 MiB to a peer that reads nothing.
    struct flow_writer writer = { client, chan_make(0, 1) };
    go(flow_write, &writer);
    // Wait until the peer's window is used up and the writer waits.
    while (statistics().received_queued < TCP_WND / 2 || statistics().waiting < 1)
        gosleep(100000);
    // Give it every chance to go further; it must not.
    for (int i = 0; i < 20; i++)
        gosleep(MILLISECOND);
    ck_assert_msg(!chan_try_receive(writer.done, NULL, NULL), "the write finished with nobody reading");
    struct net_statistics stalled = statistics();
    ck_assert_uint_ge(stalled.waiting, 1);
    // What waits at the receiver is bounded by its window, not by the write.
    ck_assert_uint_le(stalled.received_queued, TCP_WND);
    struct memstats during;
    runtime_read_memstats(&during);
    ck_assert_uint_lt(during.heap_alloc, before.heap_alloc + FLOW_BYTES / 4);

    // The sender's lwIP probes the closed window with single bytes (its
    // persist timer, after a second or so). The full queue refuses the
    // first, lwIP keeps it, and the queue is still no longer than the
    // window; the byte arrives in its place once the reader reads.
    while (!a_refused_probe_is_held())
        gosleep(10 * MILLISECOND);
    ck_assert_uint_le(statistics().received_queued, TCP_WND);
    ck_assert_msg(!chan_try_receive(writer.done, NULL, NULL), "the write finished with nobody reading");

    // Reading lets it finish, every byte in order.
    read_pattern(server, FLOW_BYTES, 11, 0);
    chan_receive(writer.done, NULL);
    chan_free(writer.done);
    net_close(client);
    expect_read_error(server, NET_ERROR_EOF);
    net_close(server);
    net_listener_close(listener);
}

START_TEST(test_flow_control_stops_a_writer_until_the_peer_reads)
{
    ck_assert_int_eq(run(flow_control, _i), 0);
}
END_TEST

/* --- No leaks ----------------------------------------------------------------------------------- */

#define LEAK_CYCLES 500

// One connection's life, in one of four ways.
static void connection_cycle(struct echo_server *server, int cycle)
{
    struct net_conn *conn = dial_listener(server->listener);
    enum net_error error = NET_OK;
    char buffer[100];
    switch (cycle % 4) {
    case 0:   // echo, then we close first
        ck_assert_int_eq(write_pattern(conn, 100, (uint32_t)cycle, 0, 100, NULL), NET_OK);
        read_pattern(conn, 100, (uint32_t)cycle, 0);
        break;
    case 1:   // half close, the echo server closes first, we read EOF
        ck_assert_int_eq(write_pattern(conn, 100, (uint32_t)cycle, 0, 100, NULL), NET_OK);
        ck_assert_int_eq(net_close_write(conn), NET_OK);
        read_pattern(conn, 100, (uint32_t)cycle, 0);
        expect_read_error(conn, NET_ERROR_EOF);
        break;
    case 2:   // closed at once
        break;
    case 3:   // a short read deadline that passes (its timer is made and must be freed)
        net_set_read_deadline(conn, nanotime() + MILLISECOND / 10);
        ck_assert_int_eq(net_read(conn, buffer, sizeof buffer, &error), -1);
        ck_assert_int_eq(error, NET_ERROR_TIMEOUT);
        break;
    }
    net_close(conn);
}

static void no_leaks(void *unused)
{
    (void)unused;
    struct echo_server server = { 0 };
    echo_server_start(&server, 0);
    // Warm up: whatever the runtime and lwIP make once is made now.
    for (int cycle = 0; cycle < 40; cycle++)
        connection_cycle(&server, cycle);
    while (statistics().connections > 0)
        gosleep(MILLISECOND);
    settle_lwip();
    struct memstats before;
    runtime_read_memstats(&before);

    for (int cycle = 0; cycle < LEAK_CYCLES; cycle++)
        connection_cycle(&server, cycle);
    // The handlers close their ends after ours; wait for them, and for lwIP.
    while (statistics().connections > 0)
        gosleep(MILLISECOND);
    settle_lwip();
    struct net_statistics after = statistics();
    ck_assert_uint_eq(after.connections, 0);
    ck_assert_uint_le(after.waiting, 1);   // the accept loop, if it is back in net_accept
    ck_assert_uint_eq(after.received_queued, 0);
    struct memstats now;
    runtime_read_memstats(&now);
    // Back where it was. The slack is far below one object per cycle (a
    // connection's struct, channels and timer are hundreds of bytes):
    // whatever leaks per connection shows.
    ck_assert_msg(now.heap_objects <= before.heap_objects + 16 && now.heap_alloc < before.heap_alloc + 16 * 1024,
                  "heap: %llu objects, %llu bytes before; %llu objects, %llu bytes after %d connections",
                  (unsigned long long)before.heap_objects, (unsigned long long)before.heap_alloc,
                  (unsigned long long)now.heap_objects, (unsigned long long)now.heap_alloc, LEAK_CYCLES);
    echo_server_stop(&server);
}

START_TEST(test_no_leak_after_many_connections)
{
    ck_assert_int_eq(run(no_leaks, _i), 0);
}
END_TEST

/* --- Addresses and errors ------------------------------------------------------------------------ */

START_TEST(test_parse_and_format_addresses)
{
    struct {
        const char *text;
        uint32_t ip;
        uint16_t port;
    } good[] = {
        { "10.0.2.2:8080", 0x0a000202, 8080 },
        { "127.0.0.1:0", 0x7f000001, 0 },
        { "255.255.255.255:65535", 0xffffffff, 65535 },
        { "0.0.0.0:1", 0, 1 },
        { ":80", 0, 80 },
        { "192.168.100.200:00443", 0xc0a864c8, 443 },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct net_address address = { 1, 1 };
        ck_assert_msg(net_parse_address(good[i].text, &address), "%s", good[i].text);
        ck_assert_uint_eq(address.ip, good[i].ip);
        ck_assert_uint_eq(address.port, good[i].port);
    }
    const char *bad[] = {
        "", ":", "1.2.3.4", "1.2.3.4:", "1.2.3:80", "1.2.3.4.5:80", "256.1.1.1:80", "1.2.3.4:65536",
        "01.2.3.4:80", "a.b.c.d:80", "1.2.3.4:80 ", " 1.2.3.4:80", "1.2.3.4:-1", "1.2.3.4:+80",
        "localhost:80", "[::1]:80", "1.2.3.4:123456", "1..3.4:80", "1.2.3.4::80", "1.2.3.4:8x", "1.2.3.1000:80",
        "1.2.3.4:80:80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct net_address address = { 0x01020304, 5 };
        ck_assert_msg(!net_parse_address(bad[i], &address), "accepted \"%s\"", bad[i]);
        ck_assert_uint_eq(address.ip, 0x01020304);   // untouched
        ck_assert_uint_eq(address.port, 5);
    }
    struct net_address address;
    ck_assert(!net_parse_address(NULL, &address));

    char text[NET_ADDRESS_STRING_SIZE];
    struct net_address widest = { 0xffffffff, 65535 };
    ck_assert_int_eq(net_format_address(&widest, text, sizeof text), 21);
    ck_assert_str_eq(text, "255.255.255.255:65535");
    struct net_address host = { NET_IPV4(10, 0, 2, 15), 8080 };
    net_format_address(&host, text, sizeof text);
    ck_assert_str_eq(text, "10.0.2.15:8080");
    struct net_address back;
    ck_assert(net_parse_address(text, &back));
    ck_assert_uint_eq(back.ip, host.ip);
    ck_assert_uint_eq(back.port, host.port);
    // Too small a buffer: cut, NUL-terminated, and the length it needed.
    char small[8];
    ck_assert_int_eq(net_format_address(&host, small, sizeof small), 14);
    ck_assert_str_eq(small, "10.0.2.");
}
END_TEST

START_TEST(test_error_strings)
{
    for (int i = 0; i < NET_ERROR_COUNT; i++) {
        const char *text = net_error_string((enum net_error)i);
        ck_assert_ptr_nonnull(text);
        ck_assert_uint_gt(strlen(text), 0);
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(text, net_error_string((enum net_error)j));
    }
    ck_assert_str_eq(net_error_string(NET_ERROR_TIMEOUT), "i/o timeout");
    ck_assert_str_eq(net_error_string(NET_ERROR_CLOSED), "use of closed network connection");
    ck_assert_str_eq(net_error_string((enum net_error)NET_ERROR_COUNT), "unknown network error");
    ck_assert_str_eq(net_error_string((enum net_error)-1), "unknown network error");
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("net");

    TCase *addresses = tcase_create("addresses");
    tcase_add_test(addresses, test_parse_and_format_addresses);
    tcase_add_test(addresses, test_error_strings);
    suite_add_tcase(suite, addresses);

    // Loop tests: _i is the number of Ps, 1 and 2.
    TCase *echo = tcase_create("echo");
    tcase_set_timeout(echo, 300);
    tcase_add_loop_test(echo, test_echo_one_byte, 1, 3);
    tcase_add_loop_test(echo, test_echo_64_kib, 1, 3);
    tcase_add_loop_test(echo, test_echo_16_mib, 1, 3);
    tcase_add_loop_test(echo, test_echo_100_connections_at_once, 1, 3);
    suite_add_tcase(suite, echo);

    TCase *errors = tcase_create("errors");
    tcase_set_timeout(errors, 60);
    tcase_add_loop_test(errors, test_dial_errors, 1, 3);
    tcase_add_test(errors, test_listen_address_in_use_and_addresses);
    tcase_add_test(errors, test_listen_again_where_old_connections_wait);
    tcase_add_loop_test(errors, test_eof_after_all_data, 1, 3);
    tcase_add_loop_test(errors, test_reset_when_the_peer_closes_with_unread_data, 1, 3);
    tcase_add_loop_test(errors, test_reset_by_a_peer_that_aborts, 1, 3);
    tcase_add_loop_test(errors, test_close_wakes_a_blocked_read_and_write, 1, 3);
    tcase_add_loop_test(errors, test_listener_close_wakes_a_blocked_accept, 1, 3);
    suite_add_tcase(suite, errors);

    TCase *deadlines = tcase_create("deadlines");
    tcase_set_timeout(deadlines, 60);
    tcase_add_loop_test(deadlines, test_read_deadline, 1, 3);
    tcase_add_loop_test(deadlines, test_write_deadline, 1, 3);
    tcase_add_loop_test(deadlines, test_accept_deadline, 1, 3);
    suite_add_tcase(suite, deadlines);

    TCase *resources = tcase_create("resources");
    tcase_set_timeout(resources, 120);
    tcase_add_loop_test(resources, test_flow_control_stops_a_writer_until_the_peer_reads, 1, 3);
    tcase_add_loop_test(resources, test_no_leak_after_many_connections, 1, 3);
    suite_add_tcase(suite, resources);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
