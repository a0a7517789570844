package resolver

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// maxClients bounds the clients whose rate is tracked; past it a client
// whose bucket has refilled is forgotten (losslessly: it would start
// full again), else an arbitrary one.
const maxClients = 4096

// sweepBudget bounds the buckets one eviction looks at, so that a flood
// from many sources costs each new one little.
const sweepBudget = 64

// limiter is a token bucket per client: rate tokens a second, as many
// at most. IPv6 clients are counted by their /64, which one host
// usually holds whole.
type limiter struct {
	rate, burst float64
	max         int

	mu      sync.Mutex
	clients map[netip.Addr]bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate, maxClients int) *limiter {
	return &limiter{rate: float64(rate), burst: float64(rate), max: maxClients, clients: map[netip.Addr]bucket{}}
}

// clientKey is what a client is counted by.
func clientKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// allow takes a token of a's bucket at now; false: a is over its rate.
func (l *limiter) allow(a netip.Addr, now time.Time) bool {
	k := clientKey(a)
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.clients[k]
	if ok {
		b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	} else {
		if len(l.clients) >= l.max {
			l.evictLocked(now)
		}
		b.tokens = l.burst
	}
	b.last = now
	ok = b.tokens >= 1
	if ok {
		b.tokens--
	}
	l.clients[k] = b
	return ok
}

// evictLocked forgets the refilled buckets among the first sweepBudget
// it meets (map order is random), or the first it met if none was.
func (l *limiter) evictLocked(now time.Time) {
	refill := time.Duration(l.burst / l.rate * float64(time.Second))
	var first netip.Addr
	n, freed := 0, false
	for k, b := range l.clients {
		if n == 0 {
			first = k
		}
		if now.Sub(b.last) >= refill {
			delete(l.clients, k)
			freed = true
		}
		if n++; n == sweepBudget {
			break
		}
	}
	if !freed {
		delete(l.clients, first)
	}
}

// allowed reports whether a is inside Config.Allow.
func (s *server) allowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.cfg.Allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// screen decides, before a message is parsed, whether it is served:
// a client over its rate is dropped (the REFUSED of a client outside
// Allow is rate limited too, so the bridge reflects no flood), and from
// a client outside Allow only a well-formed query goes on, to be
// REFUSED by the handler; anything else from it is dropped, so a
// stranger gets no FORMERR.
func (s *server) screen(m []byte, from netip.Addr) bool {
	if !s.lim.allow(from, time.Now()) {
		s.st.rateLimited.Add(1)
		s.rl.Log(slog.LevelWarn, "rate", "dns query dropped: client over its rate; raise [dns] rate if it is a busy resolver", "client", from, "rate", s.cfg.Rate)
		return false
	}
	if s.allowed(from) {
		return true
	}
	var q dns.Msg
	if err := q.Unpack(m); err != nil || q.Response || q.Opcode != dns.OpcodeQuery || len(q.Question) != 1 {
		s.st.formerr.Add(1)
		s.rl.Log(slog.LevelInfo, "stranger-junk", "dns message dropped: malformed, from a client outside [dns] allow", "client", from)
		return false
	}
	return true
}

// accept is the server's dns.MsgAcceptFunc: miekg's checks (one
// question, a query, no update) counted.
func (s *server) accept(h dns.Header) dns.MsgAcceptAction {
	act := dns.DefaultMsgAcceptFunc(h)
	if act == dns.MsgReject || act == dns.MsgIgnore {
		s.st.formerr.Add(1)
		s.rl.Log(slog.LevelInfo, "formerr", "dns message rejected: not a query with one question", "id", h.Id)
	}
	return act
}

// invalid is the server's dns.MsgInvalidFunc: a message that did not
// parse (FORMERR if its header did, else dropped).
func (s *server) invalid(m []byte, err error) {
	s.st.formerr.Add(1)
	s.rl.Log(slog.LevelInfo, "formerr", "dns message malformed", "len", len(m), "err", err)
}

// errScreened ends a TCP connection whose query screen dropped.
var errScreened = errors.New("resolver: query dropped by the screen")

// decorateReader is the server's dns.DecorateReader: every message goes
// through screen before miekg parses it.
func (s *server) decorateReader(r dns.Reader) dns.Reader { return screenReader{s, r} }

type screenReader struct {
	s *server
	r dns.Reader
}

func (g screenReader) ReadUDP(conn *net.UDPConn, timeout time.Duration) ([]byte, *dns.SessionUDP, error) {
	for {
		m, sess, err := g.r.ReadUDP(conn, timeout)
		if err != nil || g.s.screen(m, addrOf(sess.RemoteAddr())) {
			return m, sess, err
		}
	}
}

// ReadTCP drops a connection whose query is screened out: a client over
// its rate waits for its own timeout.
func (g screenReader) ReadTCP(conn net.Conn, timeout time.Duration) ([]byte, error) {
	m, err := g.r.ReadTCP(conn, timeout)
	if err == nil && !g.s.screen(m, addrOf(conn.RemoteAddr())) {
		return nil, errScreened
	}
	return m, err
}

// addrOf is the IP address of a UDP or TCP address; the zero Addr (in
// no prefix) for anything else.
func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap()
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// connLimit is a listener that holds at most n connections open;
// Accept waits for one to close past that.
type connLimit struct {
	net.Listener
	slots chan struct{}
	done  chan struct{}
	once  sync.Once
}

func newConnLimit(l net.Listener, n int) *connLimit {
	return &connLimit{Listener: l, slots: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *connLimit) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: sync.OnceFunc(func() { <-l.slots })}, nil
}

func (l *connLimit) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitedConn struct {
	net.Conn
	release func()
}

func (c *limitedConn) Close() error {
	c.release()
	return c.Conn.Close()
}
