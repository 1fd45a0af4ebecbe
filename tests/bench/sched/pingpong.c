/*
 * Unbuffered channel ping-pong (pingpong.go is the Go side): main sends a
 * number on ping, the partner receives it and sends it back plus one on pong,
 * n times. Each round trip is two rendezvous: every send finds the receiver
 * already parked (or parks until it comes), hands the value over directly
 * and readies it, into runnext, so with one P the pair runs back and forth
 * with no queueing at all.
 */
#include "bench.h"
#include "chan.h"

struct pingpong_channels {
    struct chan *ping, *pong;
};

static void pong_partner(void *argument)
{
    // Copied at once: `argument` lives in bench_pingpong's frame, which is
    // gone (and reused by the next call) by the time this goroutine sees ping
    // closed. main cannot get past its first send before we are here.
    struct pingpong_channels channels = *(struct pingpong_channels *)argument;
    uint64_t value;
    while (chan_receive_ok(channels.ping, &value)) {
        value++;
        chan_send(channels.pong, &value);
    }
}

uint64_t bench_pingpong(uint64_t n)
{
    struct pingpong_channels channels = { chan_make(sizeof(uint64_t), 0), chan_make(sizeof(uint64_t), 0) };
    go(pong_partner, &channels);
    uint64_t start = nanotime();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t answer;
        chan_send(channels.ping, &i);
        chan_receive(channels.pong, &answer);
        if (answer != i + 1)
            bench_fail("pingpong: sent %llu, got back %llu", (unsigned long long)i, (unsigned long long)answer);
    }
    uint64_t elapsed = nanotime() - start;
    // The partner ends when it sees ping closed. The channels are not freed
    // (the partner may still be about to look at ping), as Go's are garbage
    // only once the partner is gone; the program ends soon anyway.
    chan_close(channels.ping);
    return elapsed;
}
