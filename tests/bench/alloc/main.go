// The Go side of the allocator benchmarks (make bench-alloc): Go's new in
// the same loops as our typed allocation (typed.c), written the way a Go
// programmer would, so that tools/bench-alloc can run both in the same run
// and print ours/Go. One binary, one workload per run:
//
//	GOMAXPROCS=P alloc-go CASE N
//
// prints one line, the same line the C programs (main.c) print:
//
//	case=CASE procs=P n=N elapsed_ns=T peak_rss_kib=K allocator=go
//
// Only the workload is timed: not process start-up, not the runtime's own
// initialisation. Go's figures include its collector, which runs as it
// always does (GOGC=100; the driver clears GOGC and GODEBUG). K is the whole
// process's peak resident memory, read the same way on every side.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// How a case warms up: a tenth of its N, or -- binary trees, where N is a
// depth -- a tree three levels shallower (about a tenth of the nodes).
type warmUp int

const (
	warmUpTenth warmUp = iota
	warmUpShallower
)

// Each workload runs n operations and returns how long they took. It checks
// its own result and exits with status 1 if it is wrong: a benchmark of a
// wrong answer measures nothing.
var workloads = map[string]struct {
	run    func(n int) time.Duration
	warmUp warmUp
}{
	"small-8":      {smallLoop[small8], warmUpTenth},
	"small-16":     {smallLoop[small16], warmUpTenth},
	"small-64":     {smallLoop[small64], warmUpTenth},
	"small-512":    {smallLoop[small512], warmUpTenth},
	"binary-trees": {binaryTrees, warmUpShallower},
}

func fail(format string, arguments ...interface{}) {
	fmt.Fprintf(os.Stderr, "alloc-go: "+format+"\n", arguments...)
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
	// The warm-up first, untimed, as main.c does: every allocator then
	// starts the measured run with its caches and heap -- and Go its
	// collector's pacing -- in their steady state.
	warm := n / 10
	if warm == 0 {
		warm = 1
	}
	if workload.warmUp == warmUpShallower {
		if n < binaryTreesMinDepth+2 || n > 30 {
			fail("the depth of %s must be %d to 30, not %d", os.Args[1], binaryTreesMinDepth+2, n)
		}
		warm = binaryTreesMinDepth + 2
		if n >= binaryTreesMinDepth+5 {
			warm = n - 3
		}
	}
	workload.run(warm)
	elapsed := workload.run(n)
	fmt.Printf("case=%s procs=%d n=%d elapsed_ns=%d peak_rss_kib=%d allocator=go\n", os.Args[1],
		runtime.GOMAXPROCS(0), n, elapsed.Nanoseconds(), peakRSS())
}
