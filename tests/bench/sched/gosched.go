// A context switch by yielding (see gosched.c for ours): two goroutines on
// one P take turns, each calling runtime.Gosched n/2 times, while main waits
// parked. Each Gosched puts the caller on the global run queue and runs the
// other, so the figure per switch is one trip through the scheduler: save,
// queue, find the next G, restore.
package main

import (
	"runtime"
	"sync"
	"time"
)

func goschedPair(n int) time.Duration {
	var done sync.WaitGroup
	yield := func(times int) {
		for i := 0; i < times; i++ {
			runtime.Gosched()
		}
		done.Done()
	}
	start := time.Now()
	done.Add(2)
	go yield(n / 2)
	go yield(n - n/2)
	done.Wait()
	return time.Since(start)
}
