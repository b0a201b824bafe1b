package store

import (
	"fmt"
	"reflect"
	"unsafe"
)

// mappedSlice is a slice of T in memory from mapMemory, off the Go heap:
// the collector neither scans it nor counts it towards its goal, so what
// it holds costs its own size, where on the heap it would cost up to
// twice that (Go lets the heap grow to twice what is live before it
// collects). T must hold no pointers, as the collector would not see
// them; makeMappedSlice panics if it does. The zero value is an empty
// slice.
type mappedSlice[T any] struct {
	mem   []byte // as mapped, to unmap
	items []T    // over mem
}

// makeMappedSlice maps a slice of n zero Ts.
func makeMappedSlice[T any](n int) (mappedSlice[T], error) {
	if t := reflect.TypeFor[T](); holdsPointers(t) {
		panic("store: " + t.String() + " holds pointers and cannot live in mapped memory")
	}
	if n == 0 {
		return mappedSlice[T]{}, nil
	}
	size := n * int(unsafe.Sizeof(*new(T)))
	mem, err := mapMemory(size)
	if err != nil {
		return mappedSlice[T]{}, fmt.Errorf("store: mapping %d bytes of memory: %w", size, err)
	}
	return mappedSlice[T]{mem: mem, items: unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(mem))), n)}, nil
}

// grow makes room for at least n items, keeping those held.
func (s *mappedSlice[T]) grow(n int) error {
	if n <= len(s.items) {
		return nil
	}
	bigger, err := makeMappedSlice[T](max(n, 2*len(s.items)))
	if err != nil {
		return err
	}
	copy(bigger.items, s.items)
	s.release()
	*s = bigger
	return nil
}

// release gives the slice's memory back to the OS and empties it.
func (s *mappedSlice[T]) release() {
	if s.mem != nil {
		unmapMemory(s.mem)
	}
	*s = mappedSlice[T]{}
}

// holdsPointers reports whether a value of type t holds a pointer the
// collector must see.
func holdsPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && holdsPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	return true
}
