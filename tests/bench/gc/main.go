// The Go side of the garbage collector benchmarks (make bench-gc): the
// same workloads as the C programs (main.c, binarytrees.c, latency.c),
// with new, collected by Go's collector as it always runs (GOGC=100: the
// driver clears GOGC, GOMEMLIMIT and GODEBUG). One binary, one workload per
// run:
//
//	GOMAXPROCS=P gc-go CASE N
//
// prints the line the C programs print (main.c says what each field is):
//
//	case=CASE procs=P n=N elapsed_ns=T cpu_ns=C peak_rss_kib=K cycles=G pauses=COUNT
//	    pause_window=W pause_max_ns=M pause_p99_ns=Q delay_samples=S delay_max_ns=D
//	    delay_p99_ns=E collector=go
//
// The pauses come from runtime/metrics' /gc/pauses:seconds: a histogram
// of every stop-the-world pause on its own (two or more per cycle), as
// ours reports them -- not MemStats.PauseNs, whose entries are a cycle's
// pauses added together. The histogram's buckets are at most 1/16 of their
// power of two wide; a pause is taken as its bucket's middle (within 3 %).
package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type result struct {
	elapsed                              time.Duration
	delaySamples, delayMaxNs, delayP99Ns uint64
	before                               gcSnapshot
	cpuBefore                            uint64
	start                                time.Time
}

var workloads = map[string]struct {
	run        func(n int, r *result)
	minN, maxN int
}{
	"binary-trees": {binaryTrees, 6, 30},
	"latency":      {latency, 1, 1 << 20},
}

func fail(format string, arguments ...interface{}) {
	fmt.Fprintf(os.Stderr, "gc-go: "+format+"\n", arguments...)
	os.Exit(1)
}

// The process's peak resident set size in KiB: VmHWM, as
// tests/bench/peak_rss.h reads it.
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

func cpuTime() uint64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		fail("getrusage: %v", err)
	}
	return uint64(usage.Utime.Nano() + usage.Stime.Nano())
}

type gcSnapshot struct {
	cycles uint64
	pauses []uint64 // counts per bucket
	bounds []float64
}

func readGC() gcSnapshot {
	samples := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/pauses:seconds"}}
	metrics.Read(samples)
	if samples[0].Value.Kind() != metrics.KindUint64 || samples[1].Value.Kind() != metrics.KindFloat64Histogram {
		fail("runtime/metrics has no GC cycle count or pause histogram")
	}
	histogram := samples[1].Value.Float64Histogram()
	return gcSnapshot{samples[0].Value.Uint64(), append([]uint64(nil), histogram.Counts...), histogram.Buckets}
}

// A bucket's pause in nanoseconds: the middle of [bounds[i], bounds[i+1]).
func bucketNs(bounds []float64, i int) uint64 {
	low, high := bounds[i], bounds[i+1]
	if math.IsInf(low, -1) || low < 0 {
		low = 0
	}
	if math.IsInf(high, 1) {
		high = low
	}
	return uint64((low + high) / 2 * 1e9)
}

func begin(r *result) {
	r.before = readGC()
	r.cpuBefore = cpuTime()
	r.start = time.Now()
}

func end(r *result) {
	r.elapsed = time.Since(r.start)
}

// The nearest-rank 99th percentile (sorts values); 0 for none.
func percentile99(values []uint64) uint64 {
	if len(values) == 0 {
		return 0
	}
	sort.Slice(values, func(i, j int) bool { return values[i] < values[j] })
	return values[(99*len(values)+99)/100-1]
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: GOMAXPROCS=P %s binary-trees DEPTH | latency LIVE_MIB", os.Args[0])
	}
	workload, known := workloads[os.Args[1]]
	if !known {
		fail("unknown case %q", os.Args[1])
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n <= 0 {
		fail("N must be a positive number, not %q", os.Args[2])
	}
	if n < workload.minN || n > workload.maxN {
		fail("N of %s must be %d to %d, not %d", os.Args[1], workload.minN, workload.maxN, n)
	}
	var r result
	workload.run(n, &r)
	cpu := cpuTime() - r.cpuBefore
	after := readGC()
	var count, maxNs, p99Ns uint64
	for i := range after.pauses {
		count += after.pauses[i] - r.before.pauses[i]
	}
	if count > 0 {
		rank := (99*count + 99) / 100
		var seen uint64
		for i := range after.pauses {
			inBucket := after.pauses[i] - r.before.pauses[i]
			if inBucket == 0 {
				continue
			}
			if seen < rank && seen+inBucket >= rank {
				p99Ns = bucketNs(after.bounds, i)
			}
			seen += inBucket
			maxNs = bucketNs(after.bounds, i)
		}
	}
	fmt.Printf("case=%s procs=%d n=%d elapsed_ns=%d cpu_ns=%d peak_rss_kib=%d cycles=%d pauses=%d "+
		"pause_window=%d pause_max_ns=%d pause_p99_ns=%d delay_samples=%d delay_max_ns=%d delay_p99_ns=%d "+
		"collector=go\n", os.Args[1], runtime.GOMAXPROCS(0), n, r.elapsed.Nanoseconds(), cpu, peakRSS(),
		after.cycles-r.before.cycles, count, count, maxNs, p99Ns, r.delaySamples, r.delayMaxNs, r.delayP99Ns)
}
