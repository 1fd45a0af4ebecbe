// Creating and ending goroutines (see spawn.c for ours).
//
// spawn-serial: start one goroutine, wait for it to end, n times. Nothing
// queues up, so this is the fixed cost of one goroutine's life: take a G and
// a stack from the free lists, make it runnable, switch to it, run it to the
// end, put it back, wake the waiter.
//
// spawn-burst: start burstSize goroutines, then wait for all of them, n /
// burstSize times. The run queue overflows (256 per P), and with two Ps
// the idle one steals, so this adds the queues' and stealing's costs.
package main

import (
	"sync"
	"time"
)

const burstSize = 1000

func spawnSerial(n int) time.Duration {
	var done sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		done.Add(1)
		go func() { done.Done() }()
		done.Wait()
	}
	return time.Since(start)
}

func spawnBurst(n int) time.Duration {
	var done sync.WaitGroup
	start := time.Now()
	for spawned := 0; spawned < n; spawned += burstSize {
		count := burstSize
		if n-spawned < count {
			count = n - spawned
		}
		done.Add(count)
		for i := 0; i < count; i++ {
			go func() { done.Done() }()
		}
		done.Wait()
	}
	return time.Since(start)
}
