/*
 * Checksum offload, the stack's half (net/checksum_offload.c), on real
 * frames.
 *
 * net_checksum_offload_prepare readies each frame lwIP hands a card that
 * finishes TCP checksums; if it seeds the wrong sum, names the wrong bytes
 * or touches a frame it should leave alone, every segment the machine sends
 * is dropped by its peer, and nothing on this side notices. So each test
 * builds whole Ethernet + IPv4 + TCP frames (IP options, TCP options, odd
 * and empty payloads, unaligned buffers), runs prepare and then the card's
 * half as the card does it (sum from `start` to the frame's end, store the
 * complement at start + offset), and checks the result with a checksum
 * computed here from scratch, pseudo-header and all -- not with lwIP's
 * code, which the function under test uses. Every other byte must come out
 * as it went in. Frames that are not TCP over IPv4 (ARP, IPv6, UDP, ICMP),
 * fragments, and malformed frames must come out untouched with false; a
 * frame with padding after the IP packet is finished in software.
 *
 * net_checksum_offload_receive_flags is checked for every combination of
 * the bits a card reports.
 */
#include "checksum_offload.h"
#include "internet_checksum.h"
#include "lwip/netif.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

#define ETHERNET_HEADER_BYTES 14
#define FRAME_MAX 1514
#define TCP_CHECKSUM_OFFSET 16

/* --- The card ---------------------------------------------------------------------------- */

// What the card does with a layout: sums from `start` to the end of the
// frame, the field's contents included, and stores the complement.
static void card_finish(uint8_t *frame, size_t length, const struct net_transmit_checksum *checksum)
{
    ck_assert_uint_le((size_t)checksum->start + checksum->offset + 2, length);
    uint16_t sum = fold(sum_bytes(0, frame + checksum->start, length - checksum->start));
    write16(frame + checksum->start + checksum->offset, (uint16_t)~sum);
}

/* --- Frames ------------------------------------------------------------------------------ */

// A byte stream that differs at every position, so that a byte moved or
// overwritten anywhere shows.
static uint8_t noise(uint32_t seed, size_t index)
{
    uint32_t x = (uint32_t)index * 2654435761u ^ (seed + 1) * 0x9E3779B9u;
    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    return (uint8_t)x;
}

struct frame_shape {
    size_t ip_options;        // bytes of IP options, a multiple of 4 (0..40)
    size_t tcp_options;       // bytes of TCP options, a multiple of 4 (0..40)
    size_t payload;           // bytes of TCP payload
    size_t padding;           // bytes after the IP packet (Ethernet padding)
    uint8_t protocol;         // 6 TCP, 17 UDP, 1 ICMP
    uint16_t ethertype;       // 0x0800 IPv4
    uint16_t fragment;        // the IPv4 flags and fragment offset field
    uint32_t source, destination;
    uint16_t checksum_field;  // what lwIP left in the TCP checksum field (0 as it does)
    uint32_t seed;
};

// Builds the frame `shape` describes into `frame` (at least FRAME_MAX +
// 64 bytes) and returns its length. The IP header checksum is right; the
// TCP one holds shape->checksum_field.
static size_t build_frame(uint8_t *frame, const struct frame_shape *shape)
{
    size_t ip_header = 20 + shape->ip_options;
    size_t transport = (shape->protocol == 6 ? 20 : 8) + shape->tcp_options + shape->payload;
    size_t total = ip_header + transport;
    size_t length = ETHERNET_HEADER_BYTES + total + shape->padding;
    ck_assert_uint_le(length, FRAME_MAX + 64);
    for (size_t i = 0; i < length; i++)
        frame[i] = noise(shape->seed, i);
    // Ethernet: destination, source, ethertype.
    write16(frame + 12, shape->ethertype);
    uint8_t *ip = frame + ETHERNET_HEADER_BYTES;
    ip[0] = (uint8_t)(0x40 | ip_header / 4);
    ip[1] = 0;
    write16(ip + 2, (uint16_t)total);
    write16(ip + 4, (uint16_t)shape->seed);
    write16(ip + 6, shape->fragment);
    ip[8] = 64;
    ip[9] = shape->protocol;
    write16(ip + 10, 0);
    write16(ip + 12, (uint16_t)(shape->source >> 16));
    write16(ip + 14, (uint16_t)shape->source);
    write16(ip + 16, (uint16_t)(shape->destination >> 16));
    write16(ip + 18, (uint16_t)shape->destination);
    // (IP options: the noise bytes already there; only their length matters here.)
    write16(ip + 10, (uint16_t)~fold(sum_bytes(0, ip, ip_header)));
    uint8_t *transport_header = ip + ip_header;
    if (shape->protocol == 6) {
        transport_header[12] = (uint8_t)((20 + shape->tcp_options) / 4 << 4);
        write16(transport_header + TCP_CHECKSUM_OFFSET, shape->checksum_field);
    } else if (shape->protocol == 17) {
        write16(transport_header + 4, (uint16_t)transport);
    }
    return length;
}

static struct frame_shape tcp_shape(size_t ip_options, size_t tcp_options, size_t payload, uint32_t seed)
{
    return (struct frame_shape){
        .ip_options = ip_options,
        .tcp_options = tcp_options,
        .payload = payload,
        .protocol = 6,
        .ethertype = 0x0800,
        .source = 0x0A000001,        // 10.0.0.1
        .destination = 0x0A000002,   // 10.0.0.2
        .seed = seed,
    };
}

// Runs prepare on a copy of `frame` and checks that it returned false and
// left every byte alone.
static void expect_untouched(const uint8_t *frame, size_t length, const char *what)
{
    uint8_t copy[FRAME_MAX + 64];
    memcpy(copy, frame, length);
    struct net_transmit_checksum checksum = { .start = 0x5A5A, .offset = 0xA5A5 };
    ck_assert_msg(!net_checksum_offload_prepare(copy, length, &checksum), "%s: prepared", what);
    ck_assert_msg(memcmp(copy, frame, length) == 0, "%s: the frame was changed", what);
    ck_assert_msg(checksum.start == 0x5A5A && checksum.offset == 0xA5A5, "%s: the layout was written", what);
}

/* --- Prepare: TCP segments ------------------------------------------------------------- */

static const size_t ip_option_lengths[] = { 0, 4, 12, 40 };
static const size_t tcp_option_lengths[] = { 0, 4, 12, 40 };
static const size_t payload_lengths[] = { 0, 1, 2, 3, 17, 536, 1001, 1360 };

// Checks prepare + the card on one segment built in `buffer` at byte
// `alignment` (0 or 1: the card's buffers need not be aligned).
static void check_offloaded(const struct frame_shape *shape, size_t alignment)
{
    uint8_t buffer[FRAME_MAX + 64 + 1];
    uint8_t original[FRAME_MAX + 64];
    uint8_t *frame = buffer + alignment;
    size_t length = build_frame(frame, shape);
    memcpy(original, frame, length);
    size_t start = ETHERNET_HEADER_BYTES + 20 + shape->ip_options;
    size_t field = start + TCP_CHECKSUM_OFFSET;

    struct net_transmit_checksum checksum = { 0, 0 };
    ck_assert_msg(net_checksum_offload_prepare(frame, length, &checksum),
                  "not prepared: ip options %zu, tcp options %zu, payload %zu", shape->ip_options,
                  shape->tcp_options, shape->payload);
    ck_assert_uint_eq(checksum.start, start);
    ck_assert_uint_eq(checksum.offset, TCP_CHECKSUM_OFFSET);
    // The field holds the pseudo-header's sum, not complemented...
    ck_assert_uint_eq(read16(frame + field), pseudo_header_sum(frame + ETHERNET_HEADER_BYTES, length - start));
    // ...and nothing else changed.
    ck_assert(memcmp(frame, original, field) == 0);
    ck_assert(memcmp(frame + field + 2, original + field + 2, length - field - 2) == 0);

    card_finish(frame, length, &checksum);
    ck_assert_msg(tcp_checksum_verifies(frame + ETHERNET_HEADER_BYTES),
                  "wrong checksum: ip options %zu, tcp options %zu, payload %zu", shape->ip_options,
                  shape->tcp_options, shape->payload);
    ck_assert(memcmp(frame, original, field) == 0);
    ck_assert(memcmp(frame + field + 2, original + field + 2, length - field - 2) == 0);
}

START_TEST(test_prepared_segments_verify_after_the_card)
{
    uint32_t seed = 1;
    for (size_t i = 0; i < sizeof ip_option_lengths / sizeof *ip_option_lengths; i++)
        for (size_t t = 0; t < sizeof tcp_option_lengths / sizeof *tcp_option_lengths; t++)
            for (size_t p = 0; p < sizeof payload_lengths / sizeof *payload_lengths; p++)
                for (size_t alignment = 0; alignment < 2; alignment++) {
                    struct frame_shape shape =
                        tcp_shape(ip_option_lengths[i], tcp_option_lengths[t], payload_lengths[p], seed++);
                    check_offloaded(&shape, alignment);
                }
}
END_TEST

START_TEST(test_prepare_overwrites_whatever_the_field_held)
{
    // lwIP zeroes the field; prepare must not depend on that.
    static const uint16_t fields[] = { 0x0000, 0xFFFF, 0xBEEF, 0x0001 };
    for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) {
        struct frame_shape shape = tcp_shape(0, 4, 101, 7 + (uint32_t)f);
        shape.checksum_field = fields[f];
        check_offloaded(&shape, 0);
    }
}
END_TEST

START_TEST(test_pseudo_header_sums_that_carry)
{
    // Addresses whose sums overflow 16 bits more than once, and a segment
    // of maximal length: the folding must be right.
    static const uint32_t addresses[][2] = {
        { 0xFFFFFFFF, 0xFFFFFFFF }, { 0xFFFEFFFF, 0xFFFFFFFE }, { 0x00000000, 0x00000000 },
        { 0x7F000001, 0x7F000001 }, { 0xC0A80001, 0xC0A800FF }, { 0xFFFF0000, 0x0000FFFF },
    };
    for (size_t a = 0; a < sizeof addresses / sizeof *addresses; a++) {
        for (size_t payload = 1440; payload <= 1460; payload += 19) {
            struct frame_shape shape = tcp_shape(0, 0, payload, 100 + (uint32_t)a);
            shape.source = addresses[a][0];
            shape.destination = addresses[a][1];
            check_offloaded(&shape, a % 2);
        }
    }
}
END_TEST

START_TEST(test_a_fragment_flag_that_is_only_dont_fragment_is_no_fragment)
{
    struct frame_shape shape = tcp_shape(0, 0, 33, 9);
    shape.fragment = 0x4000;   // DF
    check_offloaded(&shape, 0);
}
END_TEST

/* --- Prepare: padding after the packet --------------------------------------------------- */

START_TEST(test_a_padded_frame_is_finished_in_software)
{
    // The card would sum the padding too: prepare finishes the checksum
    // itself and says false. A 0-byte segment padded to Ethernet's 60
    // bytes is the case that happens on real wires.
    static const size_t paddings[] = { 1, 2, 6, 7, 46 };
    static const size_t payloads[] = { 0, 1, 6, 1001 };
    uint32_t seed = 300;
    for (size_t pad = 0; pad < sizeof paddings / sizeof *paddings; pad++)
        for (size_t p = 0; p < sizeof payloads / sizeof *payloads; p++)
            for (size_t ip_options = 0; ip_options <= 8; ip_options += 8)
                for (size_t alignment = 0; alignment < 2; alignment++) {
                    uint8_t buffer[FRAME_MAX + 64 + 1];
                    uint8_t original[FRAME_MAX + 64];
                    uint8_t *frame = buffer + alignment;
                    struct frame_shape shape = tcp_shape(ip_options, 4, payloads[p], seed++);
                    shape.padding = paddings[pad];
                    shape.checksum_field = 0xBEEF;
                    size_t length = build_frame(frame, &shape);
                    memcpy(original, frame, length);
                    size_t field = ETHERNET_HEADER_BYTES + 20 + ip_options + TCP_CHECKSUM_OFFSET;

                    struct net_transmit_checksum checksum = { .start = 0x5A5A, .offset = 0xA5A5 };
                    ck_assert_msg(!net_checksum_offload_prepare(frame, length, &checksum),
                                  "padding %zu, payload %zu: handed to the card", paddings[pad], payloads[p]);
                    ck_assert_msg(tcp_checksum_verifies(frame + ETHERNET_HEADER_BYTES),
                                  "padding %zu, payload %zu, ip options %zu, alignment %zu: wrong checksum",
                                  paddings[pad], payloads[p], ip_options, alignment);
                    ck_assert(memcmp(frame, original, field) == 0);
                    ck_assert(memcmp(frame + field + 2, original + field + 2, length - field - 2) == 0);
                }
}
END_TEST

/* --- Prepare: frames it must leave alone ------------------------------------------------- */

START_TEST(test_frames_that_are_not_tcp_over_ipv4_are_untouched)
{
    uint8_t frame[FRAME_MAX + 64];
    size_t length;

    // ARP: a request, 42 bytes.
    struct frame_shape arp = tcp_shape(0, 0, 0, 11);
    length = build_frame(frame, &arp);
    write16(frame + 12, 0x0806);
    expect_untouched(frame, 42, "ARP");
    // IPv6's ethertype in front of what would otherwise be a TCP segment.
    struct frame_shape ipv6 = tcp_shape(0, 0, 100, 12);
    ipv6.ethertype = 0x86DD;
    length = build_frame(frame, &ipv6);
    expect_untouched(frame, length, "IPv6 ethertype");
    // A VLAN tag in front of it.
    struct frame_shape vlan = tcp_shape(0, 0, 100, 13);
    vlan.ethertype = 0x8100;
    length = build_frame(frame, &vlan);
    expect_untouched(frame, length, "VLAN");
    // The IPv4 ethertype but version 6 in the header.
    struct frame_shape version = tcp_shape(0, 0, 100, 14);
    length = build_frame(frame, &version);
    frame[ETHERNET_HEADER_BYTES] = (uint8_t)(0x60 | (frame[ETHERNET_HEADER_BYTES] & 0x0F));
    expect_untouched(frame, length, "IP version 6");
    // UDP and ICMP over IPv4: their checksums stay with lwIP.
    static const size_t payloads[] = { 0, 1, 33, 1000 };
    for (size_t p = 0; p < sizeof payloads / sizeof *payloads; p++) {
        struct frame_shape udp = tcp_shape(0, 0, payloads[p], 20 + (uint32_t)p);
        udp.protocol = 17;
        length = build_frame(frame, &udp);
        expect_untouched(frame, length, "UDP");
        struct frame_shape icmp = tcp_shape(4, 0, payloads[p], 30 + (uint32_t)p);
        icmp.protocol = 1;
        length = build_frame(frame, &icmp);
        expect_untouched(frame, length, "ICMP");
    }
}
END_TEST

START_TEST(test_fragments_are_untouched)
{
    static const uint16_t fragments[] = {
        0x2000,   // more fragments, offset 0: the first piece
        0x0001,   // offset 8 bytes, the last piece
        0x2010,   // a middle piece
        0x6000,   // DF and MF together (malformed, but a fragment all the same)
        0x1FFF,   // the largest offset
    };
    uint8_t frame[FRAME_MAX + 64];
    for (size_t f = 0; f < sizeof fragments / sizeof *fragments; f++) {
        struct frame_shape shape = tcp_shape(0, 0, 200, 40 + (uint32_t)f);
        shape.fragment = fragments[f];
        size_t length = build_frame(frame, &shape);
        expect_untouched(frame, length, "fragment");
    }
}
END_TEST

START_TEST(test_malformed_frames_are_untouched)
{
    uint8_t frame[FRAME_MAX + 64];
    struct frame_shape shape = tcp_shape(0, 0, 100, 50);
    size_t length = build_frame(frame, &shape);
    uint8_t *ip = frame + ETHERNET_HEADER_BYTES;

    // Too short for an IPv4 header at all, down to nothing.
    for (size_t cut = 0; cut < ETHERNET_HEADER_BYTES + 20; cut++)
        expect_untouched(frame, cut, "shorter than the headers");
    // Cut short after the headers: the total length runs past the frame.
    for (size_t cut = ETHERNET_HEADER_BYTES + 20; cut < length; cut += 7)
        expect_untouched(frame, cut, "cut short");
    expect_untouched(frame, length - 1, "one byte short");
    // A total length larger than the frame, up to 65535.
    static const uint16_t totals[] = { 141, 142, 1500, 65535 };
    for (size_t t = 0; t < sizeof totals / sizeof *totals; t++) {
        build_frame(frame, &shape);
        write16(ip + 2, totals[t]);
        expect_untouched(frame, length, "total length beyond the frame");
    }
    // An IHL below 5 (the header cannot be shorter than 20 bytes).
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        build_frame(frame, &shape);
        ip[0] = (uint8_t)(0x40 | ihl);
        expect_untouched(frame, length, "IHL below 5");
    }
    // An IHL that puts the TCP header (or its checksum field) past the packet.
    for (uint8_t ihl = 6; ihl <= 15; ihl++) {
        struct frame_shape tiny = tcp_shape(0, 0, 0, 60 + ihl);
        size_t tiny_length = build_frame(frame, &tiny);   // 20 + 20 bytes of IP packet
        ip[0] = (uint8_t)(0x40 | ihl);
        expect_untouched(frame, tiny_length, "IHL past the segment");
    }
    // A total length too small for a TCP header after the IP header.
    for (uint16_t total = 0; total < 40; total++) {
        build_frame(frame, &shape);
        write16(ip + 2, total);
        expect_untouched(frame, length, "total length too small for TCP");
    }
}
END_TEST

/* --- Receive flags ----------------------------------------------------------------------- */

#define CHECKS_OF_THE_CARD (NETIF_CHECKSUM_CHECK_IP | NETIF_CHECKSUM_CHECK_TCP | NETIF_CHECKSUM_CHECK_UDP)

START_TEST(test_receive_flags_for_what_the_card_verified)
{
    // The interface's flags with a card that finishes TCP checksums
    // (net/netif.c): no TCP generation, no TCP check between frames.
    uint16_t offload = NETIF_CHECKSUM_ENABLE_ALL & (uint16_t) ~(NETIF_CHECKSUM_GEN_TCP | NETIF_CHECKSUM_CHECK_TCP);
    ck_assert_uint_eq(net_checksum_offload_receive_flags(offload, 0),
                      NETIF_CHECKSUM_ENABLE_ALL & ~NETIF_CHECKSUM_GEN_TCP);
    ck_assert_uint_eq(net_checksum_offload_receive_flags(offload, NET_VERIFIED_IPV4_HEADER),
                      NETIF_CHECKSUM_ENABLE_ALL & ~(NETIF_CHECKSUM_GEN_TCP | NETIF_CHECKSUM_CHECK_IP));
    ck_assert_uint_eq(net_checksum_offload_receive_flags(offload, NET_VERIFIED_TCP_UDP),
                      NETIF_CHECKSUM_ENABLE_ALL &
                          ~(NETIF_CHECKSUM_GEN_TCP | NETIF_CHECKSUM_CHECK_TCP | NETIF_CHECKSUM_CHECK_UDP));
    ck_assert_uint_eq(net_checksum_offload_receive_flags(offload, NET_VERIFIED_IPV4_HEADER | NET_VERIFIED_TCP_UDP),
                      NETIF_CHECKSUM_ENABLE_ALL & ~(NETIF_CHECKSUM_GEN_TCP | CHECKS_OF_THE_CARD));

    // Everything in software (a card without offload).
    ck_assert_uint_eq(net_checksum_offload_receive_flags(NETIF_CHECKSUM_ENABLE_ALL, 0), NETIF_CHECKSUM_ENABLE_ALL);
    ck_assert_uint_eq(net_checksum_offload_receive_flags(NETIF_CHECKSUM_ENABLE_ALL, NET_VERIFIED_TCP_UDP),
                      NETIF_CHECKSUM_ENABLE_ALL & ~(NETIF_CHECKSUM_CHECK_TCP | NETIF_CHECKSUM_CHECK_UDP));

    // Every base and every combination, bit by bit: the checks the card
    // can vouch for are on unless it did; every other flag is the base's
    // (the generation flags above all: a frame lwIP sends while handling
    // a received one is built as any other); unknown bits mean nothing.
    static const uint16_t bases[] = { NETIF_CHECKSUM_ENABLE_ALL, NETIF_CHECKSUM_DISABLE_ALL, 0,
                                      NETIF_CHECKSUM_GEN_IP | NETIF_CHECKSUM_CHECK_ICMP, 0x1234, 0xEDCB };
    for (size_t b = 0; b < sizeof bases / sizeof *bases; b++) {
        uint16_t base = bases[b];
        for (unsigned verified = 0; verified < 16; verified++) {
            for (unsigned unknown = 0; unknown < 2; unknown++) {
                uint16_t flags = net_checksum_offload_receive_flags(base, verified | (unknown ? 0xFF00u : 0));
                ck_assert_uint_eq(flags & (uint16_t)~CHECKS_OF_THE_CARD, base & (uint16_t)~CHECKS_OF_THE_CARD);
                ck_assert_uint_eq(!!(flags & NETIF_CHECKSUM_CHECK_IP), !(verified & NET_VERIFIED_IPV4_HEADER));
                ck_assert_uint_eq(!!(flags & NETIF_CHECKSUM_CHECK_TCP), !(verified & NET_VERIFIED_TCP_UDP));
                ck_assert_uint_eq(!!(flags & NETIF_CHECKSUM_CHECK_UDP), !(verified & NET_VERIFIED_TCP_UDP));
            }
        }
    }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("checksum_offload");

    TCase *prepare = tcase_create("prepare");
    tcase_add_test(prepare, test_prepared_segments_verify_after_the_card);
    tcase_add_test(prepare, test_prepare_overwrites_whatever_the_field_held);
    tcase_add_test(prepare, test_pseudo_header_sums_that_carry);
    tcase_add_test(prepare, test_a_fragment_flag_that_is_only_dont_fragment_is_no_fragment);
    tcase_add_test(prepare, test_a_padded_frame_is_finished_in_software);
    suite_add_tcase(suite, prepare);

    TCase *untouched = tcase_create("untouched");
    tcase_add_test(untouched, test_frames_that_are_not_tcp_over_ipv4_are_untouched);
    tcase_add_test(untouched, test_fragments_are_untouched);
    tcase_add_test(untouched, test_malformed_frames_are_untouched);
    suite_add_tcase(suite, untouched);

    TCase *receive = tcase_create("receive");
    tcase_add_test(receive, test_receive_flags_for_what_the_card_verified);
    suite_add_tcase(suite, receive);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
