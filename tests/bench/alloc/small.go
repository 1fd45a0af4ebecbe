// Small objects from new (see typed.c for ours): each worker -- one
// goroutine per P -- allocates its share of n objects of 8, 16, 64 or 512
// bytes, every word a pointer, keeping the last ringSize alive in a ring.
// Each new object points to the one allocated just before it, and the
// object that becomes the oldest in the ring forgets the one just evicted,
// so a chain never reaches past the ring: everything older is garbage for
// the collector. At the end the chain through the ring is checked.
package main

import (
	"runtime"
	"sync"
	"time"
	"unsafe"
)

const (
	ringSize = 256 // a power of two, as BENCH_RING_SIZE
	ringMask = ringSize - 1
)

// The objects: all pointer words; word 0 is the link.
type (
	small8  struct{ link unsafe.Pointer }
	small16 struct {
		link  unsafe.Pointer
		words [1]unsafe.Pointer
	}
	small64 struct {
		link  unsafe.Pointer
		words [7]unsafe.Pointer
	}
	small512 struct {
		link  unsafe.Pointer
		words [63]unsafe.Pointer
	}
)

// link is word 0 of an object: Go's generics cannot name a field of a type
// parameter, so the loop reaches it through unsafe (free at run time).
func link[T small8 | small16 | small64 | small512](object *T) *unsafe.Pointer {
	return (*unsafe.Pointer)(unsafe.Pointer(object))
}

func smallWorker[T small8 | small16 | small64 | small512](count int) {
	var ring [ringSize]*T
	for i := 0; i < count; i++ {
		slot := i & ringMask
		object := new(T)
		*link(object) = unsafe.Pointer(ring[(slot-1)&ringMask])
		ring[slot] = object
		if oldest := ring[(slot+1)&ringMask]; oldest != nil {
			*link(oldest) = nil
		}
	}
	// The ring, newest to oldest, must be one chain ending in nil.
	live := count
	if live > ringSize {
		live = ringSize
	}
	for k := 0; k < live; k++ {
		object := ring[(count-1-k)&ringMask]
		var want unsafe.Pointer
		if k+1 < live {
			want = unsafe.Pointer(ring[(count-2-k)&ringMask])
		}
		if *link(object) != want {
			fail("small-%d: object %d back links to %p, not %p", unsafe.Sizeof(*object), k, *link(object), want)
		}
	}
}

func smallLoop[T small8 | small16 | small64 | small512](n int) time.Duration {
	workers := runtime.GOMAXPROCS(0)
	var done sync.WaitGroup
	start := time.Now()
	done.Add(workers)
	for index := 0; index < workers; index++ {
		count := n / workers
		if index < n%workers {
			count++
		}
		go func() {
			smallWorker[T](count)
			done.Done()
		}()
	}
	done.Wait()
	return time.Since(start)
}
