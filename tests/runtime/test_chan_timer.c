/*
 * Timer channel tests: chan_after, chan_timer (stop, reset) and chan_ticker
 * (repeated ticks, dropped ticks for a slow reader, stop, reset).
 *
 * Time is asserted in one direction only: a timer never fires before its
 * delay. How late it fires depends on the machine and its load, so no test
 * asserts an upper bound; "did not fire" is checked after a sleep several
 * times the delay, which can only make a broken timer look right, never a
 * correct one look wrong.
 */
#include "chan.h"
#include "child.h"
#include "runtime.h"
#include "runtime_internal.h"
#include <check.h>
#include <stdlib.h>
#include <unistd.h>

#define MILLISECOND 1000000ull

static int run_with_procs(goroutine_function main_function, void *argument, int procs_wanted)
{
    struct runtime_config config = { .procs = procs_wanted };
    return runtime_run(main_function, argument, &config);
}

/* --- chan_after ---------------------------------------------------------- */

static void after_fires_after_the_delay(void *unused)
{
    (void)unused;
    uint64_t start = nanotime();
    struct chan *c = chan_after(20 * MILLISECOND);
    ck_assert_uint_eq(chan_cap(c), 1);
    uint64_t fired_at = 0;
    chan_receive(c, &fired_at);
    uint64_t now = nanotime();
    ck_assert_uint_ge(fired_at, start + 20 * MILLISECOND);   // the value is the firing time ...
    ck_assert_uint_le(fired_at, now);                        // ... not later than our receive
    ck_assert_uint_ge(now - start, 20 * MILLISECOND);
    // It fires once.
    gosleep(10 * MILLISECOND);
    ck_assert(!chan_try_receive(c, NULL, NULL));
    chan_free(c);
}

START_TEST(test_after_fires_after_the_delay)
{
    ck_assert_int_eq(run_with_procs(after_fires_after_the_delay, NULL, 2), 0);
}
END_TEST

// The value waits in the channel for a reader that comes late.
static void after_value_waits(void *unused)
{
    (void)unused;
    struct chan *c = chan_after(MILLISECOND);
    gosleep(20 * MILLISECOND);
    ck_assert_uint_eq(chan_len(c), 1);
    uint64_t fired_at = 0;
    bool ok = false;
    ck_assert(chan_try_receive(c, &fired_at, &ok));
    ck_assert(ok);
    ck_assert_uint_gt(fired_at, 0);
    chan_free(c);
}

START_TEST(test_after_value_waits_for_a_late_reader)
{
    ck_assert_int_eq(run_with_procs(after_value_waits, NULL, 1), 0);
}
END_TEST

// The classic timeout: select on a channel nobody sends on, and chan_after.
static void select_with_timeout(void *unused)
{
    (void)unused;
    struct chan *never = chan_make(sizeof(int), 0);
    uint64_t start = nanotime();
    struct chan *timeout = chan_after(15 * MILLISECOND);
    int value;
    uint64_t fired_at;
    struct select_case cases[] = {
        { .chan = never, .direction = SELECT_RECEIVE, .element = &value },
        { .chan = timeout, .direction = SELECT_RECEIVE, .element = &fired_at },
    };
    ck_assert_int_eq(chan_select(cases, 2, false), 1);
    ck_assert(cases[1].received_ok);
    ck_assert_uint_ge(nanotime() - start, 15 * MILLISECOND);
    chan_free(timeout);
    chan_free(never);
}

START_TEST(test_select_times_out_with_after)
{
    ck_assert_int_eq(run_with_procs(select_with_timeout, NULL, 2), 0);
}
END_TEST

// Many timers at once, from many goroutines, each woken after its own delay.
#define AFTER_GOROUTINES 1000
static volatile long after_done;
static uint64_t after_wanted[AFTER_GOROUTINES], after_got[AFTER_GOROUTINES];

static void wait_for_after(void *argument)
{
    uintptr_t index = (uintptr_t)argument;
    uint64_t start = nanotime();
    struct chan *c = chan_after(after_wanted[index]);
    chan_receive(c, NULL);
    after_got[index] = nanotime() - start;
    chan_free(c);
    __atomic_add_fetch(&after_done, 1, __ATOMIC_RELEASE);
}

static void many_afters(void *unused)
{
    (void)unused;
    for (uintptr_t i = 0; i < AFTER_GOROUTINES; i++) {
        after_wanted[i] = (uint64_t)(rand() % 20 + 1) * MILLISECOND / 4;
        go(wait_for_after, (void *)i);
    }
    while (__atomic_load_n(&after_done, __ATOMIC_ACQUIRE) < AFTER_GOROUTINES)
        gosleep(MILLISECOND);
    for (int i = 0; i < AFTER_GOROUTINES; i++)
        ck_assert_msg(after_got[i] >= after_wanted[i], "goroutine %d woke after %llu ns of %llu", i,
                      (unsigned long long)after_got[i], (unsigned long long)after_wanted[i]);
}

START_TEST(test_many_after_channels)
{
    ck_assert_int_eq(run_with_procs(many_afters, NULL, 2), 0);
}
END_TEST

// Freeing an unfired chan_after stops its timer: nothing fires into freed memory.
static void free_before_firing(void *unused)
{
    (void)unused;
    for (int i = 0; i < 100; i++)
        chan_free(chan_after((uint64_t)(i % 5) * MILLISECOND / 10));
    gosleep(10 * MILLISECOND);
}

START_TEST(test_after_freed_before_firing)
{
    ck_assert_int_eq(run_with_procs(free_before_firing, NULL, 2), 0);
}
END_TEST

/* --- chan_timer ------------------------------------------------------------ */

static void stop_before_firing(void *unused)
{
    (void)unused;
    // Stopped in time: pending, so stop says true. (Only if this thread
    // were held up for the whole 50 ms between the two calls could it fire
    // first; then we try again rather than fail a correct timer.)
    struct chan_timer *timer = NULL;
    for (int attempt = 0; attempt < 10 && timer == NULL; attempt++) {
        timer = chan_timer_new(50 * MILLISECOND);
        if (!chan_timer_stop(timer)) {
            chan_timer_free(timer);
            timer = NULL;
        }
    }
    ck_assert_msg(timer != NULL, "chan_timer_stop never found a 50 ms timer pending");
    ck_assert(!chan_timer_stop(timer));   // already stopped
    gosleep(100 * MILLISECOND);
    ck_assert(!chan_try_receive(chan_timer_channel(timer), NULL, NULL));
    chan_timer_free(timer);
}

START_TEST(test_timer_stopped_before_firing_never_sends)
{
    ck_assert_int_eq(run_with_procs(stop_before_firing, NULL, 2), 0);
}
END_TEST

static void stop_after_firing(void *unused)
{
    (void)unused;
    struct chan_timer *timer = chan_timer_new(MILLISECOND);
    gosleep(10 * MILLISECOND);
    ck_assert(!chan_timer_stop(timer));   // fired already ...
    uint64_t fired_at;
    ck_assert(chan_try_receive(chan_timer_channel(timer), &fired_at, NULL));   // ... and its value waits
    chan_timer_free(timer);
}

START_TEST(test_timer_stopped_after_firing_keeps_its_value)
{
    // One P: one timer heap, so the 1 ms timer fires before our 10 ms sleep ends.
    ck_assert_int_eq(run_with_procs(stop_after_firing, NULL, 1), 0);
}
END_TEST

// Go's idiom: if Stop says the timer already fired, its value can be drained
// at once -- stop waits for a firing in progress, so it is there.
static void stop_and_drain(void *unused)
{
    (void)unused;
    for (int round = 0; round < 200; round++) {
        struct chan_timer *timer = chan_timer_new((uint64_t)(round % 4) * 50000);   // 0 to 150 us
        gosleep((uint64_t)(round % 3) * 50000);
        if (!chan_timer_stop(timer)) {
            bool ok = false;
            ck_assert_msg(chan_try_receive(chan_timer_channel(timer), NULL, &ok) && ok,
                          "round %d: stop said fired, but the channel is empty", round);
        }
        ck_assert_uint_eq(chan_len(chan_timer_channel(timer)), 0);
        chan_timer_free(timer);
    }
}

START_TEST(test_timer_stop_then_drain)
{
    ck_assert_int_eq(run_with_procs(stop_and_drain, NULL, 2), 0);
}
END_TEST

static void reset_timer(void *unused)
{
    (void)unused;
    struct chan_timer *timer = chan_timer_new(10000 * MILLISECOND);
    uint64_t reset_at = nanotime();
    ck_assert(chan_timer_reset(timer, 5 * MILLISECOND));   // was pending
    uint64_t fired_at = 0;
    chan_receive(chan_timer_channel(timer), &fired_at);
    ck_assert_uint_ge(fired_at, reset_at + 5 * MILLISECOND);
    ck_assert_uint_ge(nanotime() - reset_at, 5 * MILLISECOND);

    // Reset after it fired: false, and it fires again.
    reset_at = nanotime();
    ck_assert(!chan_timer_reset(timer, 3 * MILLISECOND));
    chan_receive(chan_timer_channel(timer), &fired_at);
    ck_assert_uint_ge(fired_at, reset_at + 3 * MILLISECOND);

    // Reset of a stopped timer starts it.
    ck_assert(!chan_timer_stop(timer));
    ck_assert(!chan_timer_reset(timer, 2 * MILLISECOND));
    chan_receive(chan_timer_channel(timer), NULL);
    chan_timer_free(timer);
}

START_TEST(test_timer_reset)
{
    ck_assert_int_eq(run_with_procs(reset_timer, NULL, 2), 0);
}
END_TEST

// Stop and reset racing with firings, on two Ps: nothing may fire twice for
// one start, fire into freed memory, or start a pending timer twice (which
// time.c would throw for).
static void stop_reset_churn(void *unused)
{
    (void)unused;
    struct chan_timer *timer = chan_timer_new(0);
    for (int i = 0; i < 20000; i++) {
        uint64_t delay = (uint64_t)(i % 7) * 2000;   // 0 to 12 us: often firing while we act
        if (i % 3 == 0)
            chan_timer_stop(timer);
        chan_timer_reset(timer, delay);
        chan_try_receive(chan_timer_channel(timer), NULL, NULL);
        ck_assert_uint_le(chan_len(chan_timer_channel(timer)), 1);
    }
    chan_timer_free(timer);
}

START_TEST(test_timer_stop_reset_churn)
{
    ck_assert_int_eq(run_with_procs(stop_reset_churn, NULL, 2), 0);
}
END_TEST

/* --- chan_ticker ------------------------------------------------------------- */

static void ticker_repeats(void *unused)
{
    (void)unused;
    uint64_t start = nanotime();
    struct chan_ticker *ticker = chan_ticker_new(2 * MILLISECOND);
    uint64_t previous = 0;
    for (int i = 1; i <= 10; i++) {
        uint64_t tick = 0;
        chan_receive(chan_ticker_channel(ticker), &tick);
        ck_assert_uint_gt(tick, previous);
        previous = tick;
    }
    // Ten ticks on a 2 ms grid cannot come sooner than 20 ms after the start.
    ck_assert_uint_ge(previous, start + 20 * MILLISECOND);
    chan_ticker_free(ticker);
}

START_TEST(test_ticker_delivers_repeatedly)
{
    ck_assert_int_eq(run_with_procs(ticker_repeats, NULL, 2), 0);
}
END_TEST

static void slow_reader(void *unused)
{
    (void)unused;
    struct chan_ticker *ticker = chan_ticker_new(MILLISECOND);
    struct chan *c = chan_ticker_channel(ticker);
    // 50 periods pass without a reader: one tick waits, the rest are dropped.
    gosleep(50 * MILLISECOND);
    ck_assert_uint_eq(chan_len(c), 1);
    ck_assert_uint_eq(chan_cap(c), 1);
    uint64_t before = 0, tick = 0;
    chan_receive(c, &before);
    // The next tick is a fresh one, not a backlog.
    chan_receive(c, &tick);
    ck_assert_uint_gt(tick, before);
    // Receiving as fast as ticks come for 30 ms yields about 30, never the 80
    // that 80 ms of ticks would be without dropping.
    uint64_t start = nanotime();
    int count = 0;
    while (nanotime() - start < 30 * MILLISECOND) {
        chan_receive(c, NULL);
        count++;
    }
    ck_assert_msg(count < 60, "%d ticks in 30 ms of a 1 ms ticker: the missed ticks were not dropped", count);
    chan_ticker_free(ticker);
}

START_TEST(test_ticker_drops_ticks_for_a_slow_reader)
{
    // One P: the ticker and our sleep share a heap, so ticks come in order with it.
    ck_assert_int_eq(run_with_procs(slow_reader, NULL, 1), 0);
}
END_TEST

static void ticker_stop_and_reset(void *unused)
{
    (void)unused;
    struct chan_ticker *ticker = chan_ticker_new(MILLISECOND);
    struct chan *c = chan_ticker_channel(ticker);
    chan_receive(c, NULL);
    chan_ticker_stop(ticker);
    chan_try_receive(c, NULL, NULL);   // drain a tick sent just before the stop
    gosleep(20 * MILLISECOND);
    ck_assert_msg(!chan_try_receive(c, NULL, NULL), "a stopped ticker ticked");

    uint64_t reset_at = nanotime();
    chan_ticker_reset(ticker, 3 * MILLISECOND);
    uint64_t tick = 0;
    chan_receive(c, &tick);
    ck_assert_uint_ge(tick, reset_at + 3 * MILLISECOND);
    chan_receive(c, &tick);
    ck_assert_uint_ge(tick, reset_at + 6 * MILLISECOND);
    chan_ticker_free(ticker);
}

START_TEST(test_ticker_stop_and_reset)
{
    ck_assert_int_eq(run_with_procs(ticker_stop_and_reset, NULL, 2), 0);
}
END_TEST

// Many tickers firing on two Ps while goroutines select over them and free
// them: the settle protocol keeps firings out of freed memory.
#define TICKER_GOROUTINES 50
static volatile long tickers_done;

static void tick_a_while(void *argument)
{
    uint64_t period = 100000 + (uintptr_t)argument * 10000;   // 100 to 590 us
    struct chan_ticker *ticker = chan_ticker_new(period);
    struct chan *stop = chan_after(5 * MILLISECOND);
    uint64_t tick;
    struct select_case cases[] = {
        { .chan = chan_ticker_channel(ticker), .direction = SELECT_RECEIVE, .element = &tick },
        { .chan = stop, .direction = SELECT_RECEIVE, .element = &tick },
    };
    while (chan_select(cases, 2, false) == 0) {
    }
    chan_ticker_free(ticker);
    chan_free(stop);
    __atomic_add_fetch(&tickers_done, 1, __ATOMIC_RELEASE);
}

static void many_tickers(void *unused)
{
    (void)unused;
    for (uintptr_t i = 0; i < TICKER_GOROUTINES; i++)
        go(tick_a_while, (void *)i);
    while (__atomic_load_n(&tickers_done, __ATOMIC_ACQUIRE) < TICKER_GOROUTINES)
        gosleep(MILLISECOND);
}

START_TEST(test_many_tickers_selected_and_freed)
{
    ck_assert_int_eq(run_with_procs(many_tickers, NULL, 2), 0);
}
END_TEST

/* --- Misuse ---------------------------------------------------------------------- */

static void free_timers_channel(void *unused)
{
    (void)unused;
    struct chan_timer *timer = chan_timer_new(MILLISECOND);
    chan_free(chan_timer_channel(timer));
}

static int free_timers_channel_program(void *unused)
{
    (void)unused;
    return run_with_procs(free_timers_channel, NULL, 1);
}

START_TEST(test_freeing_a_timers_channel_is_fatal)
{
    struct child_result result = run_in_child(free_timers_channel_program, NULL);
    ck_assert_msg(result.exit_status == 2, "exit status %d; output:\n%s", result.exit_status, result.output);
    ck_assert_msg(strstr(result.output, "fatal error: chan_free of a timer's channel"), "output:\n%s", result.output);
}
END_TEST

static void close_timers_channel(void *unused)
{
    (void)unused;
    chan_close(chan_after(MILLISECOND));
}

static int close_timers_channel_program(void *unused)
{
    (void)unused;
    return run_with_procs(close_timers_channel, NULL, 1);
}

START_TEST(test_closing_a_timer_channel_is_fatal)
{
    struct child_result result = run_in_child(close_timers_channel_program, NULL);
    ck_assert_msg(result.exit_status == 2, "exit status %d; output:\n%s", result.exit_status, result.output);
    ck_assert_msg(strstr(result.output, "fatal error: close of a timer channel"), "output:\n%s", result.output);
}
END_TEST

static void wait_on_stopped_timer(void *unused)
{
    (void)unused;
    struct chan_timer *timer = chan_timer_new(10 * MILLISECOND);
    chan_timer_stop(timer);
    chan_receive(chan_timer_channel(timer), NULL);   // nothing will ever come
}

static int wait_on_stopped_timer_program(void *unused)
{
    (void)unused;
    return run_with_procs(wait_on_stopped_timer, NULL, 2);
}

START_TEST(test_waiting_on_a_stopped_timer_is_a_deadlock)
{
    struct child_result result = run_in_child(wait_on_stopped_timer_program, NULL);
    ck_assert_msg(result.exit_status == 2, "exit status %d; output:\n%s", result.exit_status, result.output);
    ck_assert_msg(strstr(result.output, "fatal error: all goroutines are asleep - deadlock!"), "output:\n%s",
                  result.output);
    ck_assert_msg(strstr(result.output, "goroutine 1 [timer channel]"), "output:\n%s", result.output);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("chan_timer");

    TCase *after = tcase_create("after");
    tcase_set_timeout(after, 60);
    tcase_add_test(after, test_after_fires_after_the_delay);
    tcase_add_test(after, test_after_value_waits_for_a_late_reader);
    tcase_add_test(after, test_select_times_out_with_after);
    tcase_add_test(after, test_many_after_channels);
    tcase_add_test(after, test_after_freed_before_firing);
    suite_add_tcase(suite, after);

    TCase *timer = tcase_create("timer");
    tcase_set_timeout(timer, 60);
    tcase_add_test(timer, test_timer_stopped_before_firing_never_sends);
    tcase_add_test(timer, test_timer_stopped_after_firing_keeps_its_value);
    tcase_add_test(timer, test_timer_stop_then_drain);
    tcase_add_test(timer, test_timer_reset);
    tcase_add_test(timer, test_timer_stop_reset_churn);
    suite_add_tcase(suite, timer);

    TCase *ticker = tcase_create("ticker");
    tcase_set_timeout(ticker, 60);
    tcase_add_test(ticker, test_ticker_delivers_repeatedly);
    tcase_add_test(ticker, test_ticker_drops_ticks_for_a_slow_reader);
    tcase_add_test(ticker, test_ticker_stop_and_reset);
    tcase_add_test(ticker, test_many_tickers_selected_and_freed);
    suite_add_tcase(suite, ticker);

    TCase *misuse = tcase_create("misuse");
    tcase_set_timeout(misuse, 60);
    tcase_add_test(misuse, test_freeing_a_timers_channel_is_fatal);
    tcase_add_test(misuse, test_closing_a_timer_channel_is_fatal);
    tcase_add_test(misuse, test_waiting_on_a_stopped_timer_is_a_deadlock);
    suite_add_tcase(suite, misuse);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
