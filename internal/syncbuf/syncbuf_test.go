package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

func TestConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("x", 800) {
		t.Fatalf("%d bytes, want 800", len(got))
	}
}

func TestBytesIsACopyAndReset(t *testing.T) {
	var b Buffer
	b.Write([]byte("abc"))
	got := b.Bytes()
	got[0] = 'x'
	if b.String() != "abc" {
		t.Fatalf("Bytes aliased the buffer: %q", b.String())
	}
	b.Reset()
	if b.String() != "" {
		t.Fatalf("after Reset: %q", b.String())
	}
}
