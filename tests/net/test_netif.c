/*
 * The NIC glue (net/netif.c), hosted, with a fake card whose wire is the
 * test.
 *
 * The glue is where lwIP meets a driver: frames out through the driver's
 * transmit, frames in through its receive, and, with a card that finishes
 * TCP checksums, the checksum bookkeeping between the two -- seeding each
 * outgoing segment's pseudo-header sum for the card, setting lwIP's check
 * flags per received frame from what the card verified, and leaving the
 * segments lwIP loops back to its own address unchecksummed. A mistake in
 * any of these does not crash anything: segments are silently dropped by
 * one side or the other. So these tests play the other side of the wire.
 *
 * The fake card (a struct net_device) records every frame the glue
 * transmits into a channel, finishing its TCP checksum as a card does when
 * given a layout, and hands the frames the test queued to the glue with
 * the verified bits the test chose. The test is a peer at 10.0.0.2: it
 * resolves 10.0.0.1 with ARP, then builds TCP segments (and an ICMP echo
 * request) byte by byte, and checks every segment that comes back with a
 * checksum computed here from scratch. Each test runs for a card with and
 * without transmit_checksum, on 1 and on 2 Ps:
 *
 *   - a SYN is answered with a SYN-ACK whose checksum verifies; with
 *     offload, the card was asked to finish it (start 34, offset 16) and
 *     the field held the pseudo-header's sum; without, it came finished;
 *   - corrupted checksums are dropped unless the card says it verified
 *     them, and the interface's flags are back to their base after each
 *     frame (a corrupted SYN after an accepted one is dropped again);
 *   - a whole connection: handshake, data both ways (odd sizes, a segment
 *     dropped for its checksum and resent), ACKs;
 *   - a segment lwIP sends as a pbuf chain (a no-copy write) is gathered
 *     and finished like any other;
 *   - ICMP goes out without a checksum layout and with a right checksum;
 *   - connections to the interface's own address (lwIP's loop queue) work
 *     with offload on, and not one of their frames reaches the card.
 *
 * Nothing asserts on time except "nothing arrived" checks, which wait
 * NOTHING_WAIT_NS for a frame that must not come. Everything else waits
 * without a limit (Check's timeout is the backstop). Each test runs a
 * whole runtime in a process of its own (Check forks), so each starts the
 * interface afresh.
 */
#include "chan.h"
#include "checksum_offload.h"
#include "internet_checksum.h"
#include "lwip/netif.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"
#include "net.h"
#include "net_config.h"
#include "netif.h"
#include "netpoll.h"
#include "runtime.h"
#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MILLISECOND 1000000ull
// How long a "nothing arrived" check waits for the frame that must not come.
#define NOTHING_WAIT_NS (200 * MILLISECOND)

#define FRAME_MAX 1514
#define ETHERNET_HEADER_BYTES 14
#define ETHERNET_MINIMUM 60   // without the CRC: shorter frames are padded
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define IP_PROTOCOL_ICMP 1

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

#define INTERFACE_IP NET_IPV4(10, 0, 0, 1)
#define PEER_IP NET_IPV4(10, 0, 0, 2)
#define LISTEN_PORT 8080
#define RAW_PORT 8081
#define PEER_WINDOW 65535

static const uint8_t interface_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

/* --- The fake card ----------------------------------------------------------------------------- */

// A frame on the wire, either way.
struct card_frame {
    uint16_t length;
    // Sent: whether transmit was given a checksum layout, the layout, and
    // what the checksum field held before the card finished it.
    bool offloaded;
    struct net_transmit_checksum checksum;
    uint16_t field_before;
    // Received: the NET_VERIFIED_* bits the card reports with it.
    unsigned verified;
    uint8_t bytes[FRAME_MAX + 4];
};

#define CARD_QUEUE 1024

static struct card {
    struct net_device device;
    // What the interface transmitted (struct card_frame). Transmit runs
    // under lwIP's core lock, from whichever goroutine sends, and must not
    // block: it only ever tries to send here, and counts what found no room.
    struct chan *sent;
    uint64_t sent_lost;
    // What the interface is to receive, queued by the test (struct card_frame).
    struct chan *wire;
} card;

static bool card_transmit(struct net_device *device, const void *frame, size_t length,
                          const struct net_transmit_checksum *checksum)
{
    ck_assert_ptr_eq(device, &card.device);
    ck_assert_uint_ge(length, ETHERNET_HEADER_BYTES);
    ck_assert_uint_le(length, FRAME_MAX);
    struct card_frame record;
    memset(&record, 0, offsetof(struct card_frame, bytes));
    record.length = (uint16_t)length;
    memcpy(record.bytes, frame, length);
    if (checksum != NULL) {
        // The glue may ask only a card that said it can.
        ck_assert_msg(device->transmit_checksum, "a checksum layout for a card without transmit_checksum");
        ck_assert_uint_le((size_t)checksum->start + checksum->offset + 2, length);
        record.offloaded = true;
        record.checksum = *checksum;
        uint8_t *field = record.bytes + checksum->start + checksum->offset;
        record.field_before = read16(field);
        // What the card does: sum from start to the end of the frame, the
        // field as it is included, and store the complement.
        write16(field, (uint16_t)~fold(sum_bytes(0, record.bytes + checksum->start, length - checksum->start)));
    }
    if (!chan_try_send(card.sent, &record))
        __atomic_add_fetch(&card.sent_lost, 1, __ATOMIC_RELAXED);
    return true;
}

static size_t card_receive(struct net_device *device,
                           void (*deliver)(void *context, const void *frame, size_t length, unsigned verified),
                           void *context, size_t budget)
{
    ck_assert_ptr_eq(device, &card.device);
    size_t count = 0;
    struct card_frame frame;
    // (deliver may transmit -- a SYN-ACK for a SYN -- before it returns.)
    while (count < budget && chan_try_receive(card.wire, &frame, NULL)) {
        deliver(context, frame.bytes, frame.length, frame.verified);
        count++;
    }
    return count;
}

static void card_reclaim(struct net_device *device)
{
    (void)device;
}

static bool card_link_up(struct net_device *device)
{
    (void)device;
    return true;
}

static void card_interrupts_enable(struct net_device *device)
{
    (void)device;
}

static const struct net_device_operations card_operations = {
    .transmit = card_transmit,
    .receive = card_receive,
    .reclaim = card_reclaim,
    .link_up = card_link_up,
    .interrupts_enable = card_interrupts_enable,
};

// Puts a frame on the wire towards the interface, padded to Ethernet's
// minimum as a real wire would, and raises the card's "interrupt".
static void card_put(const uint8_t *frame, size_t length, unsigned verified)
{
    struct card_frame record;
    memset(&record, 0, sizeof record);
    ck_assert_uint_le(length, FRAME_MAX);
    memcpy(record.bytes, frame, length);
    record.length = (uint16_t)(length < ETHERNET_MINIMUM ? ETHERNET_MINIMUM : length);
    record.verified = verified;
    chan_send(card.wire, &record);
    netpoll_signal(&card.device.interrupt);
}

// The next frame the interface sent: waits without a limit when `deadline`
// is NULL, else until it fires (false).
static bool card_next(struct card_frame *frame, struct chan *deadline)
{
    if (deadline == NULL) {
        chan_receive(card.sent, frame);
        return true;
    }
    uint64_t fired;
    struct select_case cases[] = {
        { .chan = card.sent, .direction = SELECT_RECEIVE, .element = frame },
        { .chan = deadline, .direction = SELECT_RECEIVE, .element = &fired },
    };
    return chan_select(cases, 2, false) == 0;
}

// The interface's lwIP checksum flags (between frames: the lock is taken
// only between the card goroutine's batches).
static uint16_t interface_checksum_flags(void)
{
    LOCK_TCPIP_CORE();
    uint16_t flags = netif_default->chksum_flags;
    UNLOCK_TCPIP_CORE();
    return flags;
}

static uint16_t base_checksum_flags(bool transmit_checksum)
{
    return transmit_checksum ? NETIF_CHECKSUM_ENABLE_ALL & ~(NETIF_CHECKSUM_GEN_TCP | NETIF_CHECKSUM_CHECK_TCP)
                             : NETIF_CHECKSUM_ENABLE_ALL;
}

// Starts lwIP and the interface on the fake card, 10.0.0.1/24.
static void start_interface(bool transmit_checksum)
{
    net_init();
    card.sent = chan_make(sizeof(struct card_frame), CARD_QUEUE);
    card.wire = chan_make(sizeof(struct card_frame), CARD_QUEUE);
    card.device = (struct net_device){
        .name = "fake",
        .mtu = 1500,
        .transmit_checksum = transmit_checksum,
        .operations = &card_operations,
    };
    memcpy(card.device.mac, interface_mac, sizeof interface_mac);
    struct net_config config = { .dhcp = false, .address = INTERFACE_IP, .prefix_length = 24 };
    char error[128] = "";
    ck_assert_msg(net_device_start(&card.device, &config, error, sizeof error), "net_device_start: %s", error);
    net_device_wait_address();
    ck_assert_uint_eq(interface_checksum_flags(), base_checksum_flags(transmit_checksum));
}

/* --- Frames the peer sends ------------------------------------------------------------------- */

static size_t build_ethernet(uint8_t *frame, const uint8_t *destination, uint16_t ethertype)
{
    memcpy(frame, destination, 6);
    memcpy(frame + 6, peer_mac, 6);
    write16(frame + 12, ethertype);
    return ETHERNET_HEADER_BYTES;
}

// An IPv4 header from the peer to the interface at frame + 14, with a
// right header checksum, for `payload_length` bytes after it.
static void build_ip(uint8_t *frame, uint8_t protocol, size_t payload_length)
{
    static uint16_t identification;
    uint8_t *ip = frame + ETHERNET_HEADER_BYTES;
    ip[0] = 0x45;
    ip[1] = 0;
    write16(ip + 2, (uint16_t)(20 + payload_length));
    write16(ip + 4, ++identification);
    write16(ip + 6, 0x4000);   // DF
    ip[8] = 64;
    ip[9] = protocol;
    write16(ip + 10, 0);
    write32(ip + 12, PEER_IP);
    write32(ip + 16, INTERFACE_IP);
    write16(ip + 10, (uint16_t)~fold(sum_bytes(0, ip, 20)));
}

enum corruption {
    INTACT = 0,
    BAD_TCP_CHECKSUM = 1 << 0,
    BAD_IP_CHECKSUM = 1 << 1,
};

struct peer_segment {
    uint16_t source_port;
    uint16_t destination_port;
    uint32_t sequence;
    uint32_t acknowledgement;
    uint8_t flags;
    bool mss_option;           // SYN: MSS 1460
    const uint8_t *payload;
    size_t payload_length;
    enum corruption corruption;
};

// Builds an Ethernet frame with the segment; returns its length (before
// the wire's padding).
static size_t build_segment(uint8_t *frame, const struct peer_segment *segment)
{
    size_t options = segment->mss_option ? 4 : 0;
    size_t tcp_length = 20 + options + segment->payload_length;
    ck_assert_uint_le(ETHERNET_HEADER_BYTES + 20 + tcp_length, FRAME_MAX);
    build_ethernet(frame, interface_mac, ETHERTYPE_IPV4);
    build_ip(frame, IP_PROTOCOL_TCP, tcp_length);
    uint8_t *ip = frame + ETHERNET_HEADER_BYTES;
    uint8_t *tcp = ip + 20;
    write16(tcp, segment->source_port);
    write16(tcp + 2, segment->destination_port);
    write32(tcp + 4, segment->sequence);
    write32(tcp + 8, segment->acknowledgement);
    tcp[12] = (uint8_t)((20 + options) / 4 << 4);
    tcp[13] = segment->flags;
    write16(tcp + 14, PEER_WINDOW);
    write16(tcp + 16, 0);
    write16(tcp + 18, 0);
    if (segment->mss_option) {
        tcp[20] = 2;
        tcp[21] = 4;
        write16(tcp + 22, 1460);
    }
    if (segment->payload_length > 0)
        memcpy(tcp + 20 + options, segment->payload, segment->payload_length);
    write16(tcp + 16, (uint16_t)~fold(sum_bytes(pseudo_header_sum(ip, tcp_length), tcp, tcp_length)));
    ck_assert(tcp_checksum_verifies(ip));
    if (segment->corruption & BAD_TCP_CHECKSUM) {
        tcp[16] ^= 0x55;
        ck_assert(!tcp_checksum_verifies(ip));
    }
    if (segment->corruption & BAD_IP_CHECKSUM) {
        ip[10] ^= 0x55;
        ck_assert(!ip_header_checksum_verifies(ip));
    }
    return ETHERNET_HEADER_BYTES + 20 + tcp_length;
}

static void send_segment(const struct peer_segment *segment, unsigned verified)
{
    uint8_t frame[FRAME_MAX];
    size_t length = build_segment(frame, segment);
    card_put(frame, length, verified);
}

/* --- Frames the interface sends ---------------------------------------------------------------- */

static bool transmit_checksum_on;   // the card of this test

// A TCP segment the interface sent, pointing into its card_frame.
struct segment {
    uint16_t source_port, destination_port;
    uint32_t sequence, acknowledgement;
    uint8_t flags;
    const uint8_t *payload;
    size_t payload_length;
};

static bool is_ipv4(const struct card_frame *frame)
{
    return frame->length >= ETHERNET_HEADER_BYTES + 20 && read16(frame->bytes + 12) == ETHERTYPE_IPV4;
}

// Checks what every IPv4 frame from the interface must be -- addressed to
// the peer's MAC from the interface's, with a right header checksum, TCP
// finished by the card with a layout exactly when offload is on, and its
// checksum right -- and parses a TCP segment.
static bool parse_sent(const struct card_frame *frame, struct segment *segment)
{
    if (!is_ipv4(frame)) {
        ck_assert_msg(!frame->offloaded, "a checksum layout for a frame that is not IPv4");
        return false;
    }
    const uint8_t *ip = frame->bytes + ETHERNET_HEADER_BYTES;
    size_t header = (size_t)(ip[0] & 0x0F) * 4;
    size_t total = read16(ip + 2);
    ck_assert_uint_eq(ip[0] >> 4, 4);
    ck_assert_uint_eq(ETHERNET_HEADER_BYTES + total, frame->length);   // lwIP pads nothing
    ck_assert(ip_header_checksum_verifies(ip));
    ck_assert_int_eq(memcmp(frame->bytes, peer_mac, 6), 0);
    ck_assert_int_eq(memcmp(frame->bytes + 6, interface_mac, 6), 0);
    ck_assert_uint_eq(read32(ip + 12), INTERFACE_IP);
    if (ip[9] != IP_PROTOCOL_TCP) {
        ck_assert_msg(!frame->offloaded, "a checksum layout for IP protocol %u", ip[9]);
        return false;
    }
    const uint8_t *tcp = ip + header;
    size_t tcp_length = total - header;
    ck_assert_msg(tcp_checksum_verifies(ip), "a TCP segment with a wrong checksum (%s)",
                  frame->offloaded ? "finished by the card" : "finished by lwIP");
    if (transmit_checksum_on) {
        ck_assert_msg(frame->offloaded, "a TCP segment not handed to the card to finish");
        ck_assert_uint_eq(frame->checksum.start, ETHERNET_HEADER_BYTES + header);
        ck_assert_uint_eq(frame->checksum.start, 34);   // lwIP sends no IP options
        ck_assert_uint_eq(frame->checksum.offset, 16);
        ck_assert_uint_eq(frame->field_before, pseudo_header_sum(ip, tcp_length));
    } else {
        ck_assert_msg(!frame->offloaded, "a checksum layout for a card that cannot finish checksums");
    }
    size_t tcp_header = (size_t)(tcp[12] >> 4) * 4;
    ck_assert_uint_ge(tcp_header, 20);
    ck_assert_uint_le(tcp_header, tcp_length);
    *segment = (struct segment){
        .source_port = read16(tcp),
        .destination_port = read16(tcp + 2),
        .sequence = read32(tcp + 4),
        .acknowledgement = read32(tcp + 8),
        .flags = tcp[13],
        .payload = tcp + tcp_header,
        .payload_length = tcp_length - tcp_header,
    };
    return true;
}

// The next TCP segment to the peer's `port`, checked; other frames are
// checked and passed over. Waits without a limit when `deadline` is NULL;
// false when the deadline fires first.
static bool await_segment(uint16_t port, struct chan *deadline, struct card_frame *frame, struct segment *segment)
{
    while (card_next(frame, deadline))
        if (parse_sent(frame, segment) && segment->destination_port == port)
            return true;
    return false;
}

// Checks that no TCP segment for the peer's `port` comes within
// NOTHING_WAIT_NS.
static void expect_no_segment(uint16_t port, const char *why)
{
    struct card_frame frame;
    struct segment segment = { 0 };
    struct chan *deadline = chan_after(NOTHING_WAIT_NS);
    bool arrived = await_segment(port, deadline, &frame, &segment);
    chan_free(deadline);
    // (A frame that came as the timer fired is still in the queue.)
    while (!arrived && chan_try_receive(card.sent, &frame, NULL))
        arrived = parse_sent(&frame, &segment) && segment.destination_port == port;
    ck_assert_msg(!arrived, "%s: answered (flags 0x%02x)", why, segment.flags);
}

/* --- The peer ------------------------------------------------------------------------------------ */

// Resolves 10.0.0.1: an ARP request, answered with the interface's MAC
// (and lwIP learns the peer's from it).
static void peer_resolve(void)
{
    uint8_t frame[ETHERNET_MINIMUM] = { 0 };
    static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    build_ethernet(frame, broadcast, ETHERTYPE_ARP);
    uint8_t *arp = frame + ETHERNET_HEADER_BYTES;
    write16(arp, 1);        // Ethernet
    write16(arp + 2, ETHERTYPE_IPV4);
    arp[4] = 6;
    arp[5] = 4;
    write16(arp + 6, 1);    // request
    memcpy(arp + 8, peer_mac, 6);
    write32(arp + 14, PEER_IP);
    write32(arp + 24, INTERFACE_IP);
    card_put(frame, 42, 0);

    for (;;) {
        struct card_frame reply;
        card_next(&reply, NULL);
        if (reply.length < 42 || read16(reply.bytes + 12) != ETHERTYPE_ARP)
            continue;
        ck_assert(!reply.offloaded);
        const uint8_t *answer = reply.bytes + ETHERNET_HEADER_BYTES;
        if (read16(answer + 6) != 2)
            continue;   // lwIP's own announcement (a gratuitous request)
        ck_assert_int_eq(memcmp(reply.bytes, peer_mac, 6), 0);
        ck_assert_int_eq(memcmp(answer + 8, interface_mac, 6), 0);
        ck_assert_uint_eq(read32(answer + 14), INTERFACE_IP);
        ck_assert_int_eq(memcmp(answer + 18, peer_mac, 6), 0);
        ck_assert_uint_eq(read32(answer + 24), PEER_IP);
        return;
    }
}

// One TCP connection from the peer.
struct peer {
    uint16_t port;       // the peer's
    uint16_t remote_port;
    uint32_t next;       // the peer's next sequence number
    uint32_t expected;   // the interface's next sequence number
};

// Sends a SYN from `port`; returns its sequence number.
static uint32_t send_syn(uint16_t port, uint16_t remote_port, enum corruption corruption, unsigned verified)
{
    uint32_t sequence = 0x10000000u + (uint32_t)port * 0x10001u;
    struct peer_segment syn = {
        .source_port = port,
        .destination_port = remote_port,
        .sequence = sequence,
        .flags = TCP_SYN,
        .mss_option = true,
        .corruption = corruption,
    };
    send_segment(&syn, verified);
    return sequence;
}

// Waits for the SYN-ACK to a SYN sent with `sequence` and checks it;
// returns the interface's initial sequence number.
static uint32_t expect_syn_ack(uint16_t port, uint32_t sequence)
{
    struct card_frame frame;
    struct segment segment;
    await_segment(port, NULL, &frame, &segment);
    ck_assert_msg(segment.flags == (TCP_SYN | TCP_ACK), "flags 0x%02x, not SYN-ACK", segment.flags);
    ck_assert_uint_eq(segment.acknowledgement, sequence + 1);
    ck_assert_uint_eq(segment.payload_length, 0);
    return segment.sequence;
}

static void peer_send(struct peer *peer, uint8_t flags, const void *data, size_t length, enum corruption corruption,
                      unsigned verified)
{
    struct peer_segment segment = {
        .source_port = peer->port,
        .destination_port = peer->remote_port,
        .sequence = peer->next,
        .acknowledgement = peer->expected,
        .flags = flags,
        .payload = data,
        .payload_length = length,
        .corruption = corruption,
    };
    send_segment(&segment, verified);
}

static void peer_connect(struct peer *peer, uint16_t port, uint16_t remote_port)
{
    *peer = (struct peer){ .port = port, .remote_port = remote_port };
    uint32_t sequence = send_syn(port, remote_port, INTACT, 0);
    peer->next = sequence + 1;
    peer->expected = expect_syn_ack(port, sequence) + 1;
    peer_send(peer, TCP_ACK, NULL, 0, INTACT, 0);
}

// Whether `segment` is one the peer has had already, resent because its
// acknowledgement was slow to arrive (a SYN-ACK, or data): if so, the
// peer acknowledges it again.
static bool peer_old_segment(struct peer *peer, const struct segment *segment)
{
    uint32_t end = segment->sequence + (uint32_t)segment->payload_length;
    bool old = (segment->flags & TCP_SYN) != 0 || (segment->payload_length > 0 && (int32_t)(end - peer->expected) <= 0);
    if (old)
        peer_send(peer, TCP_ACK, NULL, 0, INTACT, 0);
    return old;
}

// Receives exactly `size` bytes in order, acknowledging each segment.
// Returns the acknowledgement number of the segment that completed them.
static uint32_t peer_receive(struct peer *peer, uint8_t *buffer, size_t size)
{
    size_t received = 0;
    uint32_t acknowledgement = 0;
    while (received < size) {
        struct card_frame frame;
        struct segment segment;
        await_segment(peer->port, NULL, &frame, &segment);
        ck_assert_msg(!(segment.flags & (TCP_RST | TCP_FIN)), "unexpected flags 0x%02x", segment.flags);
        ck_assert(segment.flags & TCP_ACK);
        if (peer_old_segment(peer, &segment))
            continue;
        if (segment.payload_length == 0)
            continue;   // an acknowledgement alone
        ck_assert_uint_eq(segment.sequence, peer->expected);
        ck_assert_uint_le(segment.payload_length, size - received);
        memcpy(buffer + received, segment.payload, segment.payload_length);
        received += segment.payload_length;
        peer->expected += (uint32_t)segment.payload_length;
        acknowledgement = segment.acknowledgement;
        peer_send(peer, TCP_ACK, NULL, 0, INTACT, 0);
    }
    return acknowledgement;
}

/* --- Helpers ------------------------------------------------------------------------------------ */

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

static void pattern_fill(uint8_t *buffer, size_t size, uint32_t seed)
{
    for (size_t i = 0; i < size; i++)
        buffer[i] = pattern_byte(seed, i);
}

static struct net_listener *listen_on(uint32_t ip, uint16_t port)
{
    struct net_address address = { .ip = ip, .port = port };
    enum net_error error = NET_ERROR_INTERNAL;
    struct net_listener *listener = net_listen(&address, 0, &error);
    ck_assert_msg(listener != NULL, "listen: %s", net_error_string(error));
    return listener;
}

// Test index: bit 0 the card's transmit_checksum, bit 1 a second P.
static int run(goroutine_function main_function, int index)
{
    struct runtime_config config = { .procs = 1 + (index >> 1 & 1) };
    return runtime_run(main_function, (void *)(intptr_t)index, &config);
}

static bool transmit_checksum_of(void *argument)
{
    transmit_checksum_on = ((intptr_t)argument & 1) != 0;
    return transmit_checksum_on;
}

static void expect_nothing_lost(void)
{
    ck_assert_uint_eq(__atomic_load_n(&card.sent_lost, __ATOMIC_RELAXED), 0);
}

/* --- A SYN and its SYN-ACK ------------------------------------------------------------------------ */

static void syn_is_answered(void *argument)
{
    bool transmit_checksum = transmit_checksum_of(argument);
    start_interface(transmit_checksum);
    listen_on(NET_IPV4_ANY, LISTEN_PORT);
    peer_resolve();

    uint32_t sequence = send_syn(40000, LISTEN_PORT, INTACT, 0);
    struct card_frame frame;
    struct segment segment;
    await_segment(40000, NULL, &frame, &segment);   // (parse_sent checked the checksum and the layout)
    ck_assert_uint_eq(segment.flags, TCP_SYN | TCP_ACK);
    ck_assert_uint_eq(segment.source_port, LISTEN_PORT);
    ck_assert_uint_eq(segment.acknowledgement, sequence + 1);
    ck_assert_uint_eq(frame.offloaded, transmit_checksum);
    if (transmit_checksum) {
        const uint8_t *ip = frame.bytes + ETHERNET_HEADER_BYTES;
        ck_assert_uint_eq(frame.checksum.start, 34);
        ck_assert_uint_eq(frame.checksum.offset, 16);
        ck_assert_uint_eq(frame.field_before, pseudo_header_sum(ip, read16(ip + 2) - 20u));
    }
    // A SYN to a port nobody listens on gets a RST, finished the same way.
    send_syn(40001, LISTEN_PORT + 10, INTACT, 0);
    await_segment(40001, NULL, &frame, &segment);
    ck_assert(segment.flags & TCP_RST);
    ck_assert_uint_eq(frame.offloaded, transmit_checksum);
    ck_assert_uint_eq(interface_checksum_flags(), base_checksum_flags(transmit_checksum));
    expect_nothing_lost();
}

START_TEST(test_a_syn_is_answered_with_a_syn_ack_whose_checksum_verifies)
{
    ck_assert_int_eq(run(syn_is_answered, _i), 0);
}
END_TEST

/* --- Checksums verified by the card, or not ----------------------------------------------------- */

static void corrupted_checksums(void *argument)
{
    bool transmit_checksum = transmit_checksum_of(argument);
    uint16_t base = base_checksum_flags(transmit_checksum);
    start_interface(transmit_checksum);
    listen_on(NET_IPV4_ANY, LISTEN_PORT);
    peer_resolve();

    // Each SYN from a port of its own: what decides is its checksum, not
    // a connection an earlier one left.
    struct {
        uint16_t port;
        enum corruption corruption;
        unsigned verified;
        bool answered;
        const char *what;
    } steps[] = {
        { 41000, BAD_TCP_CHECKSUM, 0, false, "a bad TCP checksum, nothing verified" },
        { 41001, BAD_TCP_CHECKSUM, NET_VERIFIED_IPV4_HEADER, false, "a bad TCP checksum, the IP header verified" },
        { 41002, BAD_TCP_CHECKSUM, NET_VERIFIED_TCP_UDP, true, "a bad TCP checksum the card vouched for" },
        { 41003, BAD_TCP_CHECKSUM, 0, false, "a bad TCP checksum after one the card vouched for" },
        { 41004, BAD_IP_CHECKSUM, 0, false, "a bad IP header checksum, nothing verified" },
        { 41005, BAD_IP_CHECKSUM, NET_VERIFIED_TCP_UDP, false, "a bad IP header checksum, TCP verified" },
        { 41006, BAD_IP_CHECKSUM, NET_VERIFIED_IPV4_HEADER, true, "a bad IP header checksum the card vouched for" },
        { 41007, BAD_IP_CHECKSUM, 0, false, "a bad IP header checksum after one the card vouched for" },
        { 41008, BAD_IP_CHECKSUM | BAD_TCP_CHECKSUM, NET_VERIFIED_IPV4_HEADER | NET_VERIFIED_TCP_UDP, true,
          "both bad, both vouched for" },
        { 41009, BAD_IP_CHECKSUM | BAD_TCP_CHECKSUM, NET_VERIFIED_IPV4_HEADER, false,
          "both bad, only the IP header vouched for" },
        { 41010, INTACT, 0, true, "intact, nothing verified" },
        { 41011, INTACT, NET_VERIFIED_IPV4_HEADER | NET_VERIFIED_TCP_UDP, true, "intact, both verified" },
        { 41012, BAD_TCP_CHECKSUM, 0, false, "a bad TCP checksum at the end" },
    };
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        uint32_t sequence = send_syn(steps[i].port, LISTEN_PORT, steps[i].corruption, steps[i].verified);
        if (steps[i].answered)
            expect_syn_ack(steps[i].port, sequence);
        else
            expect_no_segment(steps[i].port, steps[i].what);
        // The frame's flags were for that frame alone.
        ck_assert_msg(interface_checksum_flags() == base, "after %s: flags 0x%04x, not 0x%04x", steps[i].what,
                      interface_checksum_flags(), base);
    }
    expect_nothing_lost();
}

START_TEST(test_corrupted_checksums_are_dropped_unless_the_card_verified_them)
{
    ck_assert_int_eq(run(corrupted_checksums, _i), 0);
}
END_TEST

/* --- A whole connection --------------------------------------------------------------------------- */

// Accepts one connection and echoes it until EOF.
static void echo_server(void *argument)
{
    struct net_listener *listener = argument;
    enum net_error error = NET_ERROR_INTERNAL;
    struct net_conn *conn = net_accept(listener, &error);
    ck_assert_msg(conn != NULL, "accept: %s", net_error_string(error));
    uint8_t buffer[4096];
    long n;
    while ((n = net_read(conn, buffer, sizeof buffer, &error)) > 0)
        ck_assert_int_eq(net_write(conn, buffer, (size_t)n, &error), n);
    ck_assert_msg(error == NET_ERROR_EOF, "echo read: %s", net_error_string(error));
    net_close(conn);
}

static void connection(void *argument)
{
    bool transmit_checksum = transmit_checksum_of(argument);
    start_interface(transmit_checksum);
    go(echo_server, listen_on(NET_IPV4_ANY, LISTEN_PORT));
    peer_resolve();
    struct peer peer;
    peer_connect(&peer, 42000, LISTEN_PORT);

    // 1001 bytes (an odd segment), first with a bad checksum the card did
    // not vouch for and other contents: dropped, so what comes back is
    // what the intact copy, sent next with the same sequence number, holds.
    static uint8_t sent[3000], garbage[1001], received[3000];
    pattern_fill(sent, sizeof sent, 1);
    pattern_fill(garbage, sizeof garbage, 2);
    peer_send(&peer, TCP_ACK | TCP_PSH, garbage, sizeof garbage, BAD_TCP_CHECKSUM, 0);
    peer_send(&peer, TCP_ACK | TCP_PSH, sent, 1001, INTACT, 0);
    peer.next += 1001;
    uint32_t acknowledgement = peer_receive(&peer, received, 1001);
    ck_assert_int_eq(memcmp(received, sent, 1001), 0);
    ck_assert_uint_eq(acknowledgement, peer.next);   // the echo acknowledges what it echoes

    // Then 1999 more in segments of 1460, 1, 0 and 538 bytes, whose
    // checksums are all wrong and all vouched for by the card.
    static const size_t pieces[] = { 1460, 1, 0, 538 };
    size_t offset = 1001;
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
        peer_send(&peer, TCP_ACK | TCP_PSH, sent + offset, pieces[i], BAD_TCP_CHECKSUM, NET_VERIFIED_TCP_UDP);
        peer.next += (uint32_t)pieces[i];
        offset += pieces[i];
    }
    ck_assert_uint_eq(offset, sizeof sent);
    acknowledgement = peer_receive(&peer, received + 1001, sizeof sent - 1001);
    ck_assert_int_eq(memcmp(received, sent, sizeof sent), 0);
    ck_assert_uint_eq(acknowledgement, peer.next);

    // The peer closes; the server closes back: FIN, and its ACK, both ways.
    peer_send(&peer, TCP_ACK | TCP_FIN, NULL, 0, INTACT, 0);
    peer.next += 1;
    bool fin = false;
    while (!fin) {
        struct card_frame frame;
        struct segment segment;
        await_segment(peer.port, NULL, &frame, &segment);
        ck_assert(!(segment.flags & TCP_RST));
        if (peer_old_segment(&peer, &segment))
            continue;
        ck_assert_uint_eq(segment.payload_length, 0);
        if (segment.flags & TCP_FIN) {
            ck_assert_uint_eq(segment.sequence, peer.expected);
            ck_assert_uint_eq(segment.acknowledgement, peer.next);
            fin = true;
        }
    }
    peer.expected += 1;
    peer_send(&peer, TCP_ACK, NULL, 0, INTACT, 0);
    ck_assert_uint_eq(interface_checksum_flags(), base_checksum_flags(transmit_checksum));
    expect_nothing_lost();
}

START_TEST(test_a_connection_carries_data_both_ways)
{
    ck_assert_int_eq(run(connection, _i), 0);
}
END_TEST

/* --- A segment in a pbuf chain ---------------------------------------------------------------------- */

// Sent without copying (lwIP's raw API, no TCP_WRITE_FLAG_COPY): lwIP puts
// the headers in one pbuf and refers to this in a second, so the segment
// reaches linkoutput as a chain, which the glue gathers before the card
// sees it.
static uint8_t chained_data[777];

static err_t raw_accepted(void *argument, struct tcp_pcb *pcb, err_t error)
{
    (void)argument;
    ck_assert_int_eq(error, ERR_OK);
    ck_assert_int_eq(tcp_write(pcb, chained_data, sizeof chained_data, 0), ERR_OK);
    tcp_output(pcb);
    return ERR_OK;
}

static void chained_segment(void *argument)
{
    transmit_checksum_of(argument);
    pattern_fill(chained_data, sizeof chained_data, 3);
    start_interface(transmit_checksum_on);
    LOCK_TCPIP_CORE();
    struct tcp_pcb *listener = tcp_new();
    ck_assert_ptr_nonnull(listener);
    ck_assert_int_eq(tcp_bind(listener, IP4_ADDR_ANY, RAW_PORT), ERR_OK);
    listener = tcp_listen(listener);
    ck_assert_ptr_nonnull(listener);
    tcp_accept(listener, raw_accepted);
    UNLOCK_TCPIP_CORE();
    peer_resolve();

    struct peer peer;
    peer_connect(&peer, 43000, RAW_PORT);
    static uint8_t received[sizeof chained_data];
    peer_receive(&peer, received, sizeof received);
    ck_assert_int_eq(memcmp(received, chained_data, sizeof chained_data), 0);
    expect_nothing_lost();
}

START_TEST(test_a_segment_in_a_pbuf_chain_is_gathered_and_finished)
{
    ck_assert_int_eq(run(chained_segment, _i), 0);
}
END_TEST

/* --- ICMP ----------------------------------------------------------------------------------------- */

static void ping(void *argument)
{
    transmit_checksum_of(argument);
    start_interface(transmit_checksum_on);
    peer_resolve();

    // An echo request with 33 bytes of data (odd, as checksums like).
    uint8_t frame[FRAME_MAX] = { 0 };
    size_t icmp_length = 8 + 33;
    build_ethernet(frame, interface_mac, ETHERTYPE_IPV4);
    build_ip(frame, IP_PROTOCOL_ICMP, icmp_length);
    uint8_t *icmp = frame + ETHERNET_HEADER_BYTES + 20;
    icmp[0] = 8;   // echo request
    write16(icmp + 4, 0x1234);
    write16(icmp + 6, 7);
    pattern_fill(icmp + 8, 33, 4);
    write16(icmp + 2, (uint16_t)~fold(sum_bytes(0, icmp, icmp_length)));
    card_put(frame, ETHERNET_HEADER_BYTES + 20 + icmp_length, 0);

    for (;;) {
        struct card_frame reply;
        struct segment unused;
        card_next(&reply, NULL);
        if (parse_sent(&reply, &unused) || !is_ipv4(&reply))
            continue;   // (parse_sent checked it has no checksum layout)
        const uint8_t *ip = reply.bytes + ETHERNET_HEADER_BYTES;
        ck_assert_uint_eq(ip[9], IP_PROTOCOL_ICMP);
        ck_assert_uint_eq(read16(ip + 2), 20 + icmp_length);
        const uint8_t *answer = ip + 20;
        ck_assert_uint_eq(answer[0], 0);   // echo reply
        ck_assert_uint_eq(fold(sum_bytes(0, answer, icmp_length)), 0xFFFF);
        ck_assert_int_eq(memcmp(answer + 4, icmp + 4, icmp_length - 4), 0);
        break;
    }
    expect_nothing_lost();
}

START_TEST(test_icmp_goes_out_without_a_checksum_layout)
{
    ck_assert_int_eq(run(ping, _i), 0);
}
END_TEST

/* --- The interface's own address ------------------------------------------------------------------- */

#define LOOPED_BYTES (64 * 1024)

struct looped_client {
    uint8_t *sent, *received;
    struct net_conn *conn;
    struct chan *written;    // the writer is done
    struct chan *finished;   // the whole echo is in `received`
};

static void looped_writer(void *argument)
{
    struct looped_client *client = argument;
    enum net_error error = NET_ERROR_INTERNAL;
    ck_assert_int_eq(net_write(client->conn, client->sent, LOOPED_BYTES, &error), LOOPED_BYTES);
    ck_assert_int_eq(net_close_write(client->conn), NET_OK);
    chan_send(client->written, NULL);
}

// Dials the interface's own address, sends LOOPED_BYTES (from a goroutine
// of its own, so that the echo never waits for the writer) and reads the
// echo, then EOF.
static void looped_dialer(void *argument)
{
    struct looped_client *client = argument;
    struct net_address address = { .ip = INTERFACE_IP, .port = LISTEN_PORT };
    enum net_error error = NET_ERROR_INTERNAL;
    client->conn = net_dial(&address, 0, &error);
    ck_assert_msg(client->conn != NULL, "dial: %s", net_error_string(error));
    ck_assert_uint_eq(net_local_address(client->conn).ip, INTERFACE_IP);
    go(looped_writer, client);
    size_t received = 0;
    while (received < LOOPED_BYTES) {
        long n = net_read(client->conn, client->received + received, LOOPED_BYTES - received, &error);
        ck_assert_msg(n > 0, "read after %zu bytes: %s", received, net_error_string(error));
        received += (size_t)n;
    }
    uint8_t extra;
    ck_assert_int_eq(net_read(client->conn, &extra, 1, &error), -1);
    ck_assert_int_eq(error, NET_ERROR_EOF);
    chan_receive(client->written, NULL);
    net_close(client->conn);
    chan_send(client->finished, NULL);
}

static void own_address(void *argument)
{
    transmit_checksum_of(argument);
    start_interface(transmit_checksum_on);
    struct net_listener *listener = listen_on(NET_IPV4_ANY, LISTEN_PORT);
    struct looped_client client = {
        .sent = malloc(LOOPED_BYTES),
        .received = malloc(LOOPED_BYTES),
        .written = chan_make(0, 0),
        .finished = chan_make(0, 0),
    };
    ck_assert_ptr_nonnull(client.sent);
    ck_assert_ptr_nonnull(client.received);
    pattern_fill(client.sent, LOOPED_BYTES, 5);
    go(looped_dialer, &client);
    echo_server(listener);
    chan_receive(client.finished, NULL);
    ck_assert_int_eq(memcmp(client.sent, client.received, LOOPED_BYTES), 0);
    net_listener_close(listener);

    // Every frame of it, the closing ones too, stayed inside lwIP: the
    // card saw nothing but ARP (lwIP's announcement of its address).
    struct chan *deadline = chan_after(NOTHING_WAIT_NS);
    struct card_frame frame;
    while (card_next(&frame, deadline))
        ck_assert_msg(!is_ipv4(&frame), "an IPv4 frame of %u bytes reached the card", frame.length);
    while (chan_try_receive(card.sent, &frame, NULL))
        ck_assert_msg(!is_ipv4(&frame), "an IPv4 frame of %u bytes reached the card", frame.length);
    chan_free(deadline);
    ck_assert_uint_eq(interface_checksum_flags(), base_checksum_flags(transmit_checksum_on));
    expect_nothing_lost();
    free(client.sent);
    free(client.received);
}

START_TEST(test_connections_to_the_own_address_never_reach_the_card)
{
    ck_assert_int_eq(run(own_address, _i), 0);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("netif");
    // Loop tests: _i bit 0 is the card's transmit_checksum, bit 1 a second P.
    TCase *card_case = tcase_create("card");
    tcase_set_timeout(card_case, 60);
    tcase_add_loop_test(card_case, test_a_syn_is_answered_with_a_syn_ack_whose_checksum_verifies, 0, 4);
    tcase_add_loop_test(card_case, test_corrupted_checksums_are_dropped_unless_the_card_verified_them, 0, 4);
    tcase_add_loop_test(card_case, test_a_connection_carries_data_both_ways, 0, 4);
    tcase_add_loop_test(card_case, test_a_segment_in_a_pbuf_chain_is_gathered_and_finished, 0, 4);
    tcase_add_loop_test(card_case, test_icmp_goes_out_without_a_checksum_layout, 0, 4);
    suite_add_tcase(suite, card_case);

    TCase *loop_case = tcase_create("own address");
    tcase_set_timeout(loop_case, 60);
    tcase_add_loop_test(loop_case, test_connections_to_the_own_address_never_reach_the_card, 0, 4);
    suite_add_tcase(suite, loop_case);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
