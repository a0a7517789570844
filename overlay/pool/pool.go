// Package pool hands addresses to the clients an ovpn link accepts: one
// address of each family the client asks for, from the link's pool
// prefixes, the same address to the same name while its lease lives, kept
// in a file across restarts.
//
// Contracts:
//   - A pool has at most one prefix per family. It never hands out a
//     prefix's first and last address (the network and broadcast address in
//     IPv4; kept free in IPv6 too) or a reserved address (the server's own).
//   - Acquire(name, families) gives name an address of each family asked
//     for that the pool has, and (re)starts the lease: it lives Config.Lease
//     from the last Acquire. While it lives no other name gets those
//     addresses. A name's first address is chosen by a hash of the name, so
//     a client usually gets the same address even from a pool that lost its
//     file.
//   - An expired lease is remembered for one more lease period: its
//     addresses go to another name only when no never-leased address is
//     left, so a client that comes back late usually gets its old address.
//     After that period it is forgotten.
//   - With Config.File set, every change is written to the file before
//     Acquire or Release returns: a temporary file in the same directory,
//     synced, then renamed over the old one, so a crash leaves the old file
//     or the new one. Open fails, naming the file, if the file exists and
//     is not a valid lease file; it is never silently replaced. Leases whose
//     addresses are in none of the pool's prefixes (the pool was changed)
//     are dropped when the file is read. The file is JSON, for operators to
//     read: {"version": 1, "leases": [{"name", "addrs", "expires"}]}.
//
// A Pool is safe for concurrent use. Acquire is not on the packet path; it
// runs once per client connection and lease renewal.
package pool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultLease is the lease time when Config.Lease is zero.
const DefaultLease = 24 * time.Hour

// maxProbe bounds the addresses tried for one new lease, so that a huge
// IPv6 pool costs bounded work; an IPv4 pool up to a /16 is searched whole.
const maxProbe = 1 << 16

// Family is a set of address families.
type Family uint8

const (
	IPv4 Family = 1 << iota
	IPv6
)

// Config describes a pool.
type Config struct {
	Prefixes []netip.Prefix   // at most one IPv4 and one IPv6 prefix, masked
	Reserved []netip.Addr     // never handed out, such as the server's own addresses
	Lease    time.Duration    // how long a lease lives after its last Acquire; 0: DefaultLease
	File     string           // where leases are kept; "": in memory only
	Now      func() time.Time // the clock, for tests; nil: time.Now
}

// Lease is a name's addresses and when they expire.
type Lease struct {
	Name    string
	Addrs   []netip.Prefix // each address with its pool prefix's length, IPv4 first
	Expires time.Time
}

// ErrNotSaved is wrapped by the error of an Acquire or Release whose change
// holds in memory but could not be written to the lease file.
var ErrNotSaved = errors.New("lease file not updated")

// Pool is an address pool. Create it with Open.
type Pool struct {
	cfg    Config
	ranges []span // one per prefix, IPv4 first

	mu     sync.Mutex
	leases map[string]*lease
	owner  map[netip.Addr]string // address → name of the lease holding it
}

// lease is one name's addresses, by family index (0 IPv4, 1 IPv6).
type lease struct {
	addr    [2]netip.Addr
	expires time.Time
}

// span is a prefix's usable offsets: from 1 to n-2 of the n addresses (n
// capped at 2^63 for large IPv6 prefixes).
type span struct {
	prefix netip.Prefix
	n      uint64
}

// Open returns a pool, with the leases of cfg.File if it exists.
func Open(cfg Config) (*Pool, error) {
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Pool{cfg: cfg, leases: make(map[string]*lease), owner: make(map[netip.Addr]string)}
	var has [2]bool
	for _, pf := range cfg.Prefixes {
		if err := checkPrefix(pf); err != nil {
			return nil, err
		}
		if has[family(pf.Addr())] {
			return nil, fmt.Errorf("pool %v: a pool has one prefix per family", pf)
		}
		has[family(pf.Addr())] = true
		host := pf.Addr().BitLen() - pf.Bits()
		p.ranges = append(p.ranges, span{prefix: pf, n: uint64(1) << min(host, 63)})
	}
	if len(p.ranges) == 0 {
		return nil, errors.New("pool: no prefix; give an IPv4 or IPv6 prefix, such as 10.77.0.128/25")
	}
	slices.SortFunc(p.ranges, func(a, b span) int { return family(a.prefix.Addr()) - family(b.prefix.Addr()) })
	if cfg.File != "" {
		if err := p.load(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// checkPrefix refuses prefixes that cannot make a pool.
func checkPrefix(pf netip.Prefix) error {
	switch {
	case !pf.IsValid():
		return fmt.Errorf("pool %v: not a valid prefix", pf)
	case pf.Masked() != pf:
		return fmt.Errorf("pool %v: host bits are set; did you mean %v?", pf, pf.Masked())
	case pf.Addr().BitLen()-pf.Bits() < 2:
		return fmt.Errorf("pool %v: too small; a pool needs a prefix of at most /%d", pf, pf.Addr().BitLen()-2)
	}
	return nil
}

// family returns 0 for IPv4 addresses and 1 for IPv6 ones.
func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// Acquire gives name an address of each family in fams that the pool has,
// the same as before while its lease lives, and restarts the lease; the
// Lease returned holds those addresses only (a family leased before and not
// asked for now stays leased). It
// fails if the pool has none of the families asked for, or a family's
// prefix has no address left. With a file, an error wrapping ErrNotSaved
// comes with a valid lease: it holds, but a restart before the next
// successful write loses it.
func (p *Pool) Acquire(name string, fams Family) (Lease, error) {
	if name == "" {
		return Lease{}, errors.New("pool: a lease needs a name")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	p.forget(now)
	l := p.leases[name]
	if l == nil {
		l = &lease{}
	}
	next := *l
	granted := false
	for _, r := range p.ranges {
		f := family(r.prefix.Addr())
		if fams&(1<<f) == 0 {
			continue
		}
		if a := next.addr[f]; a.IsValid() && p.owner[a] == name {
			granted = true
			continue
		}
		a, err := p.pick(r, name, now)
		if err != nil {
			return Lease{}, err
		}
		next.addr[f] = a
		granted = true
	}
	if !granted {
		return Lease{}, fmt.Errorf("pool: no prefix of the families asked for (%s); the pool has %v", fams, p.cfg.Prefixes)
	}
	next.expires = now.Add(p.cfg.Lease)
	*l = next
	p.leases[name] = l
	for _, a := range l.addr {
		if a.IsValid() {
			p.take(a, name)
		}
	}
	return p.public(name, l, fams), p.save()
}

// take gives a to name, taking it from an expired lease that held it.
func (p *Pool) take(a netip.Addr, name string) {
	if prev, ok := p.owner[a]; ok && prev != name {
		pl := p.leases[prev]
		pl.addr[family(a)] = netip.Addr{}
		if !pl.addr[0].IsValid() && !pl.addr[1].IsValid() {
			delete(p.leases, prev)
		}
	}
	p.owner[a] = name
}

// pick chooses a new address of r for name: the first never-leased one
// from the name's hash on, else the first held by an expired lease.
func (p *Pool) pick(r span, name string, now time.Time) (netip.Addr, error) {
	usable := r.n - 2
	start := hash(name) % usable
	var expired netip.Addr
	for i := range min(usable, maxProbe) {
		a := addrAt(r.prefix, 1+(start+i)%usable)
		if slices.Contains(p.cfg.Reserved, a) {
			continue
		}
		holder, held := p.owner[a]
		if !held {
			return a, nil
		}
		if !expired.IsValid() && !p.leases[holder].expires.After(now) {
			expired = a
		}
	}
	if expired.IsValid() {
		return expired, nil
	}
	return netip.Addr{}, fmt.Errorf("pool %v exhausted: every address is leased; enlarge the pool or shorten the lease (%v)", r.prefix, p.cfg.Lease)
}

// addrAt returns the address at offset off in prefix pf; off is below 2^63
// and the prefix's host bits, so the sum does not carry past them.
func addrAt(pf netip.Prefix, off uint64) netip.Addr {
	b := pf.Addr().As16()
	binary.BigEndian.PutUint64(b[8:], binary.BigEndian.Uint64(b[8:])+off)
	a := netip.AddrFrom16(b)
	if pf.Addr().Is4() {
		a = a.Unmap()
	}
	return a
}

// hash is FNV-1a of s: stable across runs and versions, so a name's
// first-choice address is too.
func hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// forget drops leases that expired more than a lease period ago.
func (p *Pool) forget(now time.Time) {
	for name, l := range p.leases {
		if now.Sub(l.expires) > p.cfg.Lease {
			p.drop(name, l)
		}
	}
}

// drop removes name's lease.
func (p *Pool) drop(name string, l *lease) {
	for _, a := range l.addr {
		if a.IsValid() && p.owner[a] == name {
			delete(p.owner, a)
		}
	}
	delete(p.leases, name)
}

// Release ends name's lease now; its addresses are free at once.
func (p *Pool) Release(name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.leases[name]
	if !ok {
		return nil
	}
	p.drop(name, l)
	return p.save()
}

// Leases returns the leases, live and expired but remembered, by name.
func (p *Pool) Leases() []Lease {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leasesLocked()
}

// leasesLocked is Leases with p.mu held.
func (p *Pool) leasesLocked() []Lease {
	out := make([]Lease, 0, len(p.leases))
	for name, l := range p.leases {
		out = append(out, p.public(name, l, IPv4|IPv6))
	}
	slices.SortFunc(out, func(a, b Lease) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// public returns name's lease as callers see it, with the addresses of the
// families in fams.
func (p *Pool) public(name string, l *lease, fams Family) Lease {
	out := Lease{Name: name, Expires: l.expires}
	for _, r := range p.ranges {
		f := family(r.prefix.Addr())
		if a := l.addr[f]; a.IsValid() && fams&(1<<f) != 0 {
			out.Addrs = append(out.Addrs, netip.PrefixFrom(a, r.prefix.Bits()))
		}
	}
	return out
}

func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	case IPv4 | IPv6:
		return "IPv4 and IPv6"
	}
	return fmt.Sprintf("families %#x", uint8(f))
}

// Contains reports whether a lies in one of the pool's prefixes (handed
// out or not, reserved or not): an address a client may only hold by lease.
func (p *Pool) Contains(a netip.Addr) bool {
	for _, r := range p.ranges {
		if r.prefix.Contains(a) {
			return true
		}
	}
	return false
}
