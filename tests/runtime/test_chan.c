/*
 * Channel tests: unbuffered and buffered semantics, close, nil channels, the
 * non-blocking forms, and Go's fatal errors.
 *
 * Each test runs a whole runtime (Check forks a process per test, and
 * runtime_run starts the runtime in it). Tests of fatal errors fork once
 * more (child.h) to read what the dying program printed. No test asserts an
 * upper bound on time; "blocks" is checked by a goroutine not having
 * finished after a sleep, which can only err towards passing a broken
 * implementation, never towards failing a correct one.
 */
#include "chan_test.h"
#include "chan.h"
#include "chan_internal.h"
#include "child.h"
#include "runtime.h"
#include "runtime_internal.h"
#include <check.h>
#include <stdlib.h>
#include <unistd.h>

static void wait_for_blocked_senders(struct chan *c, int count)
{
    while (waiting_count(c, true) < count)
        gosleep(MILLISECOND / 10);
}

static void wait_for_blocked_receivers(struct chan *c, int count)
{
    while (waiting_count(c, false) < count)
        gosleep(MILLISECOND / 10);
}

/* --- Many senders, one channel -------------------------------------------- */

#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer counts each live goroutine as a thread (runtime/race.h)
// and stops at 8128 of them; 100,000 blocked senders are too many for it.
#define SENDERS 5000
#else
#define SENDERS 100000
#endif
static struct chan *shared;
static unsigned char seen[SENDERS];

static void send_index(void *argument)
{
    uint32_t index = (uint32_t)(uintptr_t)argument;
    chan_send(shared, &index);
}

static void many_senders(void *capacity)
{
    shared = chan_make(sizeof(uint32_t), (size_t)(uintptr_t)capacity);
    for (uintptr_t i = 0; i < SENDERS; i++)
        go(send_index, (void *)i);
    for (int i = 0; i < SENDERS; i++) {
        uint32_t index = UINT32_MAX;
        chan_receive(shared, &index);
        ck_assert_msg(index < SENDERS, "received %u", index);
        seen[index]++;
    }
    for (int i = 0; i < SENDERS; i++)
        ck_assert_msg(seen[i] == 1, "message %d arrived %d times", i, seen[i]);
    ck_assert_uint_eq(chan_len(shared), 0);
    ck_assert(!chan_try_receive(shared, NULL, NULL));
    chan_free(shared);   // throws if a sudog were left on a queue
}

START_TEST(test_100000_senders_unbuffered_one_p)
{
    ck_assert_int_eq(run_with_procs(many_senders, (void *)0, 1), 0);
}
END_TEST

START_TEST(test_100000_senders_unbuffered_two_ps)
{
    ck_assert_int_eq(run_with_procs(many_senders, (void *)0, 2), 0);
}
END_TEST

START_TEST(test_100000_senders_buffered_one_p)
{
    ck_assert_int_eq(run_with_procs(many_senders, (void *)64, 1), 0);
}
END_TEST

START_TEST(test_100000_senders_buffered_two_ps)
{
    ck_assert_int_eq(run_with_procs(many_senders, (void *)64, 2), 0);
}
END_TEST

/* --- Unbuffered ------------------------------------------------------------ */

static volatile long sent_count;

static void send_42_then_count(void *c)
{
    int value = 42;
    chan_send(c, &value);
    __atomic_add_fetch(&sent_count, 1, __ATOMIC_RELEASE);
}

static void unbuffered_send_waits_for_receiver(void *unused)
{
    (void)unused;
    struct chan *c = chan_make(sizeof(int), 0);
    ck_assert_uint_eq(chan_cap(c), 0);
    go(send_42_then_count, c);
    wait_for_blocked_senders(c, 1);
    gosleep(10 * MILLISECOND);   // and still blocked a while later
    ck_assert_msg(sent_count == 0, "an unbuffered send completed with no receiver");
    ck_assert_uint_eq(chan_len(c), 0);   // nothing is ever buffered
    int value = 0;
    chan_receive(c, &value);
    ck_assert_int_eq(value, 42);
    wait_for_count(&sent_count, 1);
    chan_free(c);
}

START_TEST(test_unbuffered_send_blocks_until_received)
{
    ck_assert_int_eq(run_with_procs(unbuffered_send_waits_for_receiver, NULL, 2), 0);
}
END_TEST

static volatile long received_count;
static struct chan *receive_channel;

static void receive_into(void *argument)
{
    int *slot = argument;
    chan_receive(receive_channel, slot);
    __atomic_add_fetch(&received_count, 1, __ATOMIC_RELEASE);
}

static void unbuffered_receive_waits_for_sender(void *unused)
{
    (void)unused;
    receive_channel = chan_make(sizeof(int), 0);
    static int slot = -1;
    go(receive_into, &slot);
    wait_for_blocked_receivers(receive_channel, 1);
    gosleep(10 * MILLISECOND);
    ck_assert_msg(received_count == 0, "a receive completed with no sender");
    int value = 7;
    chan_send(receive_channel, &value);
    wait_for_count(&received_count, 1);
    ck_assert_int_eq(slot, 7);
    chan_free(receive_channel);
}

START_TEST(test_unbuffered_receive_blocks_until_sent)
{
    ck_assert_int_eq(run_with_procs(unbuffered_receive_waits_for_sender, NULL, 2), 0);
}
END_TEST

// Blocked senders are served in the order they blocked (sendq is FIFO).
static struct chan *fifo_channel;

static void send_own_number(void *argument)
{
    int number = (int)(uintptr_t)argument;
    chan_send(fifo_channel, &number);
}

static void blocked_senders_are_fifo(void *unused)
{
    (void)unused;
    fifo_channel = chan_make(sizeof(int), 0);
    for (uintptr_t i = 1; i <= 5; i++) {
        go(send_own_number, (void *)i);
        wait_for_blocked_senders(fifo_channel, (int)i);   // it blocks before the next one starts
    }
    for (int i = 1; i <= 5; i++) {
        int value = 0;
        chan_receive(fifo_channel, &value);
        ck_assert_int_eq(value, i);
    }
    chan_free(fifo_channel);
}

START_TEST(test_blocked_senders_are_served_in_order)
{
    ck_assert_int_eq(run_with_procs(blocked_senders_are_fifo, NULL, 1), 0);
}
END_TEST

// Each sender's values arrive in the order it sent them.
#define ORDER_SENDERS 4
#define ORDER_MESSAGES 20000
static struct chan *order_channel;

static void send_sequence(void *argument)
{
    uint64_t sender = (uintptr_t)argument;
    for (uint64_t i = 0; i < ORDER_MESSAGES; i++) {
        uint64_t message = sender << 32 | i;
        chan_send(order_channel, &message);
    }
}

static void per_sender_order(void *capacity)
{
    order_channel = chan_make(sizeof(uint64_t), (size_t)(uintptr_t)capacity);
    for (uintptr_t s = 0; s < ORDER_SENDERS; s++)
        go(send_sequence, (void *)s);
    uint64_t next[ORDER_SENDERS] = { 0 };
    for (int i = 0; i < ORDER_SENDERS * ORDER_MESSAGES; i++) {
        uint64_t message;
        chan_receive(order_channel, &message);
        uint64_t sender = message >> 32, sequence = message & 0xffffffffu;
        ck_assert_uint_lt(sender, ORDER_SENDERS);
        ck_assert_msg(sequence == next[sender], "sender %llu: got %llu, expected %llu", (unsigned long long)sender,
                      (unsigned long long)sequence, (unsigned long long)next[sender]);
        next[sender]++;
    }
    chan_free(order_channel);
}

START_TEST(test_unbuffered_is_fifo_per_sender)
{
    ck_assert_int_eq(run_with_procs(per_sender_order, (void *)0, 2), 0);
}
END_TEST

START_TEST(test_buffered_is_fifo_per_sender)
{
    ck_assert_int_eq(run_with_procs(per_sender_order, (void *)7, 2), 0);
}
END_TEST

// Many round trips between two goroutines on two Ps: direct hand-offs both
// ways, with values checked.
#define PING_PONGS 100000

static void ponger(void *argument)
{
    struct chan **pair = argument;
    for (;;) {
        long value;
        if (!chan_receive_ok(pair[0], &value))
            break;
        value++;
        chan_send(pair[1], &value);
    }
    long done = -1;
    chan_send(pair[1], &done);
}

static void ping_pong(void *unused)
{
    (void)unused;
    struct chan *pair[2] = { chan_make(sizeof(long), 0), chan_make(sizeof(long), 0) };
    go(ponger, pair);
    for (long i = 0; i < PING_PONGS; i++) {
        long value = 2 * i;
        chan_send(pair[0], &value);
        chan_receive(pair[1], &value);
        ck_assert_int_eq(value, 2 * i + 1);
    }
    chan_close(pair[0]);
    long done;
    chan_receive(pair[1], &done);
    ck_assert_int_eq(done, -1);
    chan_free(pair[0]);
    chan_free(pair[1]);
}

START_TEST(test_ping_pong_two_ps)
{
    ck_assert_int_eq(run_with_procs(ping_pong, NULL, 2), 0);
}
END_TEST

/* --- Buffered -------------------------------------------------------------- */

static void send_6_then_count(void *c)
{
    int value = 6;
    chan_send(c, &value);
    __atomic_add_fetch(&sent_count, 1, __ATOMIC_RELEASE);
}

static void buffered_semantics(void *unused)
{
    (void)unused;
    struct chan *c = chan_make(sizeof(int), 5);
    ck_assert_uint_eq(chan_cap(c), 5);
    ck_assert_uint_eq(chan_len(c), 0);
    for (int i = 1; i <= 5; i++) {
        chan_send(c, &i);   // room: does not block
        ck_assert_uint_eq(chan_len(c), (size_t)i);
    }
    int extra = 99;
    ck_assert_msg(!chan_try_send(c, &extra), "try_send into a full channel succeeded");

    go(send_6_then_count, c);
    wait_for_blocked_senders(c, 1);
    gosleep(10 * MILLISECOND);
    ck_assert_msg(sent_count == 0, "a send into a full channel did not block");
    ck_assert_uint_eq(chan_len(c), 5);

    int value = 0;
    chan_receive(c, &value);   // frees a slot, which the blocked sender takes
    ck_assert_int_eq(value, 1);
    wait_for_count(&sent_count, 1);
    ck_assert_uint_eq(chan_len(c), 5);
    for (int i = 2; i <= 6; i++) {
        chan_receive(c, &value);
        ck_assert_int_eq(value, i);
    }
    ck_assert_uint_eq(chan_len(c), 0);
    ck_assert(!chan_try_receive(c, &value, NULL));
    chan_free(c);
}

START_TEST(test_buffered_capacity_order_and_blocking)
{
    ck_assert_int_eq(run_with_procs(buffered_semantics, NULL, 2), 0);
}
END_TEST

// A full ring with senders waiting behind it: a receive takes the ring's
// head and moves the first waiting sender's value into the ring's tail.
static struct chan *ring_channel;

static void send_number_to_ring(void *argument)
{
    int number = (int)(uintptr_t)argument;
    chan_send(ring_channel, &number);
}

static void full_ring_with_waiting_senders(void *unused)
{
    (void)unused;
    ring_channel = chan_make(sizeof(int), 3);
    for (int i = 0; i < 3; i++)
        chan_send(ring_channel, &i);
    for (uintptr_t i = 3; i < 6; i++) {
        go(send_number_to_ring, (void *)i);
        wait_for_blocked_senders(ring_channel, (int)i - 2);
    }
    for (int i = 0; i < 6; i++) {
        int value = -1;
        chan_receive(ring_channel, &value);
        ck_assert_int_eq(value, i);
    }
    chan_free(ring_channel);
}

START_TEST(test_full_ring_hands_over_in_order)
{
    ck_assert_int_eq(run_with_procs(full_ring_with_waiting_senders, NULL, 1), 0);
}
END_TEST

// Odd-sized elements survive many trips around the ring.
struct odd_element {
    uint8_t bytes[13];
};

static void fill_odd(struct odd_element *element, uint32_t seed)
{
    for (int i = 0; i < 13; i++)
        element->bytes[i] = (uint8_t)(seed * 31 + (uint32_t)i * 7);
}

static void send_odd_elements(void *c)
{
    for (uint32_t i = 0; i < 10000; i++) {
        struct odd_element element;
        fill_odd(&element, i);
        chan_send(c, &element);
    }
}

static void odd_elements(void *unused)
{
    (void)unused;
    struct chan *c = chan_make(sizeof(struct odd_element), 3);
    go(send_odd_elements, c);
    for (uint32_t i = 0; i < 10000; i++) {
        struct odd_element got, expected;
        chan_receive(c, &got);
        fill_odd(&expected, i);
        ck_assert_msg(memcmp(&got, &expected, sizeof got) == 0, "element %u corrupted", i);
    }
    chan_free(c);
}

START_TEST(test_odd_sized_elements_wrap_the_ring)
{
    ck_assert_int_eq(run_with_procs(odd_elements, NULL, 2), 0);
}
END_TEST

// Zero-size elements: a channel used only to signal.
static void signal_three_times(void *c)
{
    for (int i = 0; i < 3; i++)
        chan_send(c, NULL);
}

static void zero_size_elements(void *unused)
{
    (void)unused;
    struct chan *buffered = chan_make(0, 3);
    chan_send(buffered, NULL);
    chan_send(buffered, NULL);
    ck_assert_uint_eq(chan_len(buffered), 2);
    chan_receive(buffered, NULL);
    ck_assert_uint_eq(chan_len(buffered), 1);
    chan_free(buffered);

    struct chan *signal = chan_make(0, 0);
    go(signal_three_times, signal);
    for (int i = 0; i < 3; i++)
        chan_receive(signal, NULL);
    chan_close(signal);
    ck_assert(!chan_receive_ok(signal, NULL));
    chan_free(signal);
}

START_TEST(test_zero_size_elements)
{
    ck_assert_int_eq(run_with_procs(zero_size_elements, NULL, 2), 0);
}
END_TEST

static void receive_discarding(void *unused)
{
    (void)unused;
    struct chan *c = chan_make(sizeof(int), 2);
    int values[] = { 1, 2 };
    chan_send(c, &values[0]);
    chan_send(c, &values[1]);
    chan_receive(c, NULL);   // the 1 is dropped
    int value = 0;
    chan_receive(c, &value);
    ck_assert_int_eq(value, 2);
    chan_free(c);
}

START_TEST(test_receive_may_discard_the_value)
{
    ck_assert_int_eq(run_with_procs(receive_discarding, NULL, 1), 0);
}
END_TEST

/* --- Non-blocking forms ----------------------------------------------------- */

static struct chan *try_channel;

static void receive_one_from_try_channel(void *slot)
{
    chan_receive(try_channel, slot);
    __atomic_add_fetch(&received_count, 1, __ATOMIC_RELEASE);
}

static void send_one_to_try_channel(void *unused)
{
    (void)unused;
    int value = 5;
    chan_send(try_channel, &value);
    __atomic_add_fetch(&sent_count, 1, __ATOMIC_RELEASE);
}

static void try_operations(void *unused)
{
    (void)unused;
    try_channel = chan_make(sizeof(int), 0);
    int value = 3;
    bool ok = true;
    ck_assert(!chan_try_send(try_channel, &value));            // nobody receiving
    ck_assert(!chan_try_receive(try_channel, &value, &ok));    // nobody sending
    ck_assert(!ok);

    static int slot;
    go(receive_one_from_try_channel, &slot);
    wait_for_blocked_receivers(try_channel, 1);
    ck_assert(chan_try_send(try_channel, &value));             // hands over directly
    wait_for_count(&received_count, 1);
    ck_assert_int_eq(slot, 3);

    go(send_one_to_try_channel, NULL);
    wait_for_blocked_senders(try_channel, 1);
    value = 0;
    ck_assert(chan_try_receive(try_channel, &value, &ok));
    ck_assert(ok);
    ck_assert_int_eq(value, 5);
    wait_for_count(&sent_count, 1);

    chan_close(try_channel);
    value = 9;
    ck_assert(chan_try_receive(try_channel, &value, &ok));     // closed counts as completed
    ck_assert(!ok);
    ck_assert_int_eq(value, 0);
    chan_free(try_channel);

    // A NULL channel is never ready.
    ck_assert(!chan_try_send(NULL, &value));
    ck_assert(!chan_try_receive(NULL, &value, &ok));
    ck_assert_uint_eq(chan_len(NULL), 0);
    ck_assert_uint_eq(chan_cap(NULL), 0);
}

START_TEST(test_try_send_and_try_receive)
{
    ck_assert_int_eq(run_with_procs(try_operations, NULL, 2), 0);
}
END_TEST

// A goroutine polling with chan_try_receive on the only P must not keep a
// sleeping goroutine from ever running: channel operations are safe points.
static void poll_until_value(void *c)
{
    int value = 0;
    while (!chan_try_receive(c, &value, NULL)) {
    }
    ck_assert_int_eq(value, 11);
    __atomic_add_fetch(&received_count, 1, __ATOMIC_RELEASE);
}

static void poller_does_not_starve_sleeper(void *unused)
{
    (void)unused;
    struct chan *c = chan_make(sizeof(int), 1);
    go(poll_until_value, c);
    gosleep(20 * MILLISECOND);   // only returns if the poller is preempted
    int value = 11;
    chan_send(c, &value);
    wait_for_count(&received_count, 1);
    chan_free(c);
}

START_TEST(test_polling_goroutine_is_preempted)
{
    ck_assert_int_eq(run_with_procs(poller_does_not_starve_sleeper, NULL, 1), 0);
}
END_TEST

/* --- Close ------------------------------------------------------------------ */

#define CLOSE_RECEIVERS 16
static struct chan *close_channel;
static int close_values[CLOSE_RECEIVERS];
static bool close_oks[CLOSE_RECEIVERS];

static void receive_until_closed(void *argument)
{
    uintptr_t index = (uintptr_t)argument;
    close_values[index] = 0x5a5a;
    close_oks[index] = chan_receive_ok(close_channel, &close_values[index]);
    __atomic_add_fetch(&received_count, 1, __ATOMIC_RELEASE);
}

static void close_wakes_every_receiver(void *capacity)
{
    close_channel = chan_make(sizeof(int), (size_t)(uintptr_t)capacity);
    for (uintptr_t i = 0; i < CLOSE_RECEIVERS; i++)
        go(receive_until_closed, (void *)i);
    wait_for_blocked_receivers(close_channel, CLOSE_RECEIVERS);
    ck_assert_int_eq(received_count, 0);
    chan_close(close_channel);
    wait_for_count(&received_count, CLOSE_RECEIVERS);
    for (int i = 0; i < CLOSE_RECEIVERS; i++) {
        ck_assert_msg(!close_oks[i], "receiver %d: ok after close", i);
        ck_assert_msg(close_values[i] == 0, "receiver %d: value %d after close, not zero", i, close_values[i]);
    }
    chan_free(close_channel);
}

START_TEST(test_close_wakes_all_receivers_unbuffered)
{
    ck_assert_int_eq(run_with_procs(close_wakes_every_receiver, (void *)0, 2), 0);
}
END_TEST

START_TEST(test_close_wakes_all_receivers_buffered)
{
    ck_assert_int_eq(run_with_procs(close_wakes_every_receiver, (void *)4, 2), 0);
}
END_TEST

static void values_after_close(void *unused)
{
    (void)unused;
    struct chan *c = chan_make(sizeof(int), 4);
    for (int i = 1; i <= 3; i++)
        chan_send(c, &i);
    chan_close(c);
    ck_assert_uint_eq(chan_len(c), 3);
    for (int i = 1; i <= 3; i++) {
        int value = 0;
        ck_assert(chan_receive_ok(c, &value));   // buffered values first
        ck_assert_int_eq(value, i);
    }
    for (int round = 0; round < 3; round++) {
        int value = 77;
        ck_assert(!chan_receive_ok(c, &value));  // then zeroes, at once, forever
        ck_assert_int_eq(value, 0);
        value = 77;
        chan_receive(c, &value);
        ck_assert_int_eq(value, 0);
    }
    ck_assert_uint_eq(chan_len(c), 0);
    chan_free(c);
}

START_TEST(test_values_after_close)
{
    ck_assert_int_eq(run_with_procs(values_after_close, NULL, 1), 0);
}
END_TEST

/* --- Fatal errors and blocking forever ------------------------------------- */

static void expect_fatal(int (*program)(void *), const char *first, const char *second)
{
    struct child_result result = run_in_child(program, NULL);
    ck_assert_msg(result.exit_status == 2, "exit status %d (signal %d); output:\n%s", result.exit_status,
                  result.signal_number, result.output);
    ck_assert_msg(strstr(result.output, first), "no \"%s\" in output:\n%s", first, result.output);
    if (second)
        ck_assert_msg(strstr(result.output, second), "no \"%s\" in output:\n%s", second, result.output);
}

static void send_and_wait(void *c)
{
    int value = 1;
    chan_send(c, &value);
}

static void close_under_blocked_sender(void *unused)
{
    (void)unused;
    struct chan *c = chan_make(sizeof(int), 0);
    go(send_and_wait, c);
    wait_for_blocked_senders(c, 1);
    chan_close(c);
    gosleep(10000 * MILLISECOND);   // the sender dies first
}

static int close_under_blocked_sender_program(void *unused)
{
    (void)unused;
    return run_with_procs(close_under_blocked_sender, NULL, 2);
}

START_TEST(test_close_under_a_blocked_sender_is_fatal)
{
    expect_fatal(close_under_blocked_sender_program, "fatal error: send on closed channel", NULL);
}
END_TEST

static void send_on_closed(void *unused)
{
    (void)unused;
    struct chan *c = chan_make(sizeof(int), 1);
    chan_close(c);
    int value = 1;
    chan_send(c, &value);
}

static int send_on_closed_program(void *unused)
{
    (void)unused;
    return run_with_procs(send_on_closed, NULL, 1);
}

START_TEST(test_send_on_closed_channel_is_fatal)
{
    expect_fatal(send_on_closed_program, "fatal error: send on closed channel", NULL);
}
END_TEST

static void try_send_on_closed(void *unused)
{
    (void)unused;
    struct chan *c = chan_make(sizeof(int), 0);
    chan_close(c);
    int value = 1;
    chan_try_send(c, &value);   // a select with default panics in Go too
}

static int try_send_on_closed_program(void *unused)
{
    (void)unused;
    return run_with_procs(try_send_on_closed, NULL, 1);
}

START_TEST(test_try_send_on_closed_channel_is_fatal)
{
    expect_fatal(try_send_on_closed_program, "fatal error: send on closed channel", NULL);
}
END_TEST

static void close_twice(void *unused)
{
    (void)unused;
    struct chan *c = chan_make(sizeof(int), 0);
    chan_close(c);
    chan_close(c);
}

static int close_twice_program(void *unused)
{
    (void)unused;
    return run_with_procs(close_twice, NULL, 1);
}

START_TEST(test_double_close_is_fatal)
{
    expect_fatal(close_twice_program, "fatal error: close of closed channel", NULL);
}
END_TEST

static void close_nil(void *unused)
{
    (void)unused;
    chan_close(NULL);
}

static int close_nil_program(void *unused)
{
    (void)unused;
    return run_with_procs(close_nil, NULL, 1);
}

START_TEST(test_close_of_nil_channel_is_fatal)
{
    expect_fatal(close_nil_program, "fatal error: close of nil channel", NULL);
}
END_TEST

static void receive_from_nil(void *unused)
{
    (void)unused;
    int value;
    chan_receive(NULL, &value);
}

static int receive_from_nil_program(void *unused)
{
    (void)unused;
    return run_with_procs(receive_from_nil, NULL, 2);
}

START_TEST(test_nil_channel_receive_blocks_forever)
{
    expect_fatal(receive_from_nil_program, "fatal error: all goroutines are asleep - deadlock!",
                 "goroutine 1 [chan receive (nil chan)]");
}
END_TEST

static void send_to_nil(void *unused)
{
    (void)unused;
    int value = 1;
    chan_send(NULL, &value);
}

static int send_to_nil_program(void *unused)
{
    (void)unused;
    return run_with_procs(send_to_nil, NULL, 2);
}

START_TEST(test_nil_channel_send_blocks_forever)
{
    expect_fatal(send_to_nil_program, "fatal error: all goroutines are asleep - deadlock!",
                 "goroutine 1 [chan send (nil chan)]");
}
END_TEST

static void receive_nobody_sends(void *unused)
{
    (void)unused;
    struct chan *c = chan_make(sizeof(int), 0);
    go(send_and_wait, chan_make(sizeof(int), 0));   // a sender nobody receives from
    int value;
    chan_receive(c, &value);
}

static int receive_deadlock_program(void *unused)
{
    (void)unused;
    return run_with_procs(receive_nobody_sends, NULL, 2);
}

START_TEST(test_channel_deadlock_names_wait_reasons)
{
    expect_fatal(receive_deadlock_program, "goroutine 1 [chan receive]", "goroutine 2 [chan send]");
}
END_TEST

static void free_with_waiter(void *unused)
{
    (void)unused;
    struct chan *c = chan_make(sizeof(int), 0);
    go(send_and_wait, c);
    wait_for_blocked_senders(c, 1);
    chan_free(c);
}

static int free_with_waiter_program(void *unused)
{
    (void)unused;
    return run_with_procs(free_with_waiter, NULL, 1);
}

START_TEST(test_freeing_a_channel_with_waiters_is_fatal)
{
    expect_fatal(free_with_waiter_program, "fatal error: chan_free of a channel that goroutines are waiting on",
                 NULL);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("chan");

    TCase *many = tcase_create("many senders");
    tcase_set_timeout(many, 120);
    tcase_add_test(many, test_100000_senders_unbuffered_one_p);
    tcase_add_test(many, test_100000_senders_unbuffered_two_ps);
    tcase_add_test(many, test_100000_senders_buffered_one_p);
    tcase_add_test(many, test_100000_senders_buffered_two_ps);
    suite_add_tcase(suite, many);

    TCase *semantics = tcase_create("semantics");
    tcase_set_timeout(semantics, 60);
    tcase_add_test(semantics, test_unbuffered_send_blocks_until_received);
    tcase_add_test(semantics, test_unbuffered_receive_blocks_until_sent);
    tcase_add_test(semantics, test_blocked_senders_are_served_in_order);
    tcase_add_test(semantics, test_unbuffered_is_fifo_per_sender);
    tcase_add_test(semantics, test_buffered_is_fifo_per_sender);
    tcase_add_test(semantics, test_ping_pong_two_ps);
    tcase_add_test(semantics, test_buffered_capacity_order_and_blocking);
    tcase_add_test(semantics, test_full_ring_hands_over_in_order);
    tcase_add_test(semantics, test_odd_sized_elements_wrap_the_ring);
    tcase_add_test(semantics, test_zero_size_elements);
    tcase_add_test(semantics, test_receive_may_discard_the_value);
    tcase_add_test(semantics, test_try_send_and_try_receive);
    tcase_add_test(semantics, test_polling_goroutine_is_preempted);
    suite_add_tcase(suite, semantics);

    TCase *closing = tcase_create("close");
    tcase_set_timeout(closing, 60);
    tcase_add_test(closing, test_close_wakes_all_receivers_unbuffered);
    tcase_add_test(closing, test_close_wakes_all_receivers_buffered);
    tcase_add_test(closing, test_values_after_close);
    suite_add_tcase(suite, closing);

    TCase *fatal = tcase_create("fatal errors");
    tcase_set_timeout(fatal, 60);
    tcase_add_test(fatal, test_close_under_a_blocked_sender_is_fatal);
    tcase_add_test(fatal, test_send_on_closed_channel_is_fatal);
    tcase_add_test(fatal, test_try_send_on_closed_channel_is_fatal);
    tcase_add_test(fatal, test_double_close_is_fatal);
    tcase_add_test(fatal, test_close_of_nil_channel_is_fatal);
    tcase_add_test(fatal, test_nil_channel_receive_blocks_forever);
    tcase_add_test(fatal, test_nil_channel_send_blocks_forever);
    tcase_add_test(fatal, test_channel_deadlock_names_wait_reasons);
    tcase_add_test(fatal, test_freeing_a_channel_with_waiters_is_fatal);
    suite_add_tcase(suite, fatal);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
