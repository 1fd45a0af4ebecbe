// Unbuffered channel ping-pong (see pingpong.c for ours): main sends a
// number on ping, the partner receives it and sends it back plus one on pong,
// n times. Each round trip is two rendezvous: every send finds the receiver
// already parked (or parks until it comes), hands the value over directly
// and readies it.
package main

import "time"

func pingPong(n int) time.Duration {
	ping := make(chan int)
	pong := make(chan int)
	go func() {
		for value := range ping {
			pong <- value + 1
		}
	}()
	start := time.Now()
	for i := 0; i < n; i++ {
		ping <- i
		if answer := <-pong; answer != i+1 {
			fail("pingpong: sent %d, got back %d", i, answer)
		}
	}
	elapsed := time.Since(start)
	close(ping)
	return elapsed
}
