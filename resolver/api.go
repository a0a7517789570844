// Package resolver is the DNS bridge: a DNS server that answers for one
// domain ("ouro" by default) from Ouroboros names, so that a legacy
// application that knows only DNS reaches a host by its name:
// web.site-b.ouro is the Ouroboros name web.site-b. Queries for other
// domains go to upstream resolvers.
//
// The server knows nothing of flows or links: a Names (the ovpn command's)
// turns a name into addresses, setting up a flow on demand if it must, and
// an address back into a name.
//
//	query (UDP or TCP) ─► under its rate? (else dropped) ─► parse
//	   ─► allowed client? (else REFUSED; junk from it dropped)
//	   in the domain: SOA, NS, A/AAAA via Names.Lookup, PTR via Names.Reverse;
//	                  NXDOMAIN / NODATA with the SOA (negative caching)
//	   in-addr.arpa / ip6.arpa: PTR via Names.Reverse, else upstream
//	   anything else: the cache, else upstream (UDP; TC set: again over TCP)
//
// Every client is rate limited, refused ones too, so that the bridge
// reflects no flood. Malformed queries get FORMERR or are dropped;
// nothing a client sends makes the server panic (FuzzHandler). See
// README.md for the exact answers, limits and counters.
package resolver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"time"
)

// Names is where the bridge gets the names of its domain from.
type Names interface {
	// Lookup returns the addresses of the Ouroboros name (the query's
	// name with the domain and the final dot removed, in lower case:
	// DNS does not keep case, so only lower-case names are reached). It may set up a
	// flow to the name first; ctx bounds how long it may take. Errors:
	// wrapping ErrNoName when the layer has no such name (NXDOMAIN),
	// ErrRefused when the name exists but refused this end (REFUSED);
	// any other error is a server failure (SERVFAIL). No addresses and
	// no error: the name exists but has no address (NODATA).
	Lookup(ctx context.Context, name string) ([]netip.Addr, error)
	// Reverse returns the Ouroboros name that holds addr, if any.
	Reverse(addr netip.Addr) (name string, ok bool)
}

// Errors Names.Lookup wraps to choose the answer's code.
var (
	ErrNoName  = errors.New("no such name in the layer")
	ErrRefused = errors.New("the name refused this end")
)

// Config configures a Server.
type Config struct {
	// Domain is the zone the bridge answers for, without dots at either
	// end ("ouro"); required.
	Domain string
	// Listen are the addresses served, each over UDP and TCP; port 0
	// picks a free port (Addrs says which). At least one.
	Listen []netip.AddrPort
	// Upstream are the resolvers queries outside Domain go to, tried in
	// order; none: such queries are REFUSED.
	Upstream []netip.AddrPort
	// Allow are the client prefixes served; others are REFUSED (the
	// bridge is not an open resolver). Empty: every client is refused.
	Allow []netip.Prefix
	// Rate is how many queries a second one client may send (with a
	// burst of as many); beyond it queries are dropped and counted.
	// 0: DefaultRate.
	Rate int
	// TTL is the TTL of answers in Domain; 0: DefaultTTL.
	TTL time.Duration
	// LookupTimeout bounds one Names.Lookup; 0: DefaultLookupTimeout.
	LookupTimeout time.Duration
	Names         Names
	Log           *slog.Logger // nil: slog.Default()
}

// Defaults of Config.
const (
	DefaultRate          = 200
	DefaultTTL           = 30 * time.Second
	DefaultLookupTimeout = 3 * time.Second
)

// Stats counts what the server did, for `ovpn status`.
type Stats struct {
	Queries     uint64 `json:"queries"`      // every query parsed
	Answered    uint64 `json:"answered"`     // in the domain, with addresses or a name
	NXDomain    uint64 `json:"nxdomain"`     // in the domain, no such name
	Refused     uint64 `json:"refused"`      // name refused us, or client not allowed
	NotAllowed  uint64 `json:"not_allowed"`  // of Refused: the client is outside Allow
	RateLimited uint64 `json:"rate_limited"` // dropped: over the client's rate
	Forwarded   uint64 `json:"forwarded"`    // sent upstream
	CacheHits   uint64 `json:"cache_hits"`   // upstream answers served from the cache
	ServFail    uint64 `json:"servfail"`     // failures (upstream down, lookup error)
	FormErr     uint64 `json:"formerr"`      // malformed queries
}

// Server is a running bridge. Its methods are safe for concurrent use.
type Server struct{ s *server }

// Listen binds every Config.Listen address (UDP and TCP) and serves them
// until Close. Its error names the address that could not be bound.
func Listen(cfg Config) (*Server, error) {
	s, err := listen(cfg)
	if err != nil {
		return nil, err
	}
	return &Server{s}, nil
}

// Addrs returns the bound UDP addresses, in Config.Listen's order.
func (s *Server) Addrs() []net.Addr { return s.s.addrs() }

// Stats returns the counters.
func (s *Server) Stats() Stats { return s.s.stats() }

// Close stops serving and waits for the handlers to return.
func (s *Server) Close() error { return s.s.close() }
