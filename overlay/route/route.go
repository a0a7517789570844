// Package route is the name routing table of the overlay engine: it maps IP
// prefixes (IPv4 and IPv6) to peers, finds the peer for a destination by
// longest-prefix match, and checks that a packet's source belongs to the peer
// it came from.
//
// One table serves both directions, as WireGuard's allowed IPs do: a peer's
// prefixes are where packets to those addresses go, and the only sources
// accepted from that peer. Allowed(p, src) holds exactly when the longest
// prefix containing src belongs to p; so when one peer holds 10.0.0.0/8 and
// another 10.2.0.0/24, a packet from 10.2.0.7 is accepted from the second
// peer only.
//
// Contracts:
//   - Prefixes are given masked (no host bits: 10.2.0.0/24, not 10.2.0.1/24;
//     netip drops zones from prefixes); a peer's tunnel address is given as a host prefix
//     (10.77.0.2/32, fd77::2/128). IPv4-mapped IPv6 prefixes are IPv6
//     prefixes; IPv4 packets are looked up with 4-byte addresses.
//   - Two peers never hold the same prefix: Set and Update refuse a prefix
//     held by another peer, naming both, and change nothing (no last-wins:
//     two peers configured with one route is a configuration error to fix,
//     not a race to settle). Overlapping prefixes of different lengths are
//     allowed; the longest wins.
//   - Set replaces all of a peer's prefixes at once (a new lease); Update
//     does so for several peers at once (a reload). A reader sees the table
//     before or after, never a mix.
//   - The table enforces only what it is given. Which prefixes a peer may
//     hold (its configured routes, its leased address, never routes a peer
//     merely claims in its hello) is the engine's policy, decided before it
//     calls Set or Update.
//
// Lookup and Allowed take no lock and allocate nothing: the table is an
// immutable snapshot behind an atomic pointer, rebuilt (copy-on-write) by
// every change, and changes are serialised by a mutex. They suit a hot path
// read by many goroutines while a reload writes. A lookup costs one map
// probe per distinct prefix length of the address's family; a change costs
// time linear in the table's size.
package route

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
)

// Table maps prefixes to peers of type P. A peer is whatever small,
// comparable handle the engine chooses (a name, a pointer to its peer
// state). The zero Table is not usable; call New.
type Table[P comparable] struct {
	mu    sync.Mutex              // serialises writers
	peers map[P][]netip.Prefix    // source of truth, owned by writers
	owner map[netip.Prefix]P      // who holds each prefix, for conflicts
	snap  atomic.Pointer[snap[P]] // what readers see
}

// snap is an immutable view of the table: per family, one map per prefix
// length present, longest first.
type snap[P comparable] struct {
	v4, v6 []level[P]
}

// level holds the prefixes of one length, keyed by their masked address.
type level[P comparable] struct {
	bits int
	m    map[netip.Addr]P
}

// New returns an empty table.
func New[P comparable]() *Table[P] {
	t := &Table[P]{peers: make(map[P][]netip.Prefix), owner: make(map[netip.Prefix]P)}
	t.snap.Store(&snap[P]{})
	return t
}

// Lookup returns the peer holding the longest prefix that contains dst.
func (t *Table[P]) Lookup(dst netip.Addr) (P, bool) {
	s := t.snap.Load()
	levels := s.v6
	if dst.Is4() {
		levels = s.v4
	}
	for i := range levels {
		l := &levels[i]
		// Prefix cannot fail here: bits is at most dst's length, since
		// levels of a family hold only prefixes of that family.
		k, _ := dst.Prefix(l.bits)
		if p, ok := l.m[k.Addr()]; ok {
			return p, true
		}
	}
	var zero P
	return zero, false
}

// Allowed reports whether a packet from peer p may carry source address
// src: whether the longest prefix containing src is p's.
func (t *Table[P]) Allowed(p P, src netip.Addr) bool {
	q, ok := t.Lookup(src)
	return ok && q == p
}

// Prefixes returns a copy of p's prefixes, in the order they were given.
func (t *Table[P]) Prefixes(p P) []netip.Prefix {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.peers[p])
}

// Set replaces all of p's prefixes by prefixes; an empty list removes p.
// It is Update with one peer.
func (t *Table[P]) Set(p P, prefixes []netip.Prefix) error {
	return t.Update(map[P][]netip.Prefix{p: prefixes})
}

// Remove drops all of p's prefixes.
func (t *Table[P]) Remove(p P) {
	t.Update(map[P][]netip.Prefix{p: nil}) // removing cannot conflict
}

// Update replaces the prefixes of each peer in changes by its list (an
// empty list removes the peer), all at once: readers see the table before
// or after, never between, so a reload can move a prefix from one peer to
// another without a moment in which neither holds it. It fails, changing
// nothing, if a prefix is invalid or not masked, or if after the update two
// peers would hold the same prefix. Peers not in changes keep theirs.
func (t *Table[P]) Update(changes map[P][]netip.Prefix) error {
	for _, prefixes := range changes {
		for _, pf := range prefixes {
			if err := check(pf); err != nil {
				return err
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	claim := make(map[netip.Prefix]P) // prefix → changed peer that will hold it
	for p, prefixes := range changes {
		for _, pf := range prefixes {
			if q, ok := claim[pf]; ok && q != p {
				return conflict(pf, q, p)
			}
			claim[pf] = p
			if q, ok := t.owner[pf]; ok && q != p {
				if _, changed := changes[q]; !changed || slices.Contains(changes[q], pf) {
					return conflict(pf, q, p)
				}
			}
		}
	}
	for p := range changes {
		t.drop(p)
	}
	for p, prefixes := range changes {
		if len(prefixes) == 0 {
			continue
		}
		t.peers[p] = dedup(prefixes)
		for _, pf := range t.peers[p] {
			t.owner[pf] = p
		}
	}
	t.publish()
	return nil
}

func conflict[P any](pf netip.Prefix, q, p P) error {
	return fmt.Errorf("route %v: already held by peer %v, not given to peer %v; remove it from one of them", pf, q, p)
}

// drop forgets p's prefixes without publishing. It runs with t.mu held.
func (t *Table[P]) drop(p P) {
	for _, pf := range t.peers[p] {
		delete(t.owner, pf)
	}
	delete(t.peers, p)
}

// check refuses prefixes that cannot be matched as given.
func check(pf netip.Prefix) error {
	switch {
	case !pf.IsValid():
		return fmt.Errorf("route %v: not a valid prefix", pf)
	case pf.Masked() != pf:
		return fmt.Errorf("route %v: host bits are set; did you mean %v?", pf, pf.Masked())
	}
	return nil
}

// dedup returns a copy of prefixes without repeats, keeping the first.
func dedup(prefixes []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(prefixes))
	for _, pf := range prefixes {
		if !slices.Contains(out, pf) {
			out = append(out, pf)
		}
	}
	return out
}

// publish builds a new snapshot from t.peers and makes it visible. It runs
// with t.mu held.
func (t *Table[P]) publish() {
	var by4, by6 [129]map[netip.Addr]P
	for p, prefixes := range t.peers {
		for _, pf := range prefixes {
			by := &by6
			if pf.Addr().Is4() {
				by = &by4
			}
			if by[pf.Bits()] == nil {
				by[pf.Bits()] = make(map[netip.Addr]P)
			}
			by[pf.Bits()][pf.Addr()] = p
		}
	}
	t.snap.Store(&snap[P]{v4: levels(&by4), v6: levels(&by6)})
}

// levels lists the non-empty maps of by, longest prefix length first.
func levels[P comparable](by *[129]map[netip.Addr]P) []level[P] {
	var out []level[P]
	for bits := len(by) - 1; bits >= 0; bits-- {
		if by[bits] != nil {
			out = append(out, level[P]{bits: bits, m: by[bits]})
		}
	}
	return out
}
