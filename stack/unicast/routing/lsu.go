package routing

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// Link is one adjacency in an LSU: the originator has a data-transfer flow
// to Neighbour and would forward through it at cost Metric.
type Link struct {
	Neighbour addr.Addr
	// Metric is at least 1; 1 for every link makes costs hop counts.
	Metric uint16
}

// LSU is a link-state update: one member's complete list of adjacencies.
// Each origin has one current LSU; a higher Seq replaces it.
type LSU struct {
	// Origin is the originating member's address; never 0.
	Origin addr.Addr
	// NodeID is random per IPCP instance: it tells two members that claim
	// one address apart.
	NodeID uint64
	// Seq is higher for newer LSUs. Originators start it from the wall
	// clock in nanoseconds so a restarted member is newer.
	Seq uint64
	// Links are at most MaxLinks, sorted by Neighbour, without duplicates,
	// none to Origin itself or to address 0.
	Links []Link
}

// AppendBinary appends the wire encoding of u to b. It refuses an LSU that
// ParseLSU would reject, so everything it encodes parses back to u.
func (u *LSU) AppendBinary(b []byte) ([]byte, error) {
	if err := u.check(); err != nil {
		return b, fmt.Errorf("encoding LSU of %v: %w", u.Origin, err)
	}
	b = slices.Grow(b, LSUHeaderLen+len(u.Links)*LinkLen)
	b = append(b, Version, TypeLSU)
	b = binary.BigEndian.AppendUint16(b, uint16(len(u.Links)))
	b = binary.BigEndian.AppendUint64(b, uint64(u.Origin))
	b = binary.BigEndian.AppendUint64(b, u.NodeID)
	b = binary.BigEndian.AppendUint64(b, u.Seq)
	for _, l := range u.Links {
		b = binary.BigEndian.AppendUint64(b, uint64(l.Neighbour))
		b = binary.BigEndian.AppendUint16(b, l.Metric)
	}
	return b, nil
}

// ParseLSU decodes an LSU. It rejects a message of the wrong length,
// version or type, origin 0, more than MaxLinks links, links out of order
// or duplicated, metric 0, and links to address 0 or to the origin. The
// result does not alias b.
func ParseLSU(b []byte) (LSU, error) {
	if len(b) < LSUHeaderLen {
		return LSU{}, fmt.Errorf("LSU of %d bytes: %w", len(b), ErrShort)
	}
	if err := checkHeader(b, TypeLSU); err != nil {
		return LSU{}, fmt.Errorf("LSU: %w", err)
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	if n > MaxLinks {
		return LSU{}, fmt.Errorf("LSU with %d links: %w", n, ErrTooManyLinks)
	}
	if want := LSUHeaderLen + n*LinkLen; len(b) != want {
		return LSU{}, fmt.Errorf("LSU of %d bytes with %d links, want %d bytes: %w", len(b), n, want, ErrLength)
	}
	u := LSU{
		Origin: addr.Addr(binary.BigEndian.Uint64(b[4:])),
		NodeID: binary.BigEndian.Uint64(b[12:]),
		Seq:    binary.BigEndian.Uint64(b[20:]),
	}
	if n > 0 {
		u.Links = make([]Link, n)
		for i := range u.Links {
			p := b[LSUHeaderLen+i*LinkLen:]
			u.Links[i] = Link{
				Neighbour: addr.Addr(binary.BigEndian.Uint64(p)),
				Metric:    binary.BigEndian.Uint16(p[8:]),
			}
		}
	}
	if err := u.check(); err != nil {
		return LSU{}, fmt.Errorf("LSU of %v: %w", u.Origin, err)
	}
	return u, nil
}

// check validates everything about u that the wire format constrains.
func (u *LSU) check() error {
	if u.Origin == addr.None {
		return ErrOrigin
	}
	if len(u.Links) > MaxLinks {
		return fmt.Errorf("%d links: %w", len(u.Links), ErrTooManyLinks)
	}
	for i, l := range u.Links {
		switch {
		case l.Neighbour == addr.None || l.Neighbour == u.Origin:
			return fmt.Errorf("link %d to %v: %w", i, l.Neighbour, ErrNeighbour)
		case l.Metric == 0:
			return fmt.Errorf("link %d to %v: %w", i, l.Neighbour, ErrMetric)
		case i > 0 && l.Neighbour <= u.Links[i-1].Neighbour:
			return fmt.Errorf("link %d to %v after %v: %w", i, l.Neighbour, u.Links[i-1].Neighbour, ErrLinkOrder)
		}
	}
	return nil
}

// clone returns a copy of u that shares no memory with it.
func (u *LSU) clone() LSU {
	c := *u
	c.Links = slices.Clone(u.Links)
	return c
}

// metricTo returns the metric of u's link to n, if u lists one. Links are
// sorted, so this is a binary search.
func (u *LSU) metricTo(n addr.Addr) (uint16, bool) {
	i, ok := slices.BinarySearchFunc(u.Links, n, func(l Link, n addr.Addr) int {
		return cmp.Compare(l.Neighbour, n)
	})
	if !ok {
		return 0, false
	}
	return u.Links[i].Metric, true
}
