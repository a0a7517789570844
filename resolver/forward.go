package resolver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

const (
	// upstreamTimeout bounds one exchange with one upstream.
	upstreamTimeout = 2 * time.Second
	// forwardTimeout bounds a whole forward (every upstream in turn),
	// under a client's usual 5 s.
	forwardTimeout = 4 * time.Second
)

// forwarder asks the upstream resolvers, in order.
type forwarder struct {
	servers  []string
	udp, tcp *dns.Client
	flights  flights
}

func newForwarder(up []netip.AddrPort) *forwarder {
	f := &forwarder{
		// A UDP answer without EDNS0 may still be long (a sloppy
		// server): read whatever comes.
		udp: &dns.Client{Net: "udp", UDPSize: dns.MaxMsgSize, Timeout: upstreamTimeout},
		tcp: &dns.Client{Net: "tcp", Timeout: upstreamTimeout},
	}
	for _, ap := range up {
		f.servers = append(f.servers, ap.String())
	}
	return f
}

// forward answers req from the cache or from upstream.
func (s *server) forward(req *dns.Msg, tcp bool) *dns.Msg {
	if len(s.up.servers) == 0 {
		s.st.refused.Add(1)
		return s.fail(req, dns.RcodeRefused)
	}
	q := req.Question[0]
	out := new(dns.Msg)
	out.SetQuestion(q.Name, q.Qtype) // a fresh random ID
	out.Question[0].Qclass = q.Qclass
	out.RecursionDesired = req.RecursionDesired
	out.CheckingDisabled = req.CheckingDisabled
	// EDNS0 passes through: the client's buffer size and DO bit, none
	// of its options (a cookie is for us, not for upstream).
	opt := req.IsEdns0()
	if opt != nil {
		out.SetEdns0(max(opt.UDPSize(), dns.MinMsgSize), opt.Do())
	}
	key := cacheKey{strings.ToLower(q.Name), q.Qtype, q.Qclass, opt != nil && opt.Do(), req.CheckingDisabled}
	now := time.Now()
	if m, age, ok := s.cache.get(key, now); ok {
		s.st.cacheHits.Add(1)
		return s.relay(req, m, age)
	}
	s.st.forwarded.Add(1)
	m, err := s.up.flights.do(flightKey{key, tcp}, func() (*dns.Msg, error) {
		ctx, cancel := context.WithTimeout(s.ctx, forwardTimeout)
		defer cancel()
		m, err := s.up.exchange(ctx, out, tcp)
		if err == nil {
			s.cache.put(key, m, now)
		}
		return m, err
	})
	if err != nil {
		s.st.servfail.Add(1)
		s.rl.Log(slog.LevelWarn, "upstream", "dns query failed upstream", "name", q.Name, "err", err)
		return s.fail(req, dns.RcodeServerFailure)
	}
	return s.relay(req, m, 0)
}

// relay is upstream's answer m, age old, made the reply to req: req's ID
// and question as written, TTLs less the age, and our own OPT record
// (upstream's options were for us) if req had one.
func (s *server) relay(req, m *dns.Msg, age time.Duration) *dns.Msg {
	r := m.Copy()
	r.Id = req.Id
	r.Question = []dns.Question{req.Question[0]}
	var do bool
	if opt := r.IsEdns0(); opt != nil {
		do = opt.Do()
	}
	older := uint32(age / time.Second)
	keep := r.Extra[:0]
	for _, rr := range r.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			keep = append(keep, rr)
		}
	}
	r.Extra = keep
	for _, sec := range [][]dns.RR{r.Answer, r.Ns, r.Extra} {
		for _, rr := range sec {
			h := rr.Header()
			h.Ttl -= min(h.Ttl, older)
		}
	}
	if req.IsEdns0() != nil {
		r.SetEdns0(udpReadSize, do)
	}
	return r
}

// exchange asks each upstream in turn until one answers other than
// SERVFAIL or REFUSED; over UDP unless tcp, and again over TCP when the
// UDP answer is truncated. With no good answer it returns the last bad
// one, else the errors.
func (f *forwarder) exchange(ctx context.Context, m *dns.Msg, tcp bool) (*dns.Msg, error) {
	var last *dns.Msg
	var errs []error
	for _, srv := range f.servers {
		r, err := f.ask(ctx, m, srv, tcp)
		if err == nil && r.Truncated && !tcp {
			if full, err := f.ask(ctx, m, srv, true); err == nil {
				r = full
			} else {
				errs = append(errs, err) // the truncated answer is still one
			}
		}
		switch {
		case err != nil:
			errs = append(errs, err)
		case r.Rcode == dns.RcodeServerFailure || r.Rcode == dns.RcodeRefused:
			last = r
		default:
			return r, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	if last != nil {
		return last, nil
	}
	return nil, errors.Join(errs...)
}

// ask exchanges m with one upstream; the server closing ends it at once.
func (f *forwarder) ask(ctx context.Context, m *dns.Msg, srv string, tcp bool) (*dns.Msg, error) {
	c, proto := f.udp, "udp"
	if tcp {
		c, proto = f.tcp, "tcp"
	}
	ctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
	defer cancel()
	conn, err := c.DialContext(ctx, srv)
	if err != nil {
		return nil, fmt.Errorf("upstream %s/%s: %w", srv, proto, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r, _, err := c.ExchangeWithConnContext(ctx, m, conn)
	if err != nil {
		return nil, fmt.Errorf("upstream %s/%s: %w", srv, proto, err)
	}
	if !r.Response || len(r.Question) != 1 || !sameQuestion(r.Question[0], m.Question[0]) {
		return nil, fmt.Errorf("upstream %s/%s: the answer is not to the question asked", srv, proto)
	}
	return r, nil
}

func sameQuestion(a, b dns.Question) bool {
	return a.Qtype == b.Qtype && a.Qclass == b.Qclass && strings.EqualFold(a.Name, b.Name)
}

// flights lets concurrent identical queries share one upstream exchange:
// a burst of clients asking one name costs upstream one query.
type flights struct {
	mu sync.Mutex
	m  map[flightKey]*flight
}

type flightKey struct {
	cacheKey
	tcp bool // a TCP client wants no truncated answer
}

type flight struct {
	done chan struct{}
	m    *dns.Msg // not changed once done
	err  error
}

// do runs ask for k, or waits for the run already under way.
func (f *flights) do(k flightKey, ask func() (*dns.Msg, error)) (*dns.Msg, error) {
	f.mu.Lock()
	if c, ok := f.m[k]; ok {
		f.mu.Unlock()
		<-c.done
		return c.m, c.err
	}
	if f.m == nil {
		f.m = map[flightKey]*flight{}
	}
	c := &flight{done: make(chan struct{})}
	f.m[k] = c
	f.mu.Unlock()
	c.m, c.err = ask()
	f.mu.Lock()
	delete(f.m, k)
	f.mu.Unlock()
	close(c.done)
	return c.m, c.err
}
