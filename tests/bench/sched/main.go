// The Go side of the scheduler benchmarks (make bench-sched): the same
// workloads as the C files beside these, written the way a Go programmer
// would, so that tools/bench-sched can run both in the same run and print
// ours/Go. One binary, one workload per run:
//
//	GOMAXPROCS=P sched-go CASE N
//
// prints one line, the same line the C program (main.c) prints:
//
//	case=CASE procs=P n=N elapsed_ns=T peak_rss_kib=K
//
// Only the workload is timed: not process start-up, not the runtime's own
// initialisation. K is the whole process's peak resident memory, read the
// same way on both sides (peakRSS). The driver turns T into a per-operation
// figure.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Each workload runs n operations and returns how long they took. It checks
// its own result (a checksum, a count) and exits with status 1 if it is wrong:
// a benchmark of a wrong answer measures nothing.
var workloads = map[string]func(n int) time.Duration{
	"spawn-serial": spawnSerial,
	"spawn-burst":  spawnBurst,
	"gosched":      goschedPair,
	"pingpong":     pingPong,
	"pipeline":     pipeline,
	"timers":       timers,
}

func fail(format string, arguments ...interface{}) {
	fmt.Fprintf(os.Stderr, "sched-go: "+format+"\n", arguments...)
	os.Exit(1)
}

// The process's peak resident set size in KiB: VmHWM, the high-water mark of
// this program's own address space. (Not getrusage's ru_maxrss, which also
// counts the parent's memory at fork time: the kernel carries it across exec.)
func peakRSS() int {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fail("cannot read /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kib, _ := strconv.Atoi(strings.Fields(line)[1])
			return kib
		}
	}
	return 0
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: GOMAXPROCS=P %s CASE N", os.Args[0])
	}
	workload, known := workloads[os.Args[1]]
	if !known {
		fail("unknown case %q", os.Args[1])
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n <= 0 {
		fail("N must be a positive number, not %q", os.Args[2])
	}
	// A tenth of the work first, untimed, as main.c does: both runtimes then
	// start the measured run warm (free lists, stacks, heaps, caches filled),
	// and the figure is the steady state rather than first-touch page faults.
	warmUp := n / 10
	if warmUp == 0 {
		warmUp = 1
	}
	workload(warmUp)
	elapsed := workload(n)
	fmt.Printf("case=%s procs=%d n=%d elapsed_ns=%d peak_rss_kib=%d\n", os.Args[1], runtime.GOMAXPROCS(0), n,
		elapsed.Nanoseconds(), peakRSS())
}
