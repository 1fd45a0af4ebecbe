/*
 * selftest=sched: the goroutine runtime, running on every CPU of the machine.
 *
 * The self-test starts the runtime (runtime_run: this CPU becomes the first
 * M, and the runtime starts one M on each other CPU as work appears) and runs
 * its checks as the main goroutine:
 *
 *   spread    4 goroutines per P, each busy for 20 ms: they must run on every
 *             CPU (one line per CPU says how many ran there);
 *   preempt   one goroutine per P spinning in a loop without calls: every P
 *             is taken, so the main goroutine -- asleep for 30 ms -- only runs
 *             again if the timer interrupt preempts a spinner;
 *   sleep     100 goroutines sleep 1-10 ms each; each must wake no earlier
 *             than asked, and all must wake;
 *   channels  a ping-pong over unbuffered channels between goroutines on
 *             different Ps, a buffered fan-in from every P, and a WaitGroup
 *             that waits for them all;
 *   idle      with nothing to run, every CPU halts (its halt count grows,
 *             in platform_wait or, without an M, in smp_idle) instead of
 *             spinning.
 *
 * The goroutines here are ordinary kernel code, so the timer may preempt them
 * anywhere. The verdict ends the run like every self-test's.
 */
#include "percpu.h"
#include "printk.h"
#include "selftest.h"
#include "chan.h"
#include "runtime.h"
#include "sync.h"
#include <stdio.h>

#define MILLISECOND 1000000ull
#define SPREAD_PER_P 4
#define SLEEPERS 100

static volatile uint64_t spread_done;
static volatile uint64_t ran_on_cpu[CPUS_MAX];
static volatile int spinners_stop;
static volatile uint64_t spinners_done;
static volatile uint64_t sleepers_done;
static volatile uint64_t sleepers_early;

static void wait_for(volatile uint64_t *counter, uint64_t target)
{
    while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < target)
        gosleep(MILLISECOND);
}

static void busy_for_20ms(void *unused)
{
    (void)unused;
    uint64_t until = nanotime() + 20 * MILLISECOND;
    uint32_t cpu = this_cpu()->index;
    while (nanotime() < until)
        cpu = this_cpu()->index;
    __atomic_add_fetch(&ran_on_cpu[cpu], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&spread_done, 1, __ATOMIC_RELEASE);
}

static void spin_without_calls(void *unused)
{
    (void)unused;
    while (!spinners_stop) {
    }
    __atomic_add_fetch(&spinners_done, 1, __ATOMIC_RELEASE);
}

static void sleep_a_while(void *argument)
{
    uint64_t wanted = (uint64_t)(uintptr_t)argument;
    uint64_t start = nanotime();
    gosleep(wanted);
    if (nanotime() - start < wanted)
        __atomic_add_fetch(&sleepers_early, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&sleepers_done, 1, __ATOMIC_RELEASE);
}

#define PING_PONG_ROUNDS 10000
#define FAN_IN_PER_P 1000

struct ping_pong {
    struct chan *ping, *pong;
    struct waitgroup *done;
};

static void ponger(void *argument)
{
    struct ping_pong *pair = argument;
    uint64_t value;
    while (chan_receive_ok(pair->ping, &value)) {
        value++;
        chan_send(pair->pong, &value);
    }
    waitgroup_done(pair->done);
}

struct fan_in {
    struct chan *results;
    struct waitgroup *done;
};

static void fan_in_sender(void *argument)
{
    struct fan_in *fan = argument;
    for (uint64_t i = 1; i <= FAN_IN_PER_P; i++)
        chan_send(fan->results, &i);
    waitgroup_done(fan->done);
}

// Returns NULL when all is well, else what went wrong.
static const char *check_channels(int procs)
{
    static char problem[96];
    struct waitgroup done = { 0 };
    struct ping_pong pair = { chan_make(sizeof(uint64_t), 0), chan_make(sizeof(uint64_t), 0), &done };
    waitgroup_add(&done, 1);
    go(ponger, &pair);
    uint64_t value = 0;
    for (int round = 0; round < PING_PONG_ROUNDS; round++) {
        chan_send(pair.ping, &value);
        chan_receive(pair.pong, &value);
    }
    chan_close(pair.ping);
    waitgroup_wait(&done);
    if (value != PING_PONG_ROUNDS) {
        snprintf(problem, sizeof problem, "ping-pong counted %llu of %d", (unsigned long long)value, PING_PONG_ROUNDS);
        return problem;
    }

    struct fan_in fan = { chan_make(sizeof(uint64_t), 64), &done };
    waitgroup_add(&done, procs);
    for (int i = 0; i < procs; i++)
        go(fan_in_sender, &fan);
    uint64_t sum = 0;
    for (int i = 0; i < procs * FAN_IN_PER_P; i++) {
        uint64_t item;
        chan_receive(fan.results, &item);
        sum += item;
    }
    waitgroup_wait(&done);
    uint64_t expected = (uint64_t)procs * FAN_IN_PER_P * (FAN_IN_PER_P + 1) / 2;
    chan_free(pair.ping);
    chan_free(pair.pong);
    chan_free(fan.results);
    if (sum != expected) {
        snprintf(problem, sizeof problem, "fan-in summed %llu, expected %llu", (unsigned long long)sum,
                 (unsigned long long)expected);
        return problem;
    }
    return NULL;
}

static void sched_main(void *unused)
{
    (void)unused;
    char reason[160] = "";
    int procs = runtime_procs();

    // spread
    for (int i = 0; i < SPREAD_PER_P * procs; i++)
        go(busy_for_20ms, NULL);
    wait_for(&spread_done, (uint64_t)(SPREAD_PER_P * procs));
    uint32_t cpus_used = 0;
    for (uint32_t i = 0; i < cpus_online; i++) {
        log_info("selftest sched: cpu %u ran %llu goroutines\n", i, (unsigned long long)ran_on_cpu[i]);
        cpus_used += ran_on_cpu[i] > 0;
    }
    if ((int)cpus_used < procs) {
        snprintf(reason, sizeof reason, "goroutines ran on %u of %d CPUs", cpus_used, procs);
        selftest_report("sched", false, reason);
    }

    // preempt
    for (int i = 0; i < procs; i++)
        go(spin_without_calls, NULL);
    gosleep(30 * MILLISECOND);
    spinners_stop = 1;
    wait_for(&spinners_done, (uint64_t)procs);
    log_info("selftest sched: %d spinning goroutines were preempted\n", procs);

    // sleep
    for (int i = 0; i < SLEEPERS; i++)
        go(sleep_a_while, (void *)(uintptr_t)((uint64_t)(i % 10 + 1) * MILLISECOND));
    wait_for(&sleepers_done, SLEEPERS);
    if (sleepers_early) {
        snprintf(reason, sizeof reason, "%llu of %d sleepers woke early", (unsigned long long)sleepers_early, SLEEPERS);
        selftest_report("sched", false, reason);
    }
    log_info("selftest sched: %d sleepers woke on time\n", SLEEPERS);

    // channels
    const char *problem = check_channels(procs);
    if (problem)
        selftest_report("sched", false, problem);
    log_info("selftest sched: %d channel round trips and a fan-in from %d goroutines\n", PING_PONG_ROUNDS, procs);

    // idle
    uint64_t halts[CPUS_MAX];
    for (uint32_t i = 0; i < cpus_online; i++)
        halts[i] = cpus[i]->halts;
    gosleep(30 * MILLISECOND);
    for (uint32_t i = 0; i < cpus_online; i++) {
        if (cpus[i]->halts == halts[i]) {
            snprintf(reason, sizeof reason, "cpu %u did not halt while idle", i);
            selftest_report("sched", false, reason);
        }
    }
    log_info("selftest sched: idle CPUs halted\n");
    selftest_report("sched", true, "");
}

// selftest=goroutine-stack-overflow: a goroutine recurses until it runs
// off its stack. Its stack grows page by page on demand as it goes (the
// page-fault hook in kernel/platform.c maps each new page), and the guard page
// below the reservation stops it: the fault report names the goroutine, and
// the run ends as a failure, as any fatal fault does.
__attribute__((noinline)) static uint64_t recurse_deeply(uint64_t depth)
{
    volatile uint8_t frame[1024];
    frame[depth % sizeof frame] = (uint8_t)depth;
    if (depth > (1ull << 40))
        return 0;
    return recurse_deeply(depth + 1) + frame[depth % sizeof frame];
}

static void overflow_goroutine(void *unused)
{
    (void)unused;
    recurse_deeply(0);
}

static void overflow_main(void *unused)
{
    (void)unused;
    go(overflow_goroutine, NULL);
    gosleep(10000 * MILLISECOND);
    selftest_report("goroutine-stack-overflow", false, "the goroutine's stack never overflowed");
}

bool selftest_goroutine_stack_overflow_run(char *reason, size_t size)
{
    (void)reason;
    (void)size;
    runtime_run(overflow_main, NULL, NULL);   // never returns in the kernel
    return false;
}

bool selftest_sched_run(char *reason, size_t size)
{
    (void)reason;
    (void)size;
    runtime_run(sched_main, NULL, NULL);   // never returns in the kernel
    return false;
}
