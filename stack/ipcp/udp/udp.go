// Package udp is the UDP shim layer (IPCP types udp4 and udp6): flows
// between hosts over one UDP socket per IPCP. A name is resolved to an
// address by the static peers of the configuration, then by the system
// resolver (/etc/hosts, DNS A/AAAA records). Replies and data go to the
// address and port a peer was actually seen at, so clients behind NAT work;
// idle flows send keepalives to hold NAT mappings.
package udp

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/ipcp/shim"
	"o7s.dev/ouroboros/stack/schema"
)

// DefaultPort is the layer's UDP port when none is given.
const DefaultPort = schema.DefaultPort

// MTUs: the largest datagram payload that crosses a 1500-byte Ethernet
// path without fragmentation (IP and UDP headers taken off).
const (
	mtu4 = 1500 - 20 - 8
	mtu6 = 1500 - 40 - 8
)

// IPCP is a udp4 or udp6 IPCP.
type IPCP struct {
	*shim.Core[netip.AddrPort]
	name string
	typ  ipcp.Type
	log  *slog.Logger
	done chan struct{} // closed by Close: stops routineLink

	mu    sync.Mutex
	layer string
	addr  netip.AddrPort    // bound address
	peers map[string]string // static peers: name to host:port
}

var _ ipcp.IPCP = (*IPCP)(nil)

// New returns a udp4 or udp6 IPCP in the created state.
func New(name string, typ ipcp.Type, host ipcp.Host, log *slog.Logger) *IPCP {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &IPCP{name: name, typ: typ, log: log, done: make(chan struct{}), peers: make(map[string]string)}
	p.Core = shim.New(shim.Config[netip.AddrPort]{Name: name, Type: typ, Host: host, Log: log,
		AppendAddr: func(b []byte, a netip.AddrPort) []byte { b, _ = a.AppendBinary(b); return b },
		// Limits count a host, whatever port it sends from.
		AppendSource: func(b []byte, a netip.AddrPort) []byte { b, _ = a.Addr().AppendBinary(b); return b },
	}, p)
	return p
}

// Info implements ipcp.IPCP.
func (p *IPCP) Info() ipcp.Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	info := ipcp.Info{Name: p.name, Type: p.typ, Layer: p.layer, State: ipcp.StateCreated, Hash: p.Hash()}
	if p.Running() {
		info.State = ipcp.StateBootstrapped
		info.Flows = p.Flows()
		info.Detail = p.addr.String()
		info.Counters = p.Counters()
	}
	return info
}

// options are the bootstrap keys of the udp types.
type options struct {
	ip        netip.Addr
	port      uint16
	keepalive time.Duration
	dead      time.Duration
	peers     map[string]string // name to host:port, as the schema writes them
}

// parse checks the options against the type's table in stack/schema, as
// irm and irmd.conf do, and reads them.
func (p *IPCP) parse(opts map[string]string) (options, error) {
	vals, err := schema.Lookup(string(p.typ)).Parse(opts)
	if err != nil {
		return options{}, ctrl.Errorf(ctrl.CodeInvalid, "ipcp %s: %v", p.name, err)
	}
	if _, ok := vals["dns"]; ok {
		return options{}, ctrl.Errorf(ctrl.CodeNotSupported, "ipcp %s: dns (dynamic DNS updates) is not supported yet; names resolve through the system resolver", p.name)
	}
	// The schema checked the numbers' ranges and wrote them in decimal.
	port, _ := strconv.ParseUint(vals["port"], 10, 16)
	keepalive, _ := strconv.ParseUint(vals["keepalive"], 10, 32)
	dead, _ := strconv.ParseUint(vals["silence"], 10, 32)
	o := options{
		ip:        netip.MustParseAddr(vals["ip"]),
		port:      uint16(port),
		keepalive: time.Duration(keepalive) * time.Second,
		dead:      time.Duration(dead) * time.Second,
		peers:     make(map[string]string),
	}
	for k, v := range vals {
		if name, ok := strings.CutPrefix(k, "peer."); ok {
			o.peers[name] = v
		}
	}
	return o, nil
}

func family(t ipcp.Type) string {
	if t == ipcp.UDP6 {
		return "IPv6"
	}
	return "IPv4"
}

// Bootstrap implements ipcp.IPCP: it binds the layer's socket.
func (p *IPCP) Bootstrap(_ context.Context, layer string, opts map[string]string) error {
	o, err := p.parse(opts)
	if err != nil {
		return err
	}

	if p.Running() {
		return ctrl.Errorf(ctrl.CodeExists, "ipcp %s is already in layer %s", p.name, p.layer)
	}
	network, mtu := "udp4", mtu4
	if p.typ == ipcp.UDP6 {
		network, mtu = "udp6", mtu6
	}
	laddr := netip.AddrPortFrom(o.ip, o.port)
	c, err := listen(network, laddr, mtu)
	if err != nil {
		return ctrl.Errorf(ctrl.CodeInvalid, "ipcp %s: cannot bind %v: %v", p.name, laddr, err)
	}
	p.mu.Lock()
	p.layer, p.addr, p.peers = layer, laddr, o.peers
	p.mu.Unlock()
	p.SetKeepalive(o.keepalive, o.dead)
	p.Start(c, p.resolveName, ipcp.DefaultHash)
	go p.routineLink(o.ip, p.done)
	return nil
}

// Close implements ipcp.IPCP.
func (p *IPCP) Close() error {
	p.mu.Lock()
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	p.mu.Unlock()
	return p.Core.Close()
}

// resolveName finds the address of the IPCP answering for name: a static
// peer first (its host name resolved now, so a peer whose address changes
// is found at its new one), then the system resolver, at the layer's port.
func (p *IPCP) resolveName(ctx context.Context, name string, _ []byte) (netip.AddrPort, error) {
	p.mu.Lock()
	ep, peer := p.peers[name]
	port := p.addr.Port()
	p.mu.Unlock()
	host := name
	if peer {
		if ap, err := netip.ParseAddrPort(ep); err == nil {
			return ap, nil
		}
		h, ps, err := net.SplitHostPort(ep)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("peer %s at %q: %v", name, ep, err)
		}
		n, _ := strconv.ParseUint(ps, 10, 16)
		host, port = h, uint16(n)
	} else if a, err := netip.ParseAddr(name); err == nil {
		return netip.AddrPortFrom(a, port), familyCheck(p.typ == ipcp.UDP6, a)
	}
	network := "ip4"
	if p.typ == ipcp.UDP6 {
		network = "ip6"
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, network, host)
	if err != nil || len(addrs) == 0 {
		return netip.AddrPort{}, fmt.Errorf("no %s address for %q", family(p.typ), host)
	}
	if peer { // the administrator named the host: no route check
		return netip.AddrPortFrom(addrs[0].Unmap(), port), nil
	}
	for _, a := range addrs {
		if p.routesVia(a.Unmap()) {
			return netip.AddrPortFrom(a.Unmap(), port), nil
		}
	}
	return netip.AddrPort{}, fmt.Errorf("%q is at %v, which this host does not reach from %v", name, addrs[0].Unmap(), p.bound())
}

func (p *IPCP) bound() netip.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr.Addr()
}

// routesVia reports whether the host's routing sends packets for dst from
// the address this IPCP is bound to. With two UDP layers on a host (one per
// link), a name the resolver knows is reached through only one of them;
// the others must not claim it. An IPCP bound to the wildcard address
// reaches everything. No packet is sent: connecting a UDP socket only asks
// the kernel for the route.
func (p *IPCP) routesVia(dst netip.Addr) bool {
	src := p.bound()
	if src.IsUnspecified() {
		return true
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 9)))
	if err != nil {
		return false
	}
	defer c.Close()
	local := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	return local == src || dst == src
}
