// Many sleeping goroutines (see timers.c for ours): main starts n
// goroutines, each sleeps a pseudo-random time below timersMaxSleep and
// ends; main waits for all of them. Both languages draw the same sleeps from
// the same generator (splitmix64, seeded alike). The total wall time is at
// least the longest sleep; what is above it is the cost of starting n
// goroutines, n timers in the per-P heaps, and waking each G on time.
package main

import (
	"sync"
	"time"
)

const timersMaxSleep = 1000000 // ns: sleeps are uniform in [0, 1 ms)

// splitmix64, as in timers.c.
func timersNextRandom(state *uint64) uint64 {
	*state += 0x9E3779B97F4A7C15
	z := *state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func timers(n int) time.Duration {
	var done sync.WaitGroup
	random := uint64(1)
	start := time.Now()
	done.Add(n)
	for i := 0; i < n; i++ {
		sleep := time.Duration(timersNextRandom(&random) % timersMaxSleep)
		go func() {
			time.Sleep(sleep)
			done.Done()
		}()
	}
	done.Wait()
	return time.Since(start)
}
