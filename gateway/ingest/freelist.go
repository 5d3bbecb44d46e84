package ingest

// freeList keeps up to its capacity of spare values for reuse. Unlike a sync.Pool it
// is not emptied by every garbage collection: the batches' buffers are large (tens of
// kilobytes), and allocating them anew after each collection cost the gateway a few
// per cent of its CPU in clearing fresh memory.
type freeList[T any] struct {
	spare chan T
	fresh func() T
}

func newFreeList[T any](capacity int, fresh func() T) *freeList[T] {
	return &freeList[T]{spare: make(chan T, capacity), fresh: fresh}
}

// get returns a spare value or a new one.
func (f *freeList[T]) get() T {
	select {
	case v := <-f.spare:
		return v
	default:
		return f.fresh()
	}
}

// put keeps v for reuse, or drops it when enough are kept.
func (f *freeList[T]) put(v T) {
	select {
	case f.spare <- v:
	default:
	}
}
