package fakeapi

import "sync"

// Hook is a function a test hands a fake to call at a moment of the fake's
// choosing, such as after a page is computed and before the next is asked
// for. Safe for concurrent use; the zero value holds none.
type Hook[T any] struct {
	mu sync.Mutex
	fn func(T)
}

// Set replaces the function; nil removes it.
func (h *Hook[T]) Set(fn func(T)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fn = fn
}

// Call calls the function with v if one is set. It holds no lock while the
// function runs, so the function may call back into the fake.
func (h *Hook[T]) Call(v T) {
	h.mu.Lock()
	fn := h.fn
	h.mu.Unlock()
	if fn != nil {
		fn(v)
	}
}
