/*
 * The C side of the scheduler benchmarks (make bench-sched): what the
 * workload files share.
 *
 * Each workload is written twice, in C against our runtime (NAME.c) and in
 * Go (NAME.go), the same algorithm with the same constants, so that
 * tools/bench-sched can run both in the same run and print ours/Go. main.c
 * and main.go give both programs the same command line and output:
 *
 *     GOMAXPROCS=P sched-ours CASE N   ->   case=CASE procs=P n=N elapsed_ns=T peak_rss_kib=K
 *
 * A workload runs N operations, checks its own result, and returns the
 * nanoseconds they took; it calls bench_fail (../bench_common.h) if the result is wrong. It
 * waits for its goroutines the way the Go side does, with a WaitGroup or a
 * channel: parked, never polling with gosched (that would measure the
 * polling). Anything a goroutine reads must outlive that read: arguments on
 * the workload's stack are safe only until the workload returns, and the
 * next workload call reuses that stack.
 */
#ifndef HARDWAY_BENCH_SCHED_H
#define HARDWAY_BENCH_SCHED_H

#define BENCH_OURS   // ../bench_common.h: the runtime's clock and GOMAXPROCS
#include "../bench_common.h"
#include "runtime.h"
#include "sync.h"   // struct waitgroup: how main waits for goroutines, as Go's sync.WaitGroup
#include <stdint.h>

typedef uint64_t (*bench_workload)(uint64_t n);

uint64_t bench_spawn_serial(uint64_t n);
uint64_t bench_spawn_burst(uint64_t n);
uint64_t bench_gosched(uint64_t n);
uint64_t bench_timers(uint64_t n);
uint64_t bench_pingpong(uint64_t n);
uint64_t bench_pipeline(uint64_t n);

#endif
