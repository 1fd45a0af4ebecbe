/*
 * net_tcp.c: TCP connections and listeners for goroutines, on lwIP's raw
 * TCP API (net.h is the interface; docs/network.md, "The net API", the
 * story).
 *
 * The model is Go's netpoller. A goroutine that cannot go on -- nothing to
 * read, no room to write, no connection to accept, a dial not answered yet
 * -- parks, and whatever changes that wakes it. In Go the kernel's epoll
 * says what changed; here lwIP's callbacks do, and they run inside lwIP,
 * under its core lock, in lwIP's goroutine or in whichever goroutine called
 * into the stack. So the protocol between the two sides is:
 *
 *   - All state of a connection or listener is guarded by lwIP's core lock
 *     (LOCK_TCPIP_CORE). Every call into lwIP holds it too, so that lock is
 *     the only one the two sides share.
 *   - A callback only records what happened (data queued, FIN, error,
 *     room to write, a new connection) and wakes the waiter with
 *     chan_try_send on a capacity-1 notification channel: it never blocks,
 *     never allocates more than a new connection needs, never calls back
 *     into this file's blocking parts.
 *   - A waiter looks at the state under the core lock; if it must wait, it
 *     drops the lock and parks in a select between its notification
 *     channel and, with a deadline, a timer channel (net_park); woken, it
 *     takes the lock and looks again. A token sent while nobody waits stays
 *     in the channel, so no wake-up is lost between the look and the park;
 *     a stale token costs one more look, nothing else.
 *
 * One goroutine waits per direction at a time: concurrent readers (and
 * writers, and accepters) queue on a per-direction mutex first, as Go's
 * fdMutex orders them. That keeps each write's bytes together and gives
 * each notification channel a single waiter. The order is always direction
 * mutex, then core lock; a goroutine never waits for a direction mutex
 * while it holds the core lock.
 *
 * Receiving. lwIP hands each segment's pbufs to net_tcp_received, which
 * appends them to the connection's queue and never calls tcp_recved;
 * net_read copies out of the queue, frees what it consumed and only then
 * calls tcp_recved for those bytes. The window the peer sees is therefore
 * exactly the room left in the queue: a connection nobody reads holds at
 * most TCP_WND bytes, and its sender stops (flow control, as a kernel's
 * socket buffer does it).
 *
 * One exception, for a bug in lwIP 2.1.3: a segment without data that
 * arrives while the receive window is zero is answered with an ACK even
 * when it is itself just an ACK (tcp_receive's window test; RFC 793 says
 * it is acceptable). Two lwIP connections with zero windows facing each
 * other -- an echo over 127.0.0.1 whose two readers lag does it -- then
 * ACK each other's ACKs forever, and over the loopback interface all of
 * it happens inside one netif_poll that never lets go of the core lock:
 * the whole stack stops. So a connection never leaves its window at zero:
 * when the queue closes it, one byte is given back at once (tcp_recved
 * ahead of the reader, counted in window_debt and repaid from the next
 * read). The peer still sees a zero window (lwIP holds back openings
 * smaller than a segment, against silly windows), so it only probes, a
 * byte at a time; the first probe byte the full queue cannot take is
 * refused, lwIP keeps it and drops further probes until a read makes
 * room, and the queue stays bounded. (Only lwIP has the bug: a peer such
 * as Linux does not answer a bare ACK, so with it no loop can start.)
 *
 * Sending. net_write copies into lwIP's send buffer (tcp_write with
 * TCP_WRITE_FLAG_COPY: the caller's buffer is free once it returns) as far
 * as tcp_sndbuf allows, pushes it with tcp_output and parks until
 * net_tcp_sent says acknowledgements freed some room. A poll callback
 * wakes writers every second as well, in case lwIP refused a write for
 * memory while nothing was in flight to be acknowledged.
 *
 * The pcb's lifetime is lwIP's, and the classic mistake with the raw API
 * is touching a pcb lwIP has freed. It frees one at three moments, and
 * the connection lets go of it at each:
 *   - the error callback (a reset, an abort, a close after our half
 *     close): lwIP has already freed it, so net_tcp_failed only forgets
 *     it -- not even tcp_arg;
 *   - TIME_WAIT, where lwIP frees it later without any callback: a pcb
 *     gets there only after both sides' FINs, so once we have sent ours
 *     (net_close_write) and received theirs, we detach (callbacks off,
 *     pointer forgotten) and lwIP finishes alone;
 *   - net_close: detach first, then tcp_close (which may free it at
 *     once); after that lwIP finishes the closing handshake alone.
 *
 * The struct's lifetime is ours: a reference for the user (dropped by
 * net_close) and one for each call inside (a reader parked when another
 * goroutine closes must wake into valid memory). The last one frees.
 * Nothing is allocated per operation except the two deadline timers, made
 * on first use and kept; so everything a connection has is freed with it.
 */
#include "chan.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"
#include "malloc.h"
#include "net.h"
#include "runtime.h"
#include "sync.h"

// Connections a listener keeps for net_accept when the caller names none
// (Linux's historical SOMAXCONN).
#define NET_DEFAULT_BACKLOG 128
// lwIP's coarse timer ticks (500 ms each) between two poll callbacks.
#define NET_POLL_INTERVAL 2
// The receive queue holds what the window let in and no more: TCP_WND,
// and at most 0xffff, because the queue is one pbuf chain and a chain
// counts its bytes in 16 bits (tot_len). What would overflow it is refused
// and lwIP keeps it (refused_data) until a read makes room.
#define NET_RECEIVE_QUEUE_LIMIT (TCP_WND < 0xffff ? TCP_WND : 0xffff)

enum net_conn_state {
    NET_CONN_DIALING,    // net_dial's SYN is out, no answer yet
    NET_CONN_OPEN,       // established (it may have failed or been closed since)
};

struct net_conn {
    struct tcp_pcb *pcb;                 // NULL once lwIP freed it (tcp_err) or we let go of it
    enum net_conn_state state;
    err_t pcb_error;                     // what tcp_err said: ERR_RST, ERR_ABRT, ERR_CLSD; ERR_OK until then

    struct pbuf *received;               // data not read yet, one chain; NULL when empty
    size_t received_bytes;
    size_t window_debt;                  // window given back before the reader took its bytes
    bool received_fin;                   // the peer's FIN came, after all of `received`
    bool write_closed;                   // net_close_write: our FIN is queued
    bool closed;                         // net_close

    uint64_t read_deadline, write_deadline;   // absolute nanotime(); 0: none
    struct chan *read_wake, *write_wake;      // capacity 1, empty tokens: "look again"
    // Made on a direction's first wait with a deadline and used only by the
    // holder of that direction's mutex.
    struct chan_timer *read_timer, *write_timer;
    struct mutex read_lock, write_lock;       // one reader, one writer at a time

    int references;                      // the user's, plus one per call inside
    struct net_address local, remote;
    struct net_conn *next_accepted;      // in a listener's accept queue
};

struct net_listener {
    struct tcp_pcb *pcb;                 // the LISTEN pcb; NULL once closed
    struct net_conn *accepted_first, *accepted_last;   // established, waiting for net_accept
    int accepted_count;
    int backlog;
    bool closed;
    uint64_t deadline;
    struct chan *wake;
    struct chan_timer *timer;
    struct mutex accept_lock;
    int references;
    struct net_address local;
};

// Guarded by the core lock, like everything else here.
static struct net_statistics net_tcp_statistics;

/* --- Small conversions -------------------------------------------------------------- */

static enum net_error net_error_from_lwip(err_t error)
{
    switch (error) {
    case ERR_OK:
        return NET_OK;
    case ERR_MEM:
    case ERR_BUF:
        return NET_ERROR_NO_MEMORY;
    case ERR_TIMEOUT:
        return NET_ERROR_TIMEOUT;
    case ERR_RTE:
    case ERR_IF:   // the interface could not send it
        return NET_ERROR_UNREACHABLE;
    case ERR_USE:
        return NET_ERROR_ADDRESS_IN_USE;
    case ERR_VAL:
    case ERR_ARG:
        return NET_ERROR_INVALID;
    case ERR_RST:
        return NET_ERROR_RESET;
    case ERR_ABRT:
        return NET_ERROR_ABORTED;
    case ERR_CLSD:
    case ERR_CONN:
        return NET_ERROR_CLOSED;
    default:   // ERR_INPROGRESS, ERR_WOULDBLOCK, ERR_ALREADY, ERR_ISCONN: not from the calls we make
        return NET_ERROR_INTERNAL;
    }
}

static void net_ip_to_lwip(uint32_t ip, ip_addr_t *lwip_ip)
{
    ip_addr_set_ip4_u32(lwip_ip, lwip_htonl(ip));
}

static struct net_address net_address_from_lwip(const ip_addr_t *ip, u16_t port)
{
    return (struct net_address){ .ip = lwip_ntohl(ip_addr_get_ip4_u32(ip)), .port = port };
}

static bool net_deadline_passed(uint64_t deadline)
{
    return deadline != 0 && nanotime() >= deadline;
}

static void net_set_error(enum net_error *error, enum net_error value)
{
    if (error)
        *error = value;
}

/* --- Waiting ---------------------------------------------------------------------------- */

// Parks the calling goroutine, which holds the core lock, until a token
// arrives on `wake` or `deadline` passes (0: no deadline). The core lock is
// released while parked and held again on return. The caller then looks at
// the state again: a wake-up only says that something may have changed.
static void net_park(struct chan *wake, struct chan_timer **timer, uint64_t deadline)
{
    net_tcp_statistics.waiting++;
    UNLOCK_TCPIP_CORE();
    if (deadline == 0) {
        chan_receive(wake, NULL);
    } else {
        uint64_t now = nanotime();
        if (now < deadline) {
            if (*timer == NULL)
                *timer = chan_timer_new(deadline - now);
            else
                chan_timer_reset(*timer, deadline - now);
            struct chan *fired = chan_timer_channel(*timer);
            struct select_case cases[2] = {
                { .chan = wake, .direction = SELECT_RECEIVE },
                { .chan = fired, .direction = SELECT_RECEIVE },
            };
            chan_select(cases, 2, false);
            // Leave the timer stopped and its channel empty for the next
            // wait: a firing that raced with the wake-up left its value.
            if (!chan_timer_stop(*timer))
                chan_try_receive(fired, NULL, NULL);
        }
    }
    LOCK_TCPIP_CORE();
    net_tcp_statistics.waiting--;
}

/* --- A connection's memory and its pcb ------------------------------------------------- */

// A new connection with the user's reference. Core lock held.
static struct net_conn *net_conn_new(void)
{
    struct net_conn *conn = runtime_calloc(1, sizeof *conn);
    if (conn == NULL)
        return NULL;
    conn->read_wake = chan_make(0, 1);
    conn->write_wake = chan_make(0, 1);
    conn->references = 1;
    conn->pcb_error = ERR_OK;
    net_tcp_statistics.connections++;
    return conn;
}

// Frees a connection nothing refers to any more (net_conn_release said
// so). Without the core lock: freeing a timer may wait out its firing.
static void net_conn_free(struct net_conn *conn)
{
    if (conn->read_timer)
        chan_timer_free(conn->read_timer);
    if (conn->write_timer)
        chan_timer_free(conn->write_timer);
    chan_free(conn->read_wake);
    chan_free(conn->write_wake);
    runtime_free(conn);
}

// Drops a reference; true if it was the last, and the caller must call
// net_conn_free once it has released the core lock. Core lock held.
static bool net_conn_release(struct net_conn *conn)
{
    if (--conn->references > 0)
        return false;
    if (conn->pcb != NULL || conn->received != NULL)
        runtime_throw("net: the last reference to a connection went while it still had a pcb or data");
    net_tcp_statistics.connections--;
    return true;
}

// Frees the data nobody will read. Core lock held.
static void net_conn_discard_received(struct net_conn *conn)
{
    if (conn->received)
        pbuf_free(conn->received);
    conn->received = NULL;
    net_tcp_statistics.received_queued -= conn->received_bytes;
    conn->received_bytes = 0;
}

static void net_conn_wake_all(struct net_conn *conn)
{
    chan_try_send(conn->read_wake, NULL);
    chan_try_send(conn->write_wake, NULL);
}

static err_t net_tcp_received(void *argument, struct tcp_pcb *pcb, struct pbuf *p, err_t error);
static err_t net_tcp_sent(void *argument, struct tcp_pcb *pcb, u16_t length);
static err_t net_tcp_poll(void *argument, struct tcp_pcb *pcb);
static void net_tcp_failed(void *argument, err_t error);

// Ties `pcb` to `conn`: lwIP's callbacks for it now come here.
static void net_conn_attach(struct net_conn *conn, struct tcp_pcb *pcb)
{
    conn->pcb = pcb;
    tcp_arg(pcb, conn);
    tcp_recv(pcb, net_tcp_received);
    tcp_sent(pcb, net_tcp_sent);
    tcp_err(pcb, net_tcp_failed);
    tcp_poll(pcb, net_tcp_poll, NET_POLL_INTERVAL);
    // Go's default (TCP_NODELAY): a small write goes out now, not after
    // the previous one is acknowledged.
    tcp_nagle_disable(pcb);
}

// Unties the pcb from the connection and returns it (NULL if there was
// none): lwIP calls nothing here for it any more, and the connection never
// touches it again -- the caller hands it to tcp_close or tcp_abort, or
// leaves it to finish a handshake alone. Core lock held.
static struct tcp_pcb *net_conn_detach(struct net_conn *conn)
{
    struct tcp_pcb *pcb = conn->pcb;
    if (pcb == NULL)
        return NULL;
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);   // lwIP's default (tcp_recv_null) acknowledges and drops what still comes
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    tcp_poll(pcb, NULL, NET_POLL_INTERVAL);
    conn->pcb = NULL;
    return pcb;
}

// Enters a call that uses one direction of `conn`: takes a reference, the
// direction's mutex and the core lock, in that order (a goroutine never
// waits for the mutex with the core lock held). Returns holding both.
static void net_conn_enter(struct net_conn *conn, struct mutex *direction_lock)
{
    LOCK_TCPIP_CORE();
    conn->references++;
    if (!mutex_try_lock(direction_lock)) {
        UNLOCK_TCPIP_CORE();
        mutex_lock(direction_lock);
        LOCK_TCPIP_CORE();
    }
}

// Leaves it: releases the mutex, the reference and the core lock; frees the
// connection if that was the last reference (it was closed meanwhile).
static void net_conn_leave(struct net_conn *conn, struct mutex *direction_lock)
{
    mutex_unlock(direction_lock);
    bool last = net_conn_release(conn);
    UNLOCK_TCPIP_CORE();
    if (last)
        net_conn_free(conn);
}

// Why a connection without a pcb cannot send. Core lock held.
static enum net_error net_conn_failure(const struct net_conn *conn)
{
    if (conn->pcb_error == ERR_OK || conn->pcb_error == ERR_CLSD)
        return NET_ERROR_CLOSED;   // it ended in order (both FINs)
    return net_error_from_lwip(conn->pcb_error);
}

/* --- lwIP's callbacks (core lock held; they only record and wake) ------------------------ */

// Gives one byte of window back when the queue has closed it, so that
// lwIP never sees a zero receive window (the file's opening comment says
// why). Core lock held; `pcb` is the connection's.
static void net_conn_keep_window_open(struct net_conn *conn, struct tcp_pcb *pcb)
{
    if (pcb->rcv_wnd == 0) {
        tcp_recved(pcb, 1);
        conn->window_debt++;
    }
}

static err_t net_tcp_received(void *argument, struct tcp_pcb *pcb, struct pbuf *p, err_t error)
{
    (void)error;   // always ERR_OK in lwIP 2.1.3
    struct net_conn *conn = argument;
    if (conn == NULL) {   // not ours any more (detach clears the callback too; this is a guard)
        if (p) {
            tcp_recved(pcb, p->tot_len);
            pbuf_free(p);
        }
        return ERR_OK;
    }
    if (p == NULL) {
        conn->received_fin = true;
        // Both FINs now: the pcb is on its way to TIME_WAIT (or closes
        // when ours is acknowledged), where lwIP frees it without telling
        // anyone. Let go of it now; nothing needs it any more.
        if (conn->write_closed)
            net_conn_detach(conn);
        chan_try_send(conn->read_wake, NULL);
        return ERR_OK;
    }
    err_t verdict = ERR_OK;
    if (p->tot_len == 0) {
        pbuf_free(p);
    } else if (conn->received_bytes > 0 && conn->received_bytes + p->tot_len > NET_RECEIVE_QUEUE_LIMIT) {
        // A probe into the byte of window net_conn_keep_window_open gave
        // back: lwIP keeps it and offers it again once a read made room.
        verdict = ERR_MEM;
    } else {
        if (conn->received)
            pbuf_cat(conn->received, p);
        else
            conn->received = p;
        conn->received_bytes += p->tot_len;
        net_tcp_statistics.received_queued += p->tot_len;
        chan_try_send(conn->read_wake, NULL);
    }
    net_conn_keep_window_open(conn, pcb);
    return verdict;
}

// Acknowledgements freed room in the send buffer.
static err_t net_tcp_sent(void *argument, struct tcp_pcb *pcb, u16_t length)
{
    (void)pcb;
    (void)length;
    struct net_conn *conn = argument;
    if (conn)
        chan_try_send(conn->write_wake, NULL);
    return ERR_OK;
}

// Every NET_POLL_INTERVAL ticks: a writer that lwIP refused for memory,
// with nothing in flight whose acknowledgement would wake it, tries again.
static err_t net_tcp_poll(void *argument, struct tcp_pcb *pcb)
{
    (void)pcb;
    struct net_conn *conn = argument;
    if (conn)
        chan_try_send(conn->write_wake, NULL);
    return ERR_OK;
}

// lwIP has freed the pcb (reset, abort, or closed after our half close):
// forget it without touching it.
static void net_tcp_failed(void *argument, err_t error)
{
    struct net_conn *conn = argument;
    if (conn == NULL)
        return;
    conn->pcb = NULL;
    conn->pcb_error = error;
    net_conn_wake_all(conn);
}

static err_t net_tcp_connected(void *argument, struct tcp_pcb *pcb, err_t error)
{
    (void)pcb;
    struct net_conn *conn = argument;
    if (conn && error == ERR_OK) {
        conn->state = NET_CONN_OPEN;
        chan_try_send(conn->write_wake, NULL);   // net_dial waits on the write side, as Go's connect does
    }
    return ERR_OK;
}

// A handshake finished on a listener's port: queue the connection for
// net_accept. An error return makes lwIP reset it.
static err_t net_tcp_accepted(void *argument, struct tcp_pcb *pcb, err_t error)
{
    struct net_listener *listener = argument;
    if (pcb == NULL || error != ERR_OK)
        return ERR_VAL;   // lwIP found no memory for a SYN; the peer will send it again
    if (listener == NULL || listener->closed || listener->accepted_count >= listener->backlog)
        return ERR_MEM;
    struct net_conn *conn = net_conn_new();
    if (conn == NULL)
        return ERR_MEM;
    net_conn_attach(conn, pcb);
    conn->state = NET_CONN_OPEN;
    conn->local = net_address_from_lwip(&pcb->local_ip, pcb->local_port);
    conn->remote = net_address_from_lwip(&pcb->remote_ip, pcb->remote_port);
    if (listener->accepted_last)
        listener->accepted_last->next_accepted = conn;
    else
        listener->accepted_first = conn;
    listener->accepted_last = conn;
    listener->accepted_count++;
    chan_try_send(listener->wake, NULL);
    return ERR_OK;
}

/* --- Listening --------------------------------------------------------------------------- */

// Whether a listener already holds `port` on `ip` or on an address that
// overlaps it (any address overlaps every other). lwIP's own check, with
// SOF_REUSEADDR, catches only the very same address; Linux refuses the
// overlapping ones too, and so does Go. Under the core lock.
static bool net_listener_port_taken(const ip_addr_t *ip, u16_t port)
{
    for (struct tcp_pcb_listen *other = tcp_listen_pcbs.listen_pcbs; other != NULL; other = other->next)
        if (other->local_port == port &&
            (ip_addr_isany(&other->local_ip) || ip_addr_isany(ip) || ip_addr_cmp(&other->local_ip, ip)))
            return true;
    return false;
}

struct net_listener *net_listen(const struct net_address *local, int backlog, enum net_error *error)
{
    net_init();
    struct net_address address = local ? *local : (struct net_address){ .ip = NET_IPV4_ANY, .port = 0 };
    ip_addr_t ip;
    net_ip_to_lwip(address.ip, &ip);
    struct net_listener *listener = runtime_calloc(1, sizeof *listener);
    if (listener == NULL) {
        net_set_error(error, NET_ERROR_NO_MEMORY);
        return NULL;
    }
    listener->backlog = backlog > 0 ? backlog : NET_DEFAULT_BACKLOG;
    listener->references = 1;
    listener->wake = chan_make(0, 1);

    LOCK_TCPIP_CORE();
    enum net_error failure = NET_OK;
    struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
    if (pcb == NULL) {
        failure = NET_ERROR_NO_MEMORY;
    } else {
        // As Go's listeners: the port may be taken again while connections
        // this server closed still wait on it (lwipopts.h, SO_REUSE).
        ip_set_option(pcb, SOF_REUSEADDR);
        err_t result = tcp_bind(pcb, &ip, address.port);
        if (result == ERR_OK && net_listener_port_taken(&ip, pcb->local_port))
            result = ERR_USE;
        struct tcp_pcb *listening = NULL;
        if (result == ERR_OK)
            // lwIP's own backlog counts only with TCP_LISTEN_BACKLOG, which
            // is off; ours is listener->backlog. (A u8_t: at most 255.)
            listening = tcp_listen_with_backlog_and_err(pcb, (u8_t)(listener->backlog < 255 ? listener->backlog : 255),
                                                        &result);
        if (listening == NULL) {
            // ERR_BUF from tcp_bind: no free port to pick.
            failure = result == ERR_BUF ? NET_ERROR_ADDRESS_IN_USE : net_error_from_lwip(result);
            if (tcp_close(pcb) != ERR_OK)   // still CLOSED: freed at once
                tcp_abort(pcb);
        } else {
            listener->pcb = listening;
            listener->local = net_address_from_lwip(&listening->local_ip, listening->local_port);
            tcp_arg(listening, listener);
            tcp_accept(listening, net_tcp_accepted);
            net_tcp_statistics.listeners++;
        }
    }
    UNLOCK_TCPIP_CORE();

    if (failure != NET_OK) {
        chan_free(listener->wake);
        runtime_free(listener);
        net_set_error(error, failure);
        return NULL;
    }
    net_set_error(error, NET_OK);
    return listener;
}

struct net_conn *net_accept(struct net_listener *listener, enum net_error *error)
{
    if (listener == NULL) {
        net_set_error(error, NET_ERROR_INVALID);
        return NULL;
    }
    LOCK_TCPIP_CORE();
    listener->references++;
    if (!mutex_try_lock(&listener->accept_lock)) {
        UNLOCK_TCPIP_CORE();
        mutex_lock(&listener->accept_lock);
        LOCK_TCPIP_CORE();
    }
    struct net_conn *conn = NULL;
    enum net_error failure = NET_OK;
    for (;;) {
        if (listener->closed) {
            failure = NET_ERROR_CLOSED;
            break;
        }
        if (net_deadline_passed(listener->deadline)) {
            failure = NET_ERROR_TIMEOUT;
            break;
        }
        if (listener->accepted_first) {
            conn = listener->accepted_first;
            listener->accepted_first = conn->next_accepted;
            if (listener->accepted_first == NULL)
                listener->accepted_last = NULL;
            listener->accepted_count--;
            conn->next_accepted = NULL;
            break;
        }
        net_park(listener->wake, &listener->timer, listener->deadline);
    }
    mutex_unlock(&listener->accept_lock);
    bool last = --listener->references == 0;
    if (last)
        net_tcp_statistics.listeners--;
    UNLOCK_TCPIP_CORE();
    if (last) {
        if (listener->timer)
            chan_timer_free(listener->timer);
        chan_free(listener->wake);
        runtime_free(listener);
    }
    net_set_error(error, failure);
    return conn;
}

struct net_address net_listener_address(const struct net_listener *listener)
{
    return listener ? listener->local : (struct net_address){ 0, 0 };
}

void net_listener_set_deadline(struct net_listener *listener, uint64_t deadline_ns)
{
    if (listener == NULL)
        return;
    LOCK_TCPIP_CORE();
    listener->deadline = deadline_ns;
    chan_try_send(listener->wake, NULL);   // a blocked accept looks at the new deadline
    UNLOCK_TCPIP_CORE();
}

void net_listener_close(struct net_listener *listener)
{
    if (listener == NULL)
        return;
    LOCK_TCPIP_CORE();
    listener->closed = true;
    if (listener->pcb) {
        // Closing a LISTEN pcb always succeeds and frees it; handshakes
        // still under way on its port lose their listener and are reset
        // by lwIP when they complete.
        tcp_arg(listener->pcb, NULL);
        tcp_close(listener->pcb);
        listener->pcb = NULL;
    }
    // Connections nobody accepted are reset, as Linux resets them.
    struct net_conn *unaccepted = listener->accepted_first;
    listener->accepted_first = listener->accepted_last = NULL;
    listener->accepted_count = 0;
    for (struct net_conn *conn = unaccepted; conn; conn = conn->next_accepted) {
        struct tcp_pcb *pcb = net_conn_detach(conn);
        if (pcb)
            tcp_abort(pcb);
        net_conn_discard_received(conn);
        if (!net_conn_release(conn))
            runtime_throw("net: an unaccepted connection has references");
    }
    chan_try_send(listener->wake, NULL);
    bool last = --listener->references == 0;
    if (last)
        net_tcp_statistics.listeners--;
    UNLOCK_TCPIP_CORE();

    while (unaccepted) {
        struct net_conn *next = unaccepted->next_accepted;
        net_conn_free(unaccepted);
        unaccepted = next;
    }
    if (last) {
        if (listener->timer)
            chan_timer_free(listener->timer);
        chan_free(listener->wake);
        runtime_free(listener);
    }
}

/* --- Dialling ---------------------------------------------------------------------------- */

struct net_conn *net_dial(const struct net_address *remote, uint64_t timeout_ns, enum net_error *error)
{
    if (remote == NULL || remote->ip == NET_IPV4_ANY || remote->port == 0) {
        net_set_error(error, NET_ERROR_INVALID);
        return NULL;
    }
    net_init();
    uint64_t deadline = timeout_ns ? nanotime() + timeout_ns : 0;
    ip_addr_t ip;
    net_ip_to_lwip(remote->ip, &ip);

    LOCK_TCPIP_CORE();
    struct net_conn *conn = net_conn_new();
    if (conn == NULL) {
        UNLOCK_TCPIP_CORE();
        net_set_error(error, NET_ERROR_NO_MEMORY);
        return NULL;
    }
    enum net_error failure = NET_OK;
    struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
    if (pcb == NULL) {
        failure = NET_ERROR_NO_MEMORY;
    } else {
        net_conn_attach(conn, pcb);
        conn->state = NET_CONN_DIALING;
        err_t result = tcp_connect(pcb, &ip, remote->port, net_tcp_connected);
        if (result == ERR_OK) {
            // tcp_connect has chosen the local address and port.
            conn->local = net_address_from_lwip(&pcb->local_ip, pcb->local_port);
            conn->remote = *remote;
        } else {
            // ERR_BUF: no free local port (Linux's EADDRNOTAVAIL).
            failure = result == ERR_BUF ? NET_ERROR_ADDRESS_IN_USE : net_error_from_lwip(result);
        }
    }
    while (failure == NET_OK && conn->state == NET_CONN_DIALING) {
        if (conn->pcb == NULL) {
            // An RST answering our SYN: nobody listens there. An abort
            // before the handshake: lwIP's SYN retransmissions ran out.
            if (conn->pcb_error == ERR_RST)
                failure = NET_ERROR_REFUSED;
            else if (conn->pcb_error == ERR_ABRT)
                failure = NET_ERROR_TIMEOUT;
            else
                failure = net_error_from_lwip(conn->pcb_error);
            break;
        }
        if (net_deadline_passed(deadline)) {
            failure = NET_ERROR_TIMEOUT;
            break;
        }
        net_park(conn->write_wake, &conn->write_timer, deadline);
    }
    bool last = false;
    if (failure != NET_OK) {
        struct tcp_pcb *abandoned = net_conn_detach(conn);
        if (abandoned)
            tcp_abort(abandoned);   // CLOSED or SYN_SENT: freed now, never fails
        net_conn_discard_received(conn);
        last = net_conn_release(conn);
    }
    UNLOCK_TCPIP_CORE();
    if (failure != NET_OK) {
        if (last)
            net_conn_free(conn);
        net_set_error(error, failure);
        return NULL;
    }
    net_set_error(error, NET_OK);
    return conn;
}

/* --- Reading ------------------------------------------------------------------------------ */

// Moves up to `size` queued bytes into `buffer` and reopens the window by
// as much. Core lock held; the queue is not empty.
static size_t net_conn_take(struct net_conn *conn, void *buffer, size_t size)
{
    size_t count = size < conn->received_bytes ? size : conn->received_bytes;   // <= NET_RECEIVE_QUEUE_LIMIT
    pbuf_copy_partial(conn->received, buffer, (u16_t)count, 0);
    conn->received = pbuf_free_header(conn->received, (u16_t)count);
    conn->received_bytes -= count;
    net_tcp_statistics.received_queued -= count;
    if (conn->received_bytes == 0 && conn->received) {   // empty pbufs left at the end
        pbuf_free(conn->received);
        conn->received = NULL;
    }
    // The window reopens by what the reader took, less the bytes given
    // back early; then lwIP may offer what it kept for lack of room.
    size_t repaid = count < conn->window_debt ? count : conn->window_debt;
    conn->window_debt -= repaid;
    if (conn->pcb && count > repaid)
        tcp_recved(conn->pcb, (u16_t)(count - repaid));
    if (conn->pcb && conn->pcb->refused_data)
        tcp_process_refused_data(conn->pcb);   // calls net_tcp_received; it never aborts
    return count;
}

long net_read(struct net_conn *conn, void *buffer, size_t size, enum net_error *error)
{
    if (conn == NULL || (buffer == NULL && size > 0)) {
        net_set_error(error, NET_ERROR_INVALID);
        return -1;
    }
    net_conn_enter(conn, &conn->read_lock);
    long result = -1;
    enum net_error failure = NET_OK;
    for (;;) {
        if (conn->closed) {
            failure = NET_ERROR_CLOSED;
            break;
        }
        if (size == 0) {
            result = 0;
            break;
        }
        if (net_deadline_passed(conn->read_deadline)) {
            failure = NET_ERROR_TIMEOUT;
            break;
        }
        if (conn->received_bytes > 0) {
            result = (long)net_conn_take(conn, buffer, size);
            break;
        }
        // The peer's byte stream ended cleanly: EOF, even if a reset
        // followed (the reset is news for writers).
        if (conn->received_fin) {
            failure = NET_ERROR_EOF;
            break;
        }
        if (conn->pcb == NULL) {
            failure = conn->pcb_error == ERR_CLSD || conn->pcb_error == ERR_OK ? NET_ERROR_EOF
                                                                                 : net_error_from_lwip(conn->pcb_error);
            break;
        }
        net_park(conn->read_wake, &conn->read_timer, conn->read_deadline);
    }
    net_conn_leave(conn, &conn->read_lock);
    net_set_error(error, failure);
    return result;
}

/* --- Writing ------------------------------------------------------------------------------ */

long net_write(struct net_conn *conn, const void *data, size_t size, enum net_error *error)
{
    if (conn == NULL || (data == NULL && size > 0)) {
        net_set_error(error, NET_ERROR_INVALID);
        return 0;
    }
    net_conn_enter(conn, &conn->write_lock);
    size_t written = 0;
    enum net_error failure = NET_OK;
    for (;;) {
        if (conn->closed) {
            failure = NET_ERROR_CLOSED;
            break;
        }
        if (net_deadline_passed(conn->write_deadline)) {
            failure = NET_ERROR_TIMEOUT;
            break;
        }
        if (conn->write_closed) {
            failure = NET_ERROR_CLOSED;
            break;
        }
        if (conn->pcb == NULL) {
            failure = net_conn_failure(conn);
            break;
        }
        if (written == size)
            break;
        size_t left = size - written;
        size_t chunk = tcp_sndbuf(conn->pcb);
        if (chunk > left)
            chunk = left;
        if (chunk > 0xffff)   // tcp_write takes a u16_t
            chunk = 0xffff;
        err_t result = ERR_MEM;
        if (chunk > 0) {
            u8_t flags = TCP_WRITE_FLAG_COPY | (chunk < left ? TCP_WRITE_FLAG_MORE : 0);
            result = tcp_write(conn->pcb, (const uint8_t *)data + written, (u16_t)chunk, flags);
        }
        if (result == ERR_OK) {
            written += chunk;
            if (written == size)
                break;   // all of it, whatever the deadline does now
            continue;
        }
        if (result != ERR_MEM) {
            failure = net_error_from_lwip(result);
            break;
        }
        // No room (the buffer, or lwIP's segment count): send what is
        // queued, so that acknowledgements come back and net_tcp_sent
        // wakes us.
        tcp_output(conn->pcb);
        net_park(conn->write_wake, &conn->write_timer, conn->write_deadline);
    }
    if (conn->pcb && written > 0)
        tcp_output(conn->pcb);
    net_conn_leave(conn, &conn->write_lock);
    net_set_error(error, failure);
    return (long)written;
}

enum net_error net_close_write(struct net_conn *conn)
{
    if (conn == NULL)
        return NET_ERROR_INVALID;
    LOCK_TCPIP_CORE();
    enum net_error failure = NET_OK;
    if (conn->closed) {
        failure = NET_ERROR_CLOSED;
    } else if (!conn->write_closed) {
        if (conn->pcb == NULL) {
            failure = net_conn_failure(conn);
        } else {
            err_t result = tcp_shutdown(conn->pcb, 0, 1);
            if (result != ERR_OK) {
                failure = net_error_from_lwip(result);
            } else {
                conn->write_closed = true;
                // Their FIN came already: with ours the pcb heads for
                // LAST_ACK and is freed by lwIP; let go of it (see
                // net_tcp_received).
                if (conn->received_fin)
                    net_conn_detach(conn);
                chan_try_send(conn->write_wake, NULL);
            }
        }
    }
    UNLOCK_TCPIP_CORE();
    return failure;
}

/* --- Closing ------------------------------------------------------------------------------- */

void net_close(struct net_conn *conn)
{
    if (conn == NULL)
        return;
    LOCK_TCPIP_CORE();
    conn->closed = true;
    struct tcp_pcb *pcb = net_conn_detach(conn);
    if (pcb) {
        // A FIN after the data written so far (lwIP keeps sending it), or
        // an RST if the peer sent data nobody read -- lwIP sees that
        // tcp_recved was not called for it. lwIP 2.1.3 retries a FIN it
        // has no memory for by itself (TF_CLOSEPEND), so an error here is
        // something else, and only an abort is sure to free the pcb.
        if (tcp_close(pcb) != ERR_OK)
            tcp_abort(pcb);
    }
    net_conn_discard_received(conn);
    net_conn_wake_all(conn);
    bool last = net_conn_release(conn);
    UNLOCK_TCPIP_CORE();
    if (last)
        net_conn_free(conn);
}

/* --- Deadlines and addresses ---------------------------------------------------------------- */

void net_set_read_deadline(struct net_conn *conn, uint64_t deadline_ns)
{
    if (conn == NULL)
        return;
    LOCK_TCPIP_CORE();
    conn->read_deadline = deadline_ns;
    chan_try_send(conn->read_wake, NULL);   // a blocked read looks at the new deadline
    UNLOCK_TCPIP_CORE();
}

void net_set_write_deadline(struct net_conn *conn, uint64_t deadline_ns)
{
    if (conn == NULL)
        return;
    LOCK_TCPIP_CORE();
    conn->write_deadline = deadline_ns;
    chan_try_send(conn->write_wake, NULL);
    UNLOCK_TCPIP_CORE();
}

void net_set_deadline(struct net_conn *conn, uint64_t deadline_ns)
{
    if (conn == NULL)
        return;
    LOCK_TCPIP_CORE();
    conn->read_deadline = conn->write_deadline = deadline_ns;
    net_conn_wake_all(conn);
    UNLOCK_TCPIP_CORE();
}

struct net_address net_local_address(const struct net_conn *conn)
{
    return conn ? conn->local : (struct net_address){ 0, 0 };
}

struct net_address net_remote_address(const struct net_conn *conn)
{
    return conn ? conn->remote : (struct net_address){ 0, 0 };
}

/* --- Statistics ------------------------------------------------------------------------------- */

void net_read_statistics(struct net_statistics *statistics)
{
    net_init();
    LOCK_TCPIP_CORE();
    *statistics = net_tcp_statistics;
    UNLOCK_TCPIP_CORE();
}
