/*
 * netpoll tests: goroutines woken from outside the runtime (runtime/netpoll.h).
 *
 * The kernel's NIC interrupt handler will call netpoll_signal while its CPU
 * may be anywhere, inside the scheduler's locks included. Hosted, the same
 * situation is a POSIX signal handler (SIGALRM from an interval timer, which
 * lands on whichever thread the kernel picks) and a plain pthread that is
 * not an M. These tests wake goroutines from both, with the scheduler busy
 * and with it idle, and check that no signal is lost, none is doubled into
 * two wake-ups, and an idle world with a goroutine waiting on an event is
 * not mistaken for a deadlock.
 *
 * Each test runs a whole runtime in a process of its own (Check forks).
 */
#include "chan.h"
#include "child.h"
#include "netpoll.h"
#include "runtime.h"
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static int run_with_procs(goroutine_function main_function, int procs_wanted)
{
    struct runtime_config config = { .procs = procs_wanted };
    return runtime_run(main_function, NULL, &config);
}

/* --- Within the runtime --------------------------------------------------------- */

static void pending_signals(void *unused)
{
    (void)unused;
    struct netpoll_event event = { 0 };
    // A signal with nobody waiting is kept: the wait returns at once.
    netpoll_signal(&event);
    netpoll_wait(&event);
    // Two signals before a wait are one (a binary semaphore): after the
    // wait, nothing is pending.
    netpoll_signal(&event);
    netpoll_signal(&event);
    netpoll_wait(&event);
    ck_assert_uint_eq(__atomic_load_n(&event.state, __ATOMIC_ACQUIRE), 0);
}

START_TEST(test_a_signal_before_the_wait_is_kept_once)
{
    ck_assert_int_eq(run_with_procs(pending_signals, 1), 0);
}
END_TEST

struct ping_pong {
    struct netpoll_event ping, pong;
    long rounds;
};

static void ponger(void *argument)
{
    struct ping_pong *game = argument;
    for (long i = 0; i < game->rounds; i++) {
        netpoll_wait(&game->ping);
        netpoll_signal(&game->pong);
    }
}

static void ping_pong_between_goroutines(void *unused)
{
    (void)unused;
    static struct ping_pong game = { .rounds = 10000 };
    go(ponger, &game);
    for (long i = 0; i < game.rounds; i++) {
        netpoll_signal(&game.ping);
        netpoll_wait(&game.pong);
    }
}

START_TEST(test_goroutines_wake_each_other_procs_1)
{
    ck_assert_int_eq(run_with_procs(ping_pong_between_goroutines, 1), 0);
}
END_TEST

START_TEST(test_goroutines_wake_each_other_procs_2)
{
    ck_assert_int_eq(run_with_procs(ping_pong_between_goroutines, 2), 0);
}
END_TEST

/* --- From a thread that is not an M -------------------------------------------- */

#define THREAD_ROUNDS 2000

// The thread signals `event` and waits (spinning) until the goroutine has
// counted the wake-up, THREAD_ROUNDS times. Nothing else runs: every wake-up
// finds the runtime idle, all its Ms parked.
struct thread_game {
    struct netpoll_event event;
    long woken;
};

static void *signalling_thread(void *argument)
{
    struct thread_game *game = argument;
    for (long i = 1; i <= THREAD_ROUNDS; i++) {
        netpoll_signal(&game->event);
        while (__atomic_load_n(&game->woken, __ATOMIC_ACQUIRE) < i)
            usleep(10);
    }
    return NULL;
}

static void woken_by_a_thread(void *unused)
{
    (void)unused;
    static struct thread_game game;
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, signalling_thread, &game), 0);
    for (long i = 1; i <= THREAD_ROUNDS; i++) {
        netpoll_wait(&game.event);
        __atomic_store_n(&game.woken, i, __ATOMIC_RELEASE);
    }
    pthread_join(thread, NULL);
}

// Also: the main goroutine, parked on an event with nothing else to run, is
// not a deadlock -- the runtime would otherwise stop the program there.
START_TEST(test_a_thread_wakes_an_idle_runtime_procs_1)
{
    ck_assert_int_eq(run_with_procs(woken_by_a_thread, 1), 0);
}
END_TEST

START_TEST(test_a_thread_wakes_an_idle_runtime_procs_2)
{
    ck_assert_int_eq(run_with_procs(woken_by_a_thread, 2), 0);
}
END_TEST

/* --- From a signal handler, as from an interrupt ------------------------------- */

// Not under ThreadSanitizer, which holds an asynchronous signal back until
// its thread enters a call it intercepts: our Ms sleep in raw futex system
// calls, so there the handler may never run.
#ifndef __SANITIZE_THREAD__

#define TICKS_WANTED 300

static struct netpoll_event tick_event;

static void on_alarm(int number)
{
    (void)number;
    netpoll_signal(&tick_event);
}

// Keeps the scheduler busy -- channels, parking, readying, stealing -- so
// that the alarm often lands inside it.
static void churn(void *argument)
{
    struct chan *c = argument;
    for (;;) {
        long value = 1;
        chan_send(c, &value);
    }
}

static void drain(void *argument)
{
    struct chan *c = argument;
    for (;;)
        chan_receive(c, NULL);
}

static void woken_by_a_signal_handler(void *unused)
{
    (void)unused;
    struct chan *c = chan_make(sizeof(long), 0);
    go(churn, c);
    go(drain, c);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_alarm;
    action.sa_flags = SA_RESTART;
    ck_assert_int_eq(sigaction(SIGALRM, &action, NULL), 0);
    struct itimerval every_millisecond = { { 0, 1000 }, { 0, 1000 } };
    ck_assert_int_eq(setitimer(ITIMER_REAL, &every_millisecond, NULL), 0);
    for (int i = 0; i < TICKS_WANTED; i++)
        netpoll_wait(&tick_event);
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
}

START_TEST(test_a_signal_handler_wakes_a_goroutine_procs_1)
{
    ck_assert_int_eq(run_with_procs(woken_by_a_signal_handler, 1), 0);
}
END_TEST

START_TEST(test_a_signal_handler_wakes_a_goroutine_procs_2)
{
    ck_assert_int_eq(run_with_procs(woken_by_a_signal_handler, 2), 0);
}
END_TEST
#endif

/* --- Misuse ------------------------------------------------------------------------ */

static struct netpoll_event shared_event;

static void second_waiter(void *unused)
{
    (void)unused;
    netpoll_wait(&shared_event);
}

static void two_waiters(void *unused)
{
    (void)unused;
    go(second_waiter, NULL);
    gosleep(20 * 1000000ull);   // the other goroutine parks first (or this one dies second: either names both)
    netpoll_wait(&shared_event);
}

static int program_with_two_waiters(void *unused)
{
    (void)unused;
    return run_with_procs(two_waiters, 2);
}

START_TEST(test_two_waiters_on_one_event_is_fatal)
{
    struct child_result result = run_in_child(program_with_two_waiters, NULL);
    ck_assert_msg(result.exit_status == 2, "exit status %d (signal %d); output:\n%s", result.exit_status,
                  result.signal_number, result.output);
    ck_assert_msg(strstr(result.output, "waits on an event goroutine"), "no explanation in:\n%s", result.output);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("netpoll");
    TCase *within = tcase_create("within");
    tcase_set_timeout(within, 60);
    tcase_add_test(within, test_a_signal_before_the_wait_is_kept_once);
    tcase_add_test(within, test_goroutines_wake_each_other_procs_1);
    tcase_add_test(within, test_goroutines_wake_each_other_procs_2);
    suite_add_tcase(suite, within);
    TCase *outside = tcase_create("outside");
    tcase_set_timeout(outside, 60);
    tcase_add_test(outside, test_a_thread_wakes_an_idle_runtime_procs_1);
    tcase_add_test(outside, test_a_thread_wakes_an_idle_runtime_procs_2);
#ifndef __SANITIZE_THREAD__
    tcase_add_test(outside, test_a_signal_handler_wakes_a_goroutine_procs_1);
    tcase_add_test(outside, test_a_signal_handler_wakes_a_goroutine_procs_2);
#endif
    tcase_add_test(outside, test_two_waiters_on_one_event_is_fatal);
    suite_add_tcase(suite, outside);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
