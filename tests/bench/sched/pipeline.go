// A fan-out/fan-in pipeline over buffered channels (see pipeline.c for
// ours): a generator sends 1..n into the first channel; pipelineStages
// stages of pipelineWorkers goroutines each read from one channel, transform
// the value and send it into the next; main sums what comes out of the last.
// When a stage's input is closed and drained, its last worker to finish closes
// its output, so closing ripples down the pipeline. The sum is checked.
package main

import (
	"sync/atomic"
	"time"
)

const (
	pipelineStages   = 4
	pipelineWorkers  = 4
	pipelineCapacity = 128
)

// The same cheap, order-independent transformation in both languages.
func pipelineTransform(value uint64) uint64 { return value*3 + 1 }

func pipeline(n int) time.Duration {
	var channels [pipelineStages + 1]chan uint64
	for i := range channels {
		channels[i] = make(chan uint64, pipelineCapacity)
	}
	start := time.Now()
	for stage := 0; stage < pipelineStages; stage++ {
		in, out := channels[stage], channels[stage+1]
		remaining := int32(pipelineWorkers)
		for worker := 0; worker < pipelineWorkers; worker++ {
			go func() {
				for value := range in {
					out <- pipelineTransform(value)
				}
				if atomic.AddInt32(&remaining, -1) == 0 {
					close(out)
				}
			}()
		}
	}
	go func() {
		for i := 1; i <= n; i++ {
			channels[0] <- uint64(i)
		}
		close(channels[0])
	}()
	var sum, count uint64
	for value := range channels[pipelineStages] {
		sum += value
		count++
	}
	elapsed := time.Since(start)

	var want uint64
	for i := 1; i <= n; i++ {
		value := uint64(i)
		for stage := 0; stage < pipelineStages; stage++ {
			value = pipelineTransform(value)
		}
		want += value
	}
	if count != uint64(n) || sum != want {
		fail("pipeline: %d values summing to %d; want %d summing to %d", count, sum, n, want)
	}
	return elapsed
}
