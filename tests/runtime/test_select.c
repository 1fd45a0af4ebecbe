/*
 * select tests: default, blocking until a case is ready, uniform choice
 * among ready cases, send and receive cases together, closed and NULL
 * channels, select {}, and the select_done race (a goroutine selecting on
 * many channels is woken exactly once however many senders race for it).
 *
 * Every test frees its channels at the end: chan_free throws if a sudog
 * were left on a queue, so that also checks select's pass 3.
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

static void wait_for_waiting(struct chan *c, bool senders, int count)
{
    while (waiting_count(c, senders) < count)
        gosleep(MILLISECOND / 10);
}

static void expect_fatal(int (*program)(void *), const char *first, const char *second)
{
    struct child_result result = run_in_child(program, NULL);
    ck_assert_msg(result.exit_status == 2, "exit status %d (signal %d); output:\n%s", result.exit_status,
                  result.signal_number, result.output);
    ck_assert_msg(strstr(result.output, first), "no \"%s\" in output:\n%s", first, result.output);
    if (second)
        ck_assert_msg(strstr(result.output, second), "no \"%s\" in output:\n%s", second, result.output);
}

/* --- Default ----------------------------------------------------------------- */

static void default_when_nothing_ready(void *unused)
{
    (void)unused;
    struct chan *unbuffered = chan_make(sizeof(int), 0);
    struct chan *empty = chan_make(sizeof(int), 2);
    struct chan *full = chan_make(sizeof(int), 1);
    int value = 1, received = 0;
    chan_send(full, &value);
    struct select_case cases[] = {
        { .chan = unbuffered, .direction = SELECT_RECEIVE, .element = &received },
        { .chan = unbuffered, .direction = SELECT_SEND, .element = &value },
        { .chan = empty, .direction = SELECT_RECEIVE, .element = &received },
        { .chan = full, .direction = SELECT_SEND, .element = &value },
        { .chan = NULL, .direction = SELECT_RECEIVE, .element = &received },
        { .chan = NULL, .direction = SELECT_SEND, .element = &value },
    };
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(chan_select(cases, 6, true), -1);
    ck_assert_int_eq(chan_select(NULL, 0, true), -1);
    ck_assert_int_eq(chan_select(&cases[4], 2, true), -1);   // only NULL channels
    ck_assert_uint_eq(chan_len(full), 1);
    ck_assert_uint_eq(chan_len(empty), 0);
    chan_free(unbuffered);
    chan_free(empty);
    chan_free(full);
}

START_TEST(test_default_when_nothing_is_ready)
{
    ck_assert_int_eq(run_with_procs(default_when_nothing_ready, NULL, 1), 0);
}
END_TEST

/* --- Blocking ---------------------------------------------------------------- */

static struct chan *wake_channels[3];

static void send_on_channel_1_later(void *unused)
{
    (void)unused;
    gosleep(10 * MILLISECOND);
    int value = 7;
    chan_send(wake_channels[1], &value);
}

static void blocking_select_wakes(void *unused)
{
    (void)unused;
    for (int i = 0; i < 3; i++)
        wake_channels[i] = chan_make(sizeof(int), i);   // unbuffered and buffered alike
    int values[3] = { -1, -1, -1 };
    struct select_case cases[3];
    for (int i = 0; i < 3; i++)
        cases[i] = (struct select_case){ .chan = wake_channels[i], .direction = SELECT_RECEIVE, .element = &values[i] };
    uint64_t start = nanotime();   // before go(): the sender's sleep starts after this
    go(send_on_channel_1_later, NULL);
    int chosen = chan_select(cases, 3, false);
    ck_assert_int_eq(chosen, 1);
    ck_assert_int_eq(values[1], 7);
    ck_assert(cases[1].received_ok);
    ck_assert_int_eq(values[0], -1);
    ck_assert_int_eq(values[2], -1);
    ck_assert_uint_ge(nanotime() - start, 10 * MILLISECOND);
    for (int i = 0; i < 3; i++)
        chan_free(wake_channels[i]);
}

START_TEST(test_blocking_select_wakes_on_the_ready_case)
{
    ck_assert_int_eq(run_with_procs(blocking_select_wakes, NULL, 2), 0);
}
END_TEST

// A select that blocks to send: the receiver comes later.
static struct chan *late_receiver_channel;
static int late_received;

static void receive_later(void *unused)
{
    (void)unused;
    gosleep(10 * MILLISECOND);
    chan_receive(late_receiver_channel, &late_received);
}

static void blocking_select_sends(void *unused)
{
    (void)unused;
    late_receiver_channel = chan_make(sizeof(int), 0);
    struct chan *never = chan_make(sizeof(int), 0);
    int value = 31, sink;
    struct select_case cases[] = {
        { .chan = never, .direction = SELECT_RECEIVE, .element = &sink },
        { .chan = late_receiver_channel, .direction = SELECT_SEND, .element = &value },
    };
    go(receive_later, NULL);
    ck_assert_int_eq(chan_select(cases, 2, false), 1);
    while (__atomic_load_n(&late_received, __ATOMIC_ACQUIRE) != 31)
        gosleep(MILLISECOND / 10);
    chan_free(late_receiver_channel);
    chan_free(never);
}

START_TEST(test_blocking_select_sends_to_a_late_receiver)
{
    ck_assert_int_eq(run_with_procs(blocking_select_sends, NULL, 2), 0);
}
END_TEST

/* --- Fairness ------------------------------------------------------------------ */

#define FAIRNESS_ROUNDS 100000

static void fairness_between_two_ready_channels(void *unused)
{
    (void)unused;
    // Two buffered channels, each kept holding one value: both cases are
    // ready in every round.
    struct chan *left = chan_make(sizeof(int), 1), *right = chan_make(sizeof(int), 1);
    int value = 1;
    chan_send(left, &value);
    chan_send(right, &value);
    struct select_case cases[] = {
        { .chan = left, .direction = SELECT_RECEIVE, .element = &value },
        { .chan = right, .direction = SELECT_RECEIVE, .element = &value },
    };
    long counts[2] = { 0, 0 };
    for (int round = 0; round < FAIRNESS_ROUNDS; round++) {
        int chosen = chan_select(cases, 2, false);
        ck_assert(chosen == 0 || chosen == 1);
        counts[chosen]++;
        chan_send(cases[chosen].chan, &value);
    }
    // Uniform would be 50,000 each; within 10% of that. (The binomial
    // standard deviation is 158, so a fair choice never fails this.)
    for (int i = 0; i < 2; i++)
        ck_assert_msg(counts[i] >= 45000 && counts[i] <= 55000, "case %d chosen %ld times of %d", i, counts[i],
                      FAIRNESS_ROUNDS);
    chan_free(left);
    chan_free(right);
}

START_TEST(test_ready_cases_are_chosen_uniformly)
{
    ck_assert_int_eq(run_with_procs(fairness_between_two_ready_channels, NULL, 1), 0);
}
END_TEST

static void fairness_among_four_closed_channels(void *unused)
{
    (void)unused;
    // Closed channels are always ready too; four cases, one of them a send
    // case on a NULL channel that must never fire.
    struct chan *channels[3];
    struct select_case cases[4];
    int value;
    for (int i = 0; i < 3; i++) {
        channels[i] = chan_make(sizeof(int), i);
        chan_close(channels[i]);
        cases[i] = (struct select_case){ .chan = channels[i], .direction = SELECT_RECEIVE, .element = &value };
    }
    cases[3] = (struct select_case){ .chan = NULL, .direction = SELECT_SEND, .element = &value };
    long counts[4] = { 0 };
    for (int round = 0; round < FAIRNESS_ROUNDS; round++) {
        value = 5;
        int chosen = chan_select(cases, 4, true);
        ck_assert(chosen >= 0 && chosen < 3);
        ck_assert(!cases[chosen].received_ok);
        ck_assert_int_eq(value, 0);
        counts[chosen]++;
    }
    for (int i = 0; i < 3; i++)
        ck_assert_msg(counts[i] >= 30000 && counts[i] <= 36667, "case %d chosen %ld times", i, counts[i]);
    for (int i = 0; i < 3; i++)
        chan_free(channels[i]);
}

START_TEST(test_closed_channels_are_chosen_uniformly)
{
    ck_assert_int_eq(run_with_procs(fairness_among_four_closed_channels, NULL, 1), 0);
}
END_TEST

/* --- Send and receive cases together ------------------------------------------------ */

static void send_and_receive_cases(void *unused)
{
    (void)unused;
    struct chan *outbox = chan_make(sizeof(int), 1), *inbox = chan_make(sizeof(int), 1);
    int out = 10, in = 0;
    struct select_case cases[] = {
        { .chan = outbox, .direction = SELECT_SEND, .element = &out },
        { .chan = inbox, .direction = SELECT_RECEIVE, .element = &in },
    };
    // Only the send is ready.
    ck_assert_int_eq(chan_select(cases, 2, false), 0);
    ck_assert_uint_eq(chan_len(outbox), 1);
    // Now neither: the outbox is full, the inbox empty.
    ck_assert_int_eq(chan_select(cases, 2, true), -1);
    // Only the receive.
    int twenty = 20;
    chan_send(inbox, &twenty);
    ck_assert_int_eq(chan_select(cases, 2, false), 1);
    ck_assert_int_eq(in, 20);
    ck_assert(cases[1].received_ok);
    int got = 0;
    chan_receive(outbox, &got);
    ck_assert_int_eq(got, 10);
    chan_free(outbox);
    chan_free(inbox);
}

START_TEST(test_select_with_send_and_receive_cases)
{
    ck_assert_int_eq(run_with_procs(send_and_receive_cases, NULL, 1), 0);
}
END_TEST

// Both sides of a channel in select: a selecting sender meets a selecting
// receiver, in both orders of arrival, many times. Each side's other case
// is on a channel of its own that the other side never touches.
#define SELECT_PAIR_ROUNDS 20000
static struct chan *pair_channel, *sender_other, *receiver_other;
static volatile long select_sender_done;

static void select_sender(void *unused)
{
    (void)unused;
    int sink;
    for (int i = 0; i < SELECT_PAIR_ROUNDS; i++) {
        int value = i;
        struct select_case cases[] = {
            { .chan = sender_other, .direction = SELECT_RECEIVE, .element = &sink },
            { .chan = pair_channel, .direction = SELECT_SEND, .element = &value },
        };
        ck_assert_int_eq(chan_select(cases, 2, false), 1);
    }
    __atomic_add_fetch(&select_sender_done, 1, __ATOMIC_RELEASE);
}

static void select_to_select(void *unused)
{
    (void)unused;
    pair_channel = chan_make(sizeof(int), 0);
    sender_other = chan_make(sizeof(int), 0);
    receiver_other = chan_make(sizeof(int), 0);
    go(select_sender, NULL);
    int sink = 0;
    for (int i = 0; i < SELECT_PAIR_ROUNDS; i++) {
        int value = -1;
        struct select_case cases[] = {
            { .chan = pair_channel, .direction = SELECT_RECEIVE, .element = &value },
            { .chan = receiver_other, .direction = SELECT_SEND, .element = &sink },
        };
        ck_assert_int_eq(chan_select(cases, 2, false), 0);
        ck_assert_int_eq(value, i);
    }
    // The sender may still be in its last select, taking its sudog off
    // sender_other: freeing that channel now would be a use after free
    // (chan_free catches it).
    wait_for_count(&select_sender_done, 1);
    chan_free(pair_channel);
    chan_free(sender_other);
    chan_free(receiver_other);
}

START_TEST(test_select_meets_select)
{
    ck_assert_int_eq(run_with_procs(select_to_select, NULL, 2), 0);
}
END_TEST

// One channel named by several cases: locked once, every sudog removed.
static struct chan *repeated_channel;

static void send_99_later(void *unused)
{
    (void)unused;
    gosleep(5 * MILLISECOND);
    int value = 99;
    chan_send(repeated_channel, &value);
}

static void same_channel_in_several_cases(void *unused)
{
    (void)unused;
    repeated_channel = chan_make(sizeof(int), 0);
    int a = 0, b = 0, c = 0, out = 1;
    struct select_case cases[] = {
        { .chan = repeated_channel, .direction = SELECT_RECEIVE, .element = &a },
        { .chan = repeated_channel, .direction = SELECT_SEND, .element = &out },
        { .chan = repeated_channel, .direction = SELECT_RECEIVE, .element = &b },
        { .chan = repeated_channel, .direction = SELECT_RECEIVE, .element = &c },
    };
    for (int round = 0; round < 50; round++) {
        a = b = c = 0;
        go(send_99_later, NULL);
        int chosen = chan_select(cases, 4, false);
        ck_assert_msg(chosen == 0 || chosen == 2 || chosen == 3, "chose case %d", chosen);
        ck_assert_int_eq(*(int *)cases[chosen].element, 99);
        ck_assert_int_eq(a + b + c, 99);
    }
    chan_free(repeated_channel);   // throws if a sudog were left behind
}

START_TEST(test_same_channel_in_several_cases)
{
    ck_assert_int_eq(run_with_procs(same_channel_in_several_cases, NULL, 2), 0);
}
END_TEST

// select against goroutines parked in plain chan_send and chan_receive.
static struct chan *parked_channel;
static volatile long parked_done;

static void parked_receiver(void *slot)
{
    chan_receive(parked_channel, slot);
    __atomic_add_fetch(&parked_done, 1, __ATOMIC_RELEASE);
}

static void parked_sender(void *unused)
{
    (void)unused;
    int value = 123;
    chan_send(parked_channel, &value);
    __atomic_add_fetch(&parked_done, 1, __ATOMIC_RELEASE);
}

static void select_with_parked_peers(void *unused)
{
    (void)unused;
    parked_channel = chan_make(sizeof(int), 0);
    static int slot;
    go(parked_receiver, &slot);
    wait_for_waiting(parked_channel, false, 1);
    int value = 55;
    struct select_case send_case = { .chan = parked_channel, .direction = SELECT_SEND, .element = &value };
    ck_assert_int_eq(chan_select(&send_case, 1, true), 0);   // straight into the parked receiver
    wait_for_count(&parked_done, 1);
    ck_assert_int_eq(slot, 55);

    go(parked_sender, NULL);
    wait_for_waiting(parked_channel, true, 1);
    value = 0;
    struct select_case receive_case = { .chan = parked_channel, .direction = SELECT_RECEIVE, .element = &value };
    ck_assert_int_eq(chan_select(&receive_case, 1, true), 0);
    ck_assert_int_eq(value, 123);
    wait_for_count(&parked_done, 2);
    chan_free(parked_channel);
}

START_TEST(test_select_with_parked_peers)
{
    ck_assert_int_eq(run_with_procs(select_with_parked_peers, NULL, 1), 0);
}
END_TEST

// More cases than fit in the frame: the scratch comes from the heap.
#define MANY_CASES 300
static struct chan *many_channels[MANY_CASES];

static void send_on_channel_137_later(void *unused)
{
    (void)unused;
    gosleep(5 * MILLISECOND);
    int value = 137;
    chan_send(many_channels[137], &value);
}

static void select_with_many_cases(void *unused)
{
    (void)unused;
    static struct select_case cases[MANY_CASES];
    int value = -1;
    for (int i = 0; i < MANY_CASES; i++) {
        many_channels[i] = chan_make(sizeof(int), 0);
        cases[i] = (struct select_case){ .chan = many_channels[i], .direction = SELECT_RECEIVE, .element = &value };
    }
    ck_assert_int_eq(chan_select(cases, MANY_CASES, true), -1);
    go(send_on_channel_137_later, NULL);
    ck_assert_int_eq(chan_select(cases, MANY_CASES, false), 137);
    ck_assert_int_eq(value, 137);
    for (int i = 0; i < MANY_CASES; i++)
        chan_free(many_channels[i]);
}

START_TEST(test_select_with_300_cases)
{
    ck_assert_int_eq(run_with_procs(select_with_many_cases, NULL, 2), 0);
}
END_TEST

/* --- Closed channels ---------------------------------------------------------------- */

static struct chan *closing_channel;

static void close_later(void *unused)
{
    (void)unused;
    gosleep(10 * MILLISECOND);
    chan_close(closing_channel);
}

static void select_on_closed(void *unused)
{
    (void)unused;
    // Buffered values come first, then the closed state, at once.
    struct chan *c = chan_make(sizeof(int), 2);
    int one = 1;
    chan_send(c, &one);
    chan_close(c);
    int value = 0;
    struct select_case receive = { .chan = c, .direction = SELECT_RECEIVE, .element = &value };
    ck_assert_int_eq(chan_select(&receive, 1, false), 0);
    ck_assert(receive.received_ok);
    ck_assert_int_eq(value, 1);
    value = 8;
    ck_assert_int_eq(chan_select(&receive, 1, false), 0);
    ck_assert(!receive.received_ok);
    ck_assert_int_eq(value, 0);
    chan_free(c);

    // A select blocked on a channel that is then closed wakes with ok == false.
    closing_channel = chan_make(sizeof(int), 0);
    struct chan *never = chan_make(sizeof(int), 0);
    int other;
    struct select_case cases[] = {
        { .chan = never, .direction = SELECT_RECEIVE, .element = &other },
        { .chan = closing_channel, .direction = SELECT_RECEIVE, .element = &value },
    };
    value = 8;
    cases[1].received_ok = true;
    go(close_later, NULL);
    ck_assert_int_eq(chan_select(cases, 2, false), 1);
    ck_assert(!cases[1].received_ok);
    ck_assert_int_eq(value, 0);
    chan_free(closing_channel);
    chan_free(never);
}

START_TEST(test_select_on_closed_channel)
{
    ck_assert_int_eq(run_with_procs(select_on_closed, NULL, 2), 0);
}
END_TEST

static void select_send_on_closed(void *unused)
{
    (void)unused;
    struct chan *c = chan_make(sizeof(int), 4);
    chan_close(c);
    int value = 1;
    struct select_case send = { .chan = c, .direction = SELECT_SEND, .element = &value };
    chan_select(&send, 1, true);
}

static int select_send_on_closed_program(void *unused)
{
    (void)unused;
    return run_with_procs(select_send_on_closed, NULL, 1);
}

START_TEST(test_select_send_on_closed_channel_is_fatal)
{
    expect_fatal(select_send_on_closed_program, "fatal error: send on closed channel", NULL);
}
END_TEST

static void select_send_then_closed(void *unused)
{
    (void)unused;
    closing_channel = chan_make(sizeof(int), 0);
    int value = 1;
    struct select_case send = { .chan = closing_channel, .direction = SELECT_SEND, .element = &value };
    go(close_later, NULL);
    chan_select(&send, 1, false);
}

static int select_send_then_closed_program(void *unused)
{
    (void)unused;
    return run_with_procs(select_send_then_closed, NULL, 2);
}

START_TEST(test_select_blocked_sending_dies_on_close)
{
    expect_fatal(select_send_then_closed_program, "fatal error: send on closed channel", NULL);
}
END_TEST

/* --- Blocking forever ------------------------------------------------------------------- */

static void select_no_cases(void *unused)
{
    (void)unused;
    chan_select(NULL, 0, false);
}

static int select_no_cases_program(void *unused)
{
    (void)unused;
    return run_with_procs(select_no_cases, NULL, 2);
}

START_TEST(test_select_with_no_cases_blocks_forever)
{
    expect_fatal(select_no_cases_program, "fatal error: all goroutines are asleep - deadlock!",
                 "goroutine 1 [select (no cases)]");
}
END_TEST

static void select_only_nil(void *unused)
{
    (void)unused;
    int value;
    struct select_case cases[] = {
        { .chan = NULL, .direction = SELECT_RECEIVE, .element = &value },
        { .chan = NULL, .direction = SELECT_SEND, .element = &value },
    };
    chan_select(cases, 2, false);
}

static int select_only_nil_program(void *unused)
{
    (void)unused;
    return run_with_procs(select_only_nil, NULL, 2);
}

START_TEST(test_select_on_nil_channels_blocks_forever)
{
    expect_fatal(select_only_nil_program, "fatal error: all goroutines are asleep - deadlock!",
                 "goroutine 1 [select]");
}
END_TEST

static void select_nobody_sends(void *unused)
{
    (void)unused;
    struct chan *c = chan_make(sizeof(int), 0);
    int value;
    struct select_case cases[] = {
        { .chan = c, .direction = SELECT_RECEIVE, .element = &value },
        { .chan = c, .direction = SELECT_SEND, .element = &value },
    };
    chan_select(cases, 2, false);
}

static int select_deadlock_program(void *unused)
{
    (void)unused;
    return run_with_procs(select_nobody_sends, NULL, 2);
}

START_TEST(test_select_deadlock_is_detected)
{
    expect_fatal(select_deadlock_program, "fatal error: all goroutines are asleep - deadlock!", "goroutine 1 [select]");
}
END_TEST

/* --- The select_done race ------------------------------------------------------------------- */

// Receivers block in select over all channels; many senders, some plain and
// some themselves selecting over all channels, race to wake them. A receiver
// woken twice would throw in the scheduler (its status would not be
// "waiting" the second time); a message lost or duplicated shows in `arrived`.
#define RACE_CHANNELS 8
#define RACE_SENDERS 16
#define RACE_MESSAGES_PER_SENDER 10000
#define RACE_RECEIVERS 3
#define RACE_TOTAL (RACE_SENDERS * RACE_MESSAGES_PER_SENDER)
static struct chan *race_channels[RACE_CHANNELS];
static unsigned char arrived[RACE_TOTAL];
static volatile long race_received, race_receivers_done, race_senders_done;

static void race_sender(void *argument)
{
    uint32_t sender = (uint32_t)(uintptr_t)argument;
    uint32_t random = sender * 2654435761u + 1;
    for (uint32_t i = 0; i < RACE_MESSAGES_PER_SENDER; i++) {
        uint32_t message = sender * RACE_MESSAGES_PER_SENDER + i;
        if (sender % 2 == 0) {
            random = random * 1103515245u + 12345u;
            chan_send(race_channels[(random >> 16) % RACE_CHANNELS], &message);
        } else {
            struct select_case cases[RACE_CHANNELS];
            for (int c = 0; c < RACE_CHANNELS; c++)
                cases[c] = (struct select_case){ .chan = race_channels[c], .direction = SELECT_SEND, .element = &message };
            chan_select(cases, RACE_CHANNELS, false);
        }
    }
    __atomic_add_fetch(&race_senders_done, 1, __ATOMIC_RELEASE);
}

static void race_receiver(void *unused)
{
    (void)unused;
    uint32_t message;
    struct select_case cases[RACE_CHANNELS];
    for (int c = 0; c < RACE_CHANNELS; c++)
        cases[c] = (struct select_case){ .chan = race_channels[c], .direction = SELECT_RECEIVE, .element = &message };
    for (;;) {
        int chosen = chan_select(cases, RACE_CHANNELS, false);
        ck_assert(chosen >= 0 && chosen < RACE_CHANNELS);
        if (!cases[chosen].received_ok)
            break;   // closed: the end
        ck_assert_uint_lt(message, RACE_TOTAL);
        __atomic_add_fetch(&arrived[message], 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&race_received, 1, __ATOMIC_RELEASE);
    }
    __atomic_add_fetch(&race_receivers_done, 1, __ATOMIC_RELEASE);
}

static void select_done_race(void *unused)
{
    (void)unused;
    for (int c = 0; c < RACE_CHANNELS; c++)
        race_channels[c] = chan_make(sizeof(uint32_t), 0);
    for (int r = 0; r < RACE_RECEIVERS; r++)
        go(race_receiver, NULL);
    for (uintptr_t s = 0; s < RACE_SENDERS; s++)
        go(race_sender, (void *)s);
    wait_for_count(&race_received, RACE_TOTAL);
    wait_for_count(&race_senders_done, RACE_SENDERS);   // out of their last selects
    for (int c = 0; c < RACE_CHANNELS; c++)
        chan_close(race_channels[c]);
    wait_for_count(&race_receivers_done, RACE_RECEIVERS);
    for (int i = 0; i < RACE_TOTAL; i++)
        ck_assert_msg(arrived[i] == 1, "message %d arrived %d times", i, arrived[i]);
    for (int c = 0; c < RACE_CHANNELS; c++)
        chan_free(race_channels[c]);
}

START_TEST(test_select_is_woken_once_two_ps)
{
    ck_assert_int_eq(run_with_procs(select_done_race, NULL, 2), 0);
}
END_TEST

START_TEST(test_select_is_woken_once_four_ps)
{
    ck_assert_int_eq(run_with_procs(select_done_race, NULL, 4), 0);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("select");

    TCase *basics = tcase_create("basics");
    tcase_set_timeout(basics, 60);
    tcase_add_test(basics, test_default_when_nothing_is_ready);
    tcase_add_test(basics, test_blocking_select_wakes_on_the_ready_case);
    tcase_add_test(basics, test_blocking_select_sends_to_a_late_receiver);
    tcase_add_test(basics, test_ready_cases_are_chosen_uniformly);
    tcase_add_test(basics, test_closed_channels_are_chosen_uniformly);
    tcase_add_test(basics, test_select_with_send_and_receive_cases);
    tcase_add_test(basics, test_select_meets_select);
    tcase_add_test(basics, test_same_channel_in_several_cases);
    tcase_add_test(basics, test_select_with_parked_peers);
    tcase_add_test(basics, test_select_with_300_cases);
    suite_add_tcase(suite, basics);

    TCase *closing = tcase_create("closed and nil");
    tcase_set_timeout(closing, 60);
    tcase_add_test(closing, test_select_on_closed_channel);
    tcase_add_test(closing, test_select_send_on_closed_channel_is_fatal);
    tcase_add_test(closing, test_select_blocked_sending_dies_on_close);
    tcase_add_test(closing, test_select_with_no_cases_blocks_forever);
    tcase_add_test(closing, test_select_on_nil_channels_blocks_forever);
    tcase_add_test(closing, test_select_deadlock_is_detected);
    suite_add_tcase(suite, closing);

    TCase *race = tcase_create("select_done race");
    tcase_set_timeout(race, 120);
    tcase_add_test(race, test_select_is_woken_once_two_ps);
    tcase_add_test(race, test_select_is_woken_once_four_ps);
    suite_add_tcase(suite, race);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
