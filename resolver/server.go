package resolver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"o7s.dev/ouroboros/internal/ratelog"
)

// Limits of one server.
const (
	// udpReadSize is the largest query read over UDP; a longer datagram
	// is cut there and then fails to parse (FORMERR). Queries are a few
	// hundred bytes; EDNS0 advertises this size to clients.
	udpReadSize = 4096
	// maxTCPConns bounds the TCP connections served at once per listen
	// address; more wait in the kernel's backlog.
	maxTCPConns = 256
	// maxBindTries bounds the UDP ports tried for port 0 when TCP finds
	// the port in use (by an outgoing connection, say).
	maxBindTries = 16
	// shutdownWait bounds how long Close waits for handlers in flight.
	shutdownWait = 5 * time.Second
)

// server is the running bridge behind Server.
type server struct {
	cfg    Config
	apex   string // the domain as a lowercase FQDN: "ouro."
	ttl    uint32 // seconds, of answers in the domain and the SOA minimum
	log    *slog.Logger
	rl     *ratelog.Limiter
	lim    *limiter
	cache  *cache
	up     *forwarder
	serial uint32 // the SOA serial: the start time

	ctx    context.Context // cancelled by close: ends lookups in flight
	cancel context.CancelFunc

	udp  []*net.UDPConn
	srvs []*dns.Server
	done sync.WaitGroup // the servers' serve loops
	once sync.Once
	err  error

	st counters
}

// newServer checks cfg, fills its defaults, and builds a server that
// serves nothing yet (tests of the handler alone use it as it is).
func newServer(cfg Config) (*server, error) {
	domain := strings.ToLower(strings.Trim(cfg.Domain, "."))
	if domain == "" {
		return nil, errors.New("resolver: Config.Domain is empty; set the zone to answer for (e.g. \"ouro\")")
	}
	if _, ok := dns.IsDomainName(domain + "."); !ok {
		return nil, fmt.Errorf("resolver: Config.Domain %q is not a valid domain name", cfg.Domain)
	}
	if cfg.Names == nil {
		return nil, errors.New("resolver: Config.Names is nil; the bridge needs a Names to answer for its domain")
	}
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.LookupTimeout <= 0 {
		cfg.LookupTimeout = DefaultLookupTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.Log = cfg.Log.With("component", "dns")
	s := &server{
		cfg:    cfg,
		apex:   domain + ".",
		ttl:    uint32(max(1, cfg.TTL/time.Second)),
		log:    cfg.Log,
		rl:     &ratelog.Limiter{Logger: cfg.Log},
		lim:    newLimiter(cfg.Rate, maxClients),
		cache:  newCache(maxCacheEntries, maxCacheBytes),
		up:     newForwarder(cfg.Upstream),
		serial: uint32(time.Now().Unix()),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

func listen(cfg Config) (*server, error) {
	if len(cfg.Listen) == 0 {
		return nil, errors.New("resolver: Config.Listen is empty; give at least one address to serve")
	}
	s, err := newServer(cfg)
	if err != nil {
		return nil, err
	}
	// Bind every address before serving any, so that a failure leaves
	// nothing running.
	var tcp []*net.TCPListener
	fail := func(err error) (*server, error) {
		s.cancel()
		for i := range s.udp {
			s.udp[i].Close()
			tcp[i].Close()
		}
		return nil, err
	}
	for _, ap := range cfg.Listen {
		u, t, err := bind(ap)
		if err != nil {
			return fail(err)
		}
		s.udp, tcp = append(s.udp, u), append(tcp, t)
	}
	if err := s.checkLoop(); err != nil {
		return fail(err)
	}
	var started sync.WaitGroup
	for i, u := range s.udp {
		for _, srv := range []*dns.Server{
			{PacketConn: u, UDPSize: udpReadSize},
			{Listener: newConnLimit(tcp[i], maxTCPConns)},
		} {
			srv.Handler = s
			srv.DecorateReader = s.decorateReader
			srv.MsgAcceptFunc = s.accept
			srv.MsgInvalidFunc = s.invalid
			started.Add(1)
			ready := sync.OnceFunc(started.Done)
			srv.NotifyStartedFunc = ready
			s.srvs = append(s.srvs, srv)
			s.done.Add(1)
			go s.serve(srv, ready)
		}
	}
	// Close shuts down only a started dns.Server.
	started.Wait()
	s.log.Info("dns bridge serving", "listen", s.addrs(), "domain", s.apex, "upstream", cfg.Upstream)
	return s, nil
}

// serve runs one dns.Server until close; ready is called once it serves,
// or once it failed to start.
func (s *server) serve(srv *dns.Server, ready func()) {
	defer s.done.Done()
	defer ready()
	if err := srv.ActivateAndServe(); err != nil && s.ctx.Err() == nil {
		s.log.Error("dns bridge stopped serving an address", "err", err)
	}
}

// bind binds ap over UDP and TCP on one port; with port 0 the kernel
// picks the UDP port and TCP takes the same, tried again if TCP finds
// it in use.
func bind(ap netip.AddrPort) (*net.UDPConn, *net.TCPListener, error) {
	for try := 0; ; try++ {
		u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
		if err != nil {
			return nil, nil, fmt.Errorf("resolver: listen on %s/udp: %w", ap, err)
		}
		port := u.LocalAddr().(*net.UDPAddr).AddrPort().Port()
		t, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ap.Addr(), port)))
		if err == nil {
			return u, t, nil
		}
		u.Close()
		if ap.Port() != 0 || try == maxBindTries || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, fmt.Errorf("resolver: listen on %s/tcp: %w", netip.AddrPortFrom(ap.Addr(), port), err)
		}
	}
}

// checkLoop refuses an upstream that is this server: every query
// outside the domain would come back to it until the rate limit cut it.
func (s *server) checkLoop() error {
	for _, u := range s.udp {
		own := u.LocalAddr().(*net.UDPAddr).AddrPort()
		for _, up := range s.cfg.Upstream {
			same := up.Port() == own.Port() && (up.Addr().Unmap() == own.Addr().Unmap() ||
				own.Addr().IsUnspecified() && up.Addr().IsLoopback())
			if same {
				return fmt.Errorf("resolver: upstream %s is this server (listening on %s): queries would loop; give another resolver", up, own)
			}
		}
	}
	return nil
}

func (s *server) addrs() []net.Addr {
	out := make([]net.Addr, len(s.udp))
	for i, u := range s.udp {
		out[i] = u.LocalAddr()
	}
	return out
}

// nsAddrs are the addresses of ns.DOMAIN: the bound ones, unspecified
// addresses left out.
func (s *server) nsAddrs() []netip.Addr {
	var out []netip.Addr
	for _, u := range s.udp {
		a := u.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
		if !a.IsUnspecified() {
			out = append(out, a)
		}
	}
	return out
}

func (s *server) stats() Stats { return s.st.snapshot() }

func (s *server) close() error {
	s.once.Do(func() {
		s.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
		defer cancel()
		var errs []error
		for _, srv := range s.srvs {
			if err := srv.ShutdownContext(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		s.done.Wait()
		if len(errs) > 0 {
			s.err = fmt.Errorf("resolver: close: %w", errors.Join(errs...))
		}
	})
	return s.err
}
