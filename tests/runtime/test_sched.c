/*
 * Scheduler tests: goroutines are created, run, yield, sleep, get preempted,
 * get stolen by idle Ps, survive blocking system calls, and die with clear
 * messages when they overflow a stack or deadlock.
 *
 * Each test runs a whole runtime: Check forks a process per test, and
 * runtime_run starts the runtime in it. Tests of fatal errors fork once more
 * (child.h) to read what the dying program printed.
 */
#include "child.h"
#include "gc.h"
#include "runtime.h"
#include "runtime_internal.h"
#include "timer.h"
#include <check.h>
#include <stdlib.h>
#include <unistd.h>

#define MILLISECOND 1000000ull

static int run_with_procs(goroutine_function main_function, int procs_wanted)
{
    struct runtime_config config = { .procs = procs_wanted };
    return runtime_run(main_function, NULL, &config);
}

// Yields until *counter reaches target.
static void wait_for_count(volatile long *counter, long target)
{
    while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < target)
        gosched();
}

/* --- Creating and running ------------------------------------------------ */

static volatile long main_ran;

static void check_main_id(void *unused)
{
    (void)unused;
    ck_assert_uint_eq(goid(), 1);
    main_ran = 1;
}

START_TEST(test_main_goroutine_runs_with_id_1)
{
    ck_assert_int_eq(run_with_procs(check_main_id, 1), 0);
    ck_assert_int_eq(main_ran, 1);
}
END_TEST

#if defined(__SANITIZE_THREAD__)
#define STORM_SIZE 10000    // ThreadSanitizer makes every switch far slower
#else
#define STORM_SIZE 100000
#endif
static volatile long storm_count;
static unsigned char storm_seen[STORM_SIZE];

static void storm_worker(void *argument)
{
    uintptr_t index = (uintptr_t)argument;
    __atomic_add_fetch(&storm_seen[index], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&storm_count, 1, __ATOMIC_RELEASE);
}

static void spawn_storm(void *unused)
{
    (void)unused;
    for (uintptr_t i = 0; i < STORM_SIZE; i++)
        go(storm_worker, (void *)i);
    wait_for_count(&storm_count, STORM_SIZE);
    for (int i = 0; i < STORM_SIZE; i++)
        ck_assert_msg(storm_seen[i] == 1, "goroutine %d ran %d times", i, storm_seen[i]);
    // Every worker has exited: only main is alive, and dead Gs are reused
    // rather than piling up: a second storm creates few new Gs.
    while (__atomic_load_n(&sched.live_g_count, __ATOMIC_ACQUIRE) != 1)
        gosched();
    uint64_t created = __atomic_load_n(&sched.g_count, __ATOMIC_ACQUIRE);
    storm_count = 0;
    memset(storm_seen, 0, sizeof storm_seen);
    for (uintptr_t i = 0; i < STORM_SIZE; i++) {
        go(storm_worker, (void *)i);
        if (i % 1000 == 999)
            wait_for_count(&storm_count, (long)i + 1);
    }
    wait_for_count(&storm_count, STORM_SIZE);
    uint64_t created_again = __atomic_load_n(&sched.g_count, __ATOMIC_ACQUIRE) - created;
    ck_assert_msg(created_again < STORM_SIZE / 10, "the second storm created %llu new Gs",
                  (unsigned long long)created_again);
}

START_TEST(test_spawn_storm_runs_each_goroutine_once)
{
    ck_assert_int_eq(run_with_procs(spawn_storm, 2), 0);
}
END_TEST

static char turns[16];
static volatile long turn_count;

static void take_turns(void *argument)
{
    char name = (char)(uintptr_t)argument;
    for (int i = 0; i < 4; i++) {
        long turn = __atomic_fetch_add(&turn_count, 1, __ATOMIC_ACQ_REL);
        turns[turn] = name;
        gosched();
    }
}

static void gosched_alternates(void *unused)
{
    (void)unused;
    go(take_turns, (void *)(uintptr_t)'a');
    go(take_turns, (void *)(uintptr_t)'b');
    wait_for_count(&turn_count, 8);
    // One P: gosched sends the G to the back of the queue, so they alternate.
    // (Which starts depends on the queue: a new G goes to runnext, ahead of
    // the one before it, as in Go.)
    for (int i = 1; i < 8; i++)
        ck_assert_msg(turns[i] != turns[i - 1], "no alternation: %s", turns);
}

START_TEST(test_gosched_lets_others_run)
{
    ck_assert_int_eq(run_with_procs(gosched_alternates, 1), 0);
}
END_TEST

/* --- Preemption and stealing --------------------------------------------- */

#if !defined(__SANITIZE_THREAD__)   // no asynchronous preemption under TSan (runtime/race.h)
static volatile int spinner_stop;
static volatile long spinner_done;

static void spin_without_calls(void *unused)
{
    (void)unused;
    while (!spinner_stop) {
        // A loop with no function calls: only asynchronous preemption can
        // take the P away from it.
    }
    spinner_done = 1;
}

static void preempt_spinner(void *unused)
{
    (void)unused;
    go(spin_without_calls, NULL);
    gosched();                    // let the spinner take the only P
    gosleep(30 * MILLISECOND);    // we only get back if the spinner is preempted
    spinner_stop = 1;
    wait_for_count(&spinner_done, 1);
}

START_TEST(test_spinning_goroutine_is_preempted)
{
    ck_assert_int_eq(run_with_procs(preempt_spinner, 1), 0);
}
END_TEST

// The M that takes an interrupt counts it, whatever comes of it -- here
// nothing, as its goroutine was not asked to stop: the collector's stopper
// reads the count to learn that a thread is on a CPU (runtime/proc.c).
static struct m *spinner_m;

static void spin_on_own_m(void *unused)
{
    (void)unused;
    __atomic_store_n(&spinner_m, getm(), __ATOMIC_RELEASE);
    while (!spinner_stop) {
    }
    spinner_done = 1;
}

static void interrupt_spinner(void *unused)
{
    (void)unused;
    go(spin_on_own_m, NULL);
    struct m *m;
    while ((m = __atomic_load_n(&spinner_m, __ATOMIC_ACQUIRE)) == NULL)
        gosleep(MILLISECOND);
    uint32_t before = __atomic_load_n(&m->interrupts_taken, __ATOMIC_ACQUIRE);
    ck_assert(platform_preempt(m));
    uint64_t give_up = nanotime() + 5000 * MILLISECOND;   // only so that a failure does not hang
    while (__atomic_load_n(&m->interrupts_taken, __ATOMIC_ACQUIRE) == before) {
        ck_assert_msg(nanotime() < give_up, "the spinning goroutine's M never counted the interrupt");
        gosleep(MILLISECOND);
    }
    spinner_stop = 1;
    wait_for_count(&spinner_done, 1);
}

START_TEST(test_an_interrupt_is_counted_by_the_m_that_takes_it)
{
    ck_assert_int_eq(run_with_procs(interrupt_spinner, 2), 0);
}
END_TEST
#endif

#define STEAL_WORKERS 64
static volatile long steal_done;
static uint64_t worker_m[STEAL_WORKERS];

static void busy_worker(void *argument)
{
    uintptr_t index = (uintptr_t)argument;
    worker_m[index] = getm()->id;
    uint64_t until = nanotime() + 2 * MILLISECOND;
    while (nanotime() < until)
        worker_m[index] = getm()->id;
    __atomic_add_fetch(&steal_done, 1, __ATOMIC_RELEASE);
}

static void burst_on_one_p(void *unused)
{
    (void)unused;
    // All queued on this P; only stealing can move them to the other.
    for (uintptr_t i = 0; i < STEAL_WORKERS; i++)
        go(busy_worker, (void *)i);
    // Sleep, not gosched: a yielding main would keep the other P busy
    // running main itself, with no reason to steal.
    while (__atomic_load_n(&steal_done, __ATOMIC_ACQUIRE) < STEAL_WORKERS)
        gosleep(MILLISECOND);
    int distinct = 0;
    uint64_t first = worker_m[0];
    for (int i = 0; i < STEAL_WORKERS; i++)
        if (worker_m[i] != first)
            distinct = 1;
    ck_assert_msg(distinct, "all %d workers ran on M %llu: nothing was stolen", STEAL_WORKERS,
                  (unsigned long long)first);
}

START_TEST(test_idle_p_steals_work)
{
    ck_assert_int_eq(run_with_procs(burst_on_one_p, 2), 0);
}
END_TEST

/* --- Sleeping and timers ------------------------------------------------- */

#define SLEEPERS 1000
static volatile long sleepers_done;
static uint64_t sleep_wanted[SLEEPERS], sleep_got[SLEEPERS];

static void sleeper(void *argument)
{
    uintptr_t index = (uintptr_t)argument;
    uint64_t start = nanotime();
    gosleep(sleep_wanted[index]);
    sleep_got[index] = nanotime() - start;
    __atomic_add_fetch(&sleepers_done, 1, __ATOMIC_RELEASE);
}

static void many_sleepers(void *unused)
{
    (void)unused;
    for (uintptr_t i = 0; i < SLEEPERS; i++) {
        sleep_wanted[i] = (uint64_t)(rand() % 20 + 1) * MILLISECOND / 4;
        go(sleeper, (void *)i);
    }
    while (__atomic_load_n(&sleepers_done, __ATOMIC_ACQUIRE) < SLEEPERS)
        gosleep(MILLISECOND);
    for (int i = 0; i < SLEEPERS; i++)
        ck_assert_msg(sleep_got[i] >= sleep_wanted[i], "sleeper %d woke after %llu ns of %llu", i,
                      (unsigned long long)sleep_got[i], (unsigned long long)sleep_wanted[i]);
}

START_TEST(test_sleepers_wake_after_their_deadline)
{
    ck_assert_int_eq(run_with_procs(many_sleepers, 2), 0);
}
END_TEST

static void sleep_alone(void *unused)
{
    (void)unused;
    // Every P idle, every M parked: the timer must still wake us.
    uint64_t start = nanotime();
    gosleep(20 * MILLISECOND);
    ck_assert_uint_ge(nanotime() - start, 20 * MILLISECOND);
}

START_TEST(test_timer_fires_while_all_ps_idle)
{
    ck_assert_int_eq(run_with_procs(sleep_alone, 4), 0);
}
END_TEST

static volatile long fired;

static void count_firing(void *unused)
{
    (void)unused;
    __atomic_add_fetch(&fired, 1, __ATOMIC_RELEASE);
}

static void timer_operations(void *unused)
{
    (void)unused;
    struct timer stopped, reset, ticker;
    timer_init(&stopped, count_firing, NULL);
    timer_init(&reset, count_firing, NULL);
    timer_init(&ticker, count_firing, NULL);

    // Far off, so that it is still pending however late this goroutine
    // runs on (at 5 ms it once fired first, on a loaded machine).
    timer_start(&stopped, 10000 * MILLISECOND);
    ck_assert(timer_stop(&stopped));          // pending: stopped in time
    ck_assert(!timer_stop(&stopped));         // already stopped

    timer_start(&reset, 1000 * MILLISECOND);
    ck_assert(timer_reset(&reset, 2 * MILLISECOND));   // was pending
    gosleep(20 * MILLISECOND);
    ck_assert_int_eq(fired, 1);               // only the reset one fired
    ck_assert(!timer_stop(&reset));           // fired already

    fired = 0;
    timer_start_periodic(&ticker, 2 * MILLISECOND);
    while (__atomic_load_n(&fired, __ATOMIC_ACQUIRE) < 5)
        gosleep(MILLISECOND);
    ck_assert(timer_stop(&ticker));
}

START_TEST(test_timer_stop_reset_and_periodic)
{
    ck_assert_int_eq(run_with_procs(timer_operations, 2), 0);
}
END_TEST

/* --- System calls -------------------------------------------------------- */

static volatile long ticks_during_syscall;
static volatile int syscall_over;

static void count_ticks(void *unused)
{
    (void)unused;
    while (!syscall_over) {
        __atomic_add_fetch(&ticks_during_syscall, 1, __ATOMIC_RELAXED);
        gosched();
    }
}

static void block_in_syscall(void *unused)
{
    (void)unused;
    go(count_ticks, NULL);
    entersyscall();
    usleep(50 * 1000);   // blocks the thread, not the P
    long during = __atomic_load_n(&ticks_during_syscall, __ATOMIC_ACQUIRE);
    exitsyscall();
    syscall_over = 1;
    ck_assert_msg(during > 0, "no other goroutine ran while this one was in a system call");
}

START_TEST(test_system_call_hands_off_the_p)
{
    ck_assert_int_eq(run_with_procs(block_in_syscall, 1), 0);
}
END_TEST

/* --- Stopping the world ---------------------------------------------------- */

// Goroutines that keep entering short system calls while the main
// goroutine stops the world again and again (twice per collection). The
// stopper stops the Ps it finds idle or in a system call itself and counts
// on the others to stop: a P that enters a system call after it looked, or
// that sysmon takes from one and hands on, must stop then, or the stopper
// waits forever. (One looper fewer than Ps: a looper never yields, and
// sysmon does not take a P whose system calls are each short.)
#define SYSCALL_LOOPERS 3
static volatile long syscall_loopers_stop;
static volatile long syscall_loopers_done;

static void enter_short_system_calls(void *unused)
{
    (void)unused;
    while (!__atomic_load_n(&syscall_loopers_stop, __ATOMIC_ACQUIRE)) {
        entersyscall();
        usleep(30);
        exitsyscall();
    }
    __atomic_add_fetch(&syscall_loopers_done, 1, __ATOMIC_ACQ_REL);
}

static void stop_the_world_repeatedly(void *unused)
{
    (void)unused;
    for (int i = 0; i < SYSCALL_LOOPERS; i++)
        go(enter_short_system_calls, NULL);
    for (int i = 0; i < 300; i++)
        runtime_gc();
    __atomic_store_n(&syscall_loopers_stop, 1, __ATOMIC_RELEASE);
    wait_for_count(&syscall_loopers_done, SYSCALL_LOOPERS);
}

START_TEST(test_world_stops_while_goroutines_enter_system_calls)
{
    ck_assert_int_eq(run_with_procs(stop_the_world_repeatedly, 4), 0);
}
END_TEST

/* --- Stacks -------------------------------------------------------------- */

__attribute__((noinline)) static long recurse(long depth, volatile char *previous)
{
    volatile char frame[1024];
    frame[0] = (char)depth;
    frame[1023] = previous ? previous[0] : 0;
    if (depth == 0)
        return frame[0];
    return recurse(depth - 1, frame) + frame[1023];
}

static void deep_recursion(void *unused)
{
    (void)unused;
    // 256 frames of over 1 KiB: more than 256 KiB of stack.
    recurse(256, NULL);
}

START_TEST(test_deep_recursion_fits_the_stack)
{
    ck_assert_int_eq(run_with_procs(deep_recursion, 1), 0);
}
END_TEST

static void overflow_goroutine(void *unused)
{
    (void)unused;
    recurse(1 << 20, NULL);   // a gigabyte of frames: past any reservation
}

static void start_overflow(void *unused)
{
    (void)unused;
    go(overflow_goroutine, NULL);
    gosleep(10000 * MILLISECOND);
}

static int overflow_program(void *unused)
{
    (void)unused;
    return run_with_procs(start_overflow, 1);
}

START_TEST(test_stack_overflow_is_a_clear_fatal_error)
{
    struct child_result result = run_in_child(overflow_program, NULL);
    ck_assert_msg(result.exit_status == 2, "exit status %d (signal %d); output:\n%s", result.exit_status,
                  result.signal_number, result.output);
    ck_assert_msg(strstr(result.output, "fatal error: goroutine 2 stack overflow"), "output:\n%s", result.output);
}
END_TEST

/* --- Deadlock ------------------------------------------------------------ */

static void park_forever(void *unused)
{
    (void)unused;
    gopark(NULL, NULL, WAIT_REASON_CHAN_RECEIVE);
}

static void main_parks_forever(void *unused)
{
    (void)unused;
    go(park_forever, NULL);
    gopark(NULL, NULL, WAIT_REASON_SELECT_NO_CASES);
}

static int deadlock_program(void *unused)
{
    (void)unused;
    return run_with_procs(main_parks_forever, 2);
}

START_TEST(test_deadlock_is_detected)
{
    struct child_result result = run_in_child(deadlock_program, NULL);
    ck_assert_msg(result.exit_status == 2, "exit status %d; output:\n%s", result.exit_status, result.output);
    ck_assert_msg(strstr(result.output, "fatal error: all goroutines are asleep - deadlock!"), "output:\n%s",
                  result.output);
    ck_assert_msg(strstr(result.output, "goroutine 1 [select (no cases)]"), "output:\n%s", result.output);
    ck_assert_msg(strstr(result.output, "goroutine 2 [chan receive]"), "output:\n%s", result.output);
}
END_TEST

/* --- Introspection ------------------------------------------------------ */

static void sleep_a_little(void *unused)
{
    (void)unused;
    gosleep(60 * MILLISECOND);
}

static int schedtrace_program(void *unused)
{
    (void)unused;
    struct runtime_config config = { .procs = 2, .schedtrace_ms = 10 };
    return runtime_run(sleep_a_little, NULL, &config);
}

START_TEST(test_schedtrace_prints_scheduler_state)
{
    struct child_result result = run_in_child(schedtrace_program, NULL);
    ck_assert_msg(result.exit_status == 0, "exit status %d; output:\n%s", result.exit_status, result.output);
    ck_assert_msg(strstr(result.output, "SCHED ") && strstr(result.output, "gomaxprocs=2 idleprocs="),
                  "no scheduler trace line; output:\n%s", result.output);
}
END_TEST

static void dump_on_demand(void *unused)
{
    (void)unused;
    go(park_forever, NULL);
    gosched();
    runtime_dump_goroutines();
}

static int dump_program(void *unused)
{
    (void)unused;
    return run_with_procs(dump_on_demand, 1);
}

START_TEST(test_goroutine_dump_on_demand)
{
    struct child_result result = run_in_child(dump_program, NULL);
    ck_assert_msg(result.exit_status == 0, "exit status %d; output:\n%s", result.exit_status, result.output);
    ck_assert_msg(strstr(result.output, "goroutine 1 [running]:"), "output:\n%s", result.output);
    ck_assert_msg(strstr(result.output, "goroutine 2 [chan receive]:"), "output:\n%s", result.output);
    // Backtraces: the dumping goroutine is inside runtime_dump_goroutines,
    // the parked one inside gopark. (Hosted names come from dladdr, which
    // knows exported functions only.)
    ck_assert_msg(strstr(result.output, "    runtime_dump_goroutines+"), "output:\n%s", result.output);
    ck_assert_msg(strstr(result.output, "    gopark+"), "output:\n%s", result.output);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("sched");
    TCase *basics = tcase_create("basics");
    tcase_set_timeout(basics, 60);
    tcase_add_test(basics, test_main_goroutine_runs_with_id_1);
    tcase_add_test(basics, test_spawn_storm_runs_each_goroutine_once);
    tcase_add_test(basics, test_gosched_lets_others_run);
#if !defined(__SANITIZE_THREAD__)   // no asynchronous preemption under TSan (runtime/race.h)
    tcase_add_test(basics, test_spinning_goroutine_is_preempted);
    tcase_add_test(basics, test_an_interrupt_is_counted_by_the_m_that_takes_it);
#endif
    tcase_add_test(basics, test_idle_p_steals_work);
    tcase_add_test(basics, test_sleepers_wake_after_their_deadline);
    tcase_add_test(basics, test_timer_fires_while_all_ps_idle);
    tcase_add_test(basics, test_timer_stop_reset_and_periodic);
    tcase_add_test(basics, test_system_call_hands_off_the_p);
    tcase_add_test(basics, test_world_stops_while_goroutines_enter_system_calls);
    tcase_add_test(basics, test_deep_recursion_fits_the_stack);
    tcase_add_test(basics, test_stack_overflow_is_a_clear_fatal_error);
    tcase_add_test(basics, test_deadlock_is_detected);
    tcase_add_test(basics, test_schedtrace_prints_scheduler_state);
    tcase_add_test(basics, test_goroutine_dump_on_demand);
    suite_add_tcase(suite, basics);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
