package oap

import (
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/rand"
	"fmt"
	"sync/atomic"
)

// KeyPool holds ephemeral private keys generated ahead of time, so that a
// flow allocation does not wait for key generation. Every key leaves the
// pool exactly once and is dropped after its one exchange, so forward
// secrecy is that of fresh keys. When a key is taken, a goroutine refills
// the pool in the background and exits once it is full; an empty pool
// generates on the spot. A nil *KeyPool is valid: it always generates.
//
// A KeyPool is safe for concurrent use. One per process is enough: the
// Server makes its own, and clients share one through Config.Pool.
type KeyPool struct {
	x25519Keys stock[*ecdh.PrivateKey]
	mlkemKeys  stock[*mlkem.DecapsulationKey768]
}

// DefaultPoolSize is the number of keys of each kind a NewKeyPool(0) holds:
// enough for a burst of allocations while the refill catches up.
const DefaultPoolSize = 16

// NewKeyPool returns a pool holding up to size keys of each kind (0 means
// DefaultPoolSize) and starts filling its X25519 keys. The ML-KEM keys,
// needed by hybrid clients only, are generated from the first one taken on.
func NewKeyPool(size int) *KeyPool {
	if size <= 0 {
		size = DefaultPoolSize
	}
	p := &KeyPool{
		x25519Keys: stock[*ecdh.PrivateKey]{ch: make(chan *ecdh.PrivateKey, size), gen: genX25519},
		mlkemKeys:  stock[*mlkem.DecapsulationKey768]{ch: make(chan *mlkem.DecapsulationKey768, size), gen: genMLKEM},
	}
	p.x25519Keys.refill()
	return p
}

// x25519 returns a fresh X25519 private key.
func (p *KeyPool) x25519() (*ecdh.PrivateKey, error) {
	if p == nil {
		return genX25519()
	}
	return p.x25519Keys.take()
}

// mlkem768 returns a fresh ML-KEM-768 decapsulation key.
func (p *KeyPool) mlkem768() (*mlkem.DecapsulationKey768, error) {
	if p == nil {
		return genMLKEM()
	}
	return p.mlkemKeys.take()
}

func genX25519() (*ecdh.PrivateKey, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate X25519 key: %w", err)
	}
	return k, nil
}

func genMLKEM() (*mlkem.DecapsulationKey768, error) {
	k, err := mlkem.GenerateKey768()
	if err != nil {
		return nil, fmt.Errorf("generate ML-KEM-768 key: %w", err)
	}
	return k, nil
}

// stock is the pool of one kind of key: a buffered channel, so that a
// receive hands each key to exactly one taker.
type stock[K any] struct {
	ch      chan K
	gen     func() (K, error)
	filling atomic.Bool // a refill goroutine is running
}

// take returns a pooled key, or a new one if the pool is empty, and starts
// a refill.
func (s *stock[K]) take() (K, error) {
	defer s.refill()
	select {
	case k := <-s.ch:
		return k, nil
	default:
		return s.gen()
	}
}

// refill starts a goroutine that generates keys until the pool is full,
// unless one is already running. A key taken just as the goroutine exits
// is made up for by the next take.
func (s *stock[K]) refill() {
	if !s.filling.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.filling.Store(false)
		for len(s.ch) < cap(s.ch) {
			k, err := s.gen()
			if err != nil {
				return // take generates on the spot and reports it
			}
			select {
			case s.ch <- k:
			default:
				return
			}
		}
	}()
}
