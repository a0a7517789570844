package oap

import (
	"sync"
	"testing"
	"time"
)

// TestPoolKeysUsedOnce takes keys from one pool concurrently, more than it
// holds: every key is handed out once.
func TestPoolKeysUsedOnce(t *testing.T) {
	p := NewKeyPool(4)
	const takers, each = 8, 10
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range takers {
		wg.Go(func() {
			for range each {
				x, err := p.x25519()
				if err != nil {
					t.Error(err)
					return
				}
				m, err := p.mlkem768()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, k := range []string{string(x.PublicKey().Bytes()), string(m.EncapsulationKey().Bytes())} {
					if seen[k] {
						t.Error("a key was handed out twice")
					}
					seen[k] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 2*takers*each {
		t.Errorf("%d distinct keys, want %d", len(seen), 2*takers*each)
	}
}

// TestPoolRefills checks that a pool fills in the background after a key
// is taken, and that the refill goroutine stops when it is full.
func TestPoolRefills(t *testing.T) {
	p := NewKeyPool(3)
	if _, err := p.mlkem768(); err != nil { // empty: generated on the spot
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(p.mlkemKeys.ch) < 3 || len(p.x25519Keys.ch) < 3 || p.mlkemKeys.filling.Load() || p.x25519Keys.filling.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("pool holds %d X25519 and %d ML-KEM keys, want 3 each", len(p.x25519Keys.ch), len(p.mlkemKeys.ch))
		}
		time.Sleep(time.Millisecond)
	}
}

// TestNilPool checks that a nil pool generates keys.
func TestNilPool(t *testing.T) {
	var p *KeyPool
	a, err := p.x25519()
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.x25519()
	if err != nil {
		t.Fatal(err)
	}
	if a.Equal(b) {
		t.Fatal("a nil pool returned the same key twice")
	}
	if _, err := p.mlkem768(); err != nil {
		t.Fatal(err)
	}
}
