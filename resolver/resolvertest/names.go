// Package resolvertest has a resolver.Names for tests: a map of names to
// addresses, with errors and hangs on demand, that counts its lookups.
package resolvertest

import (
	"context"
	"fmt"
	"net/netip"
	"sync"

	"o7s.dev/ouroboros/resolver"
)

// Names is a resolver.Names from a map. The zero value knows no name
// (every Lookup is resolver.ErrNoName); it is safe for concurrent use.
type Names struct {
	mu      sync.Mutex
	addrs   map[string][]netip.Addr
	errs    map[string]error
	hang    map[string]bool
	lookups map[string]int
}

// Add makes name hold addrs (none: the name exists without addresses).
func (n *Names) Add(name string, addrs ...netip.Addr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.addrs == nil {
		n.addrs = map[string][]netip.Addr{}
	}
	n.addrs[name] = addrs
}

// Fail makes every Lookup of name return err.
func (n *Names) Fail(name string, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.errs == nil {
		n.errs = map[string]error{}
	}
	n.errs[name] = err
}

// Hang makes every Lookup of name wait for its context to end.
func (n *Names) Hang(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.hang == nil {
		n.hang = map[string]bool{}
	}
	n.hang[name] = true
}

// Lookups is how many times name was looked up.
func (n *Names) Lookups(name string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lookups[name]
}

// Lookup implements resolver.Names.
func (n *Names) Lookup(ctx context.Context, name string) ([]netip.Addr, error) {
	n.mu.Lock()
	if n.lookups == nil {
		n.lookups = map[string]int{}
	}
	n.lookups[name]++
	addrs, ok := n.addrs[name]
	err, hang := n.errs[name], n.hang[name]
	n.mu.Unlock()
	switch {
	case hang:
		<-ctx.Done()
		return nil, fmt.Errorf("lookup of %q: %w", name, ctx.Err())
	case err != nil:
		return nil, err
	case !ok:
		return nil, fmt.Errorf("lookup of %q: %w", name, resolver.ErrNoName)
	}
	return addrs, nil
}

// Reverse implements resolver.Names: the name that holds addr.
func (n *Names) Reverse(addr netip.Addr) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for name, addrs := range n.addrs {
		for _, a := range addrs {
			if a == addr {
				return name, true
			}
		}
	}
	return "", false
}

var _ resolver.Names = (*Names)(nil)
