// latency: a ticker goroutine's scheduling delay while workers churn a
// large live heap, as latency.c (which says what it does and why).
package main

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

const (
	latencyChunkSlots  = 4096
	latencyChurnFactor = 4
	latencyYieldEvery  = 64
	latencyTick        = 100 * time.Microsecond
	latencyMaxSamples  = 1 << 21
)

type payload struct {
	words [24]uint64
}

type record struct {
	payload *payload
	key     uint64
	slot    uint64
	value   [5]uint64
}

type latencyState struct {
	chunks       [][]*record
	slots        uint64
	replacements uint64
	workers      int
	workersDone  int32
	stop         int32
	samples      []uint64
	delayMax     uint64
}

func (l *latencyState) slot(slot uint64) **record {
	return &l.chunks[slot/latencyChunkSlots][slot%latencyChunkSlots]
}

// splitmix64, as bench_next_random.
func nextRandom(state *uint64) uint64 {
	*state += 0x9E3779B97F4A7C15
	z := *state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func recordNew(slot, key uint64) *record {
	p := new(payload)
	p.words[0] = key
	p.words[23] = ^key
	return &record{payload: p, key: key, slot: slot}
}

func recordCheck(r *record, slot uint64) {
	if r == nil {
		fail("latency: slot %d is empty", slot)
	}
	if r.slot != slot {
		fail("latency: slot %d holds the record of slot %d", slot, r.slot)
	}
	if r.payload == nil || r.payload.words[0] != r.key || r.payload.words[23] != ^r.key {
		fail("latency: slot %d: the payload of record %p (key %x) was overwritten", slot, r, r.key)
	}
}

func (l *latencyState) workerSlots(index int) (first, count uint64) {
	first = l.slots * uint64(index) / uint64(l.workers)
	return first, l.slots*uint64(index+1)/uint64(l.workers) - first
}

func share(n uint64, count, index int) uint64 {
	extra := uint64(0)
	if uint64(index) < n%uint64(count) {
		extra = 1
	}
	return n/uint64(count) + extra
}

func parallel(count int, worker func(index int)) {
	var done sync.WaitGroup
	done.Add(count)
	for i := 0; i < count; i++ {
		go func(index int) {
			worker(index)
			done.Done()
		}(i)
	}
	done.Wait()
}

func (l *latencyState) build(index int) {
	first, count := l.workerSlots(index)
	random := uint64(0x5EED0000 + index)
	for slot := first; slot < first+count; slot++ {
		*l.slot(slot) = recordNew(slot, nextRandom(&random))
	}
}

func (l *latencyState) ticker() {
	for atomic.LoadInt32(&l.stop) == 0 {
		start := time.Now()
		time.Sleep(latencyTick)
		slept := time.Since(start)
		delay := uint64(0)
		if slept > latencyTick {
			delay = uint64(slept - latencyTick)
		}
		if len(l.samples) < latencyMaxSamples {
			l.samples = append(l.samples, delay)
		}
		if delay > l.delayMax {
			l.delayMax = delay
		}
	}
}

func (l *latencyState) churn(index int) {
	if index == 0 {
		l.ticker()
		return
	}
	worker := index - 1
	first, count := l.workerSlots(worker)
	random := uint64(0xC0FFEE00 + worker)
	replacements := share(l.replacements, l.workers, worker)
	for i := uint64(0); i < replacements; i++ {
		slot := first + nextRandom(&random)%count
		address := l.slot(slot)
		recordCheck(*address, slot)
		*address = recordNew(slot, nextRandom(&random))
		if i%latencyYieldEvery == latencyYieldEvery-1 {
			runtime.Gosched()
		}
	}
	if int(atomic.AddInt32(&l.workersDone, 1)) == l.workers {
		atomic.StoreInt32(&l.stop, 1)
	}
}

func latency(liveMiB int, r *result) {
	l := &latencyState{workers: runtime.GOMAXPROCS(0)}
	l.slots = uint64(liveMiB) * 1024 * 1024 / 256
	l.replacements = latencyChurnFactor * l.slots
	if uint64(l.workers) > l.slots {
		fail("latency: %d MiB is too small for %d workers", liveMiB, l.workers)
	}
	chunkCount := (l.slots + latencyChunkSlots - 1) / latencyChunkSlots
	l.chunks = make([][]*record, chunkCount)
	for chunk := range l.chunks {
		l.chunks[chunk] = make([]*record, latencyChunkSlots)
	}
	l.samples = make([]uint64, 0, latencyMaxSamples)
	parallel(l.workers, l.build)

	begin(r)
	parallel(l.workers+1, l.churn)
	end(r)

	r.delaySamples = uint64(len(l.samples))
	r.delayMaxNs = l.delayMax
	r.delayP99Ns = percentile99(l.samples)
	for slot := uint64(0); slot < l.slots; slot++ {
		recordCheck(*l.slot(slot), slot)
	}
}
