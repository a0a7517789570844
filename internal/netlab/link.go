package netlab

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"sync"
	"time"
)

// End is one interface of a node: an end of a veth pair.
type End struct {
	Node *Node
	Name string // the interface's name inside Node, like eth0

	peer  *End
	mu    sync.Mutex
	addrs []netip.Prefix
}

// String returns node/interface.
func (e *End) String() string { return e.Node.Name + "/" + e.Name }

// AddAddr adds addresses in CIDR form ("10.1.0.1/24", "fd01::1/64") to
// the interface. IPv6 ones are added without duplicate address detection,
// so they are usable at once.
func (e *End) AddAddr(cidrs ...string) *End {
	t := e.Node.lab.t
	t.Helper()
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			t.Fatalf("netlab: %s: %v", e, err)
		}
		e.addAddr(p)
	}
	return e
}

func (e *End) addAddr(p netip.Prefix) {
	l := e.Node.lab
	l.t.Helper()
	args := []string{"-n", e.Node.NS, "addr", "add", p.String(), "dev", e.Name}
	if p.Addr().Is6() {
		args = append(args, "nodad")
	}
	l.sys("", l.ip, args...)
	e.mu.Lock()
	e.addrs = append(e.addrs, p)
	e.mu.Unlock()
}

// Addrs returns the addresses added with AddAddr or Subnet, in order.
func (e *End) Addrs() []netip.Prefix {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]netip.Prefix(nil), e.addrs...)
}

// IP4 returns the interface's first IPv4 address, or the zero Addr.
func (e *End) IP4() netip.Addr { return e.first(netip.Addr.Is4) }

// IP6 returns the interface's first IPv6 address, or the zero Addr.
func (e *End) IP6() netip.Addr { return e.first(netip.Addr.Is6) }

func (e *End) first(is func(netip.Addr) bool) netip.Addr {
	for _, p := range e.Addrs() {
		if is(p.Addr()) {
			return p.Addr()
		}
	}
	return netip.Addr{}
}

// Up sets the interface up. If its peer is up too, Up returns once the
// kernel has seen the carrier on both: before that a veth drops what it
// is given, which costs IPv6 neighbour discovery a one-second retry.
func (e *End) Up() {
	e.Node.lab.t.Helper()
	e.set("up")
	if admin, _ := e.peer.state(); admin {
		e.waitCarrier()
	}
}

// Down sets the interface down: its routes go, its addresses stay, and the
// peer sees no carrier.
func (e *End) Down() { e.Node.lab.t.Helper(); e.set("down") }

// waitCarrier waits until both ends' operational state is up.
func (e *End) waitCarrier() {
	t := e.Node.lab.t
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, a := e.state()
		_, b := e.peer.state()
		if a == "UP" && b == "UP" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("netlab: %s (%s) and %s (%s) did not come up within 5 s", e, a, e.peer, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// state returns whether the interface is administratively up, and its
// operational state (UP, DOWN, LOWERLAYERDOWN, ...); "?" if it cannot
// be read.
func (e *End) state() (admin bool, oper string) {
	out, err := exec.Command(e.Node.lab.ip, "-n", e.Node.NS, "-j", "link", "show", "dev", e.Name).Output()
	var links []struct {
		Flags     []string `json:"flags"`
		OperState string   `json:"operstate"`
	}
	if err != nil || json.Unmarshal(out, &links) != nil || len(links) != 1 {
		return false, "?"
	}
	return slices.Contains(links[0].Flags, "UP"), links[0].OperState
}

func (e *End) set(state string) {
	l := e.Node.lab
	l.t.Helper()
	l.sys("", l.ip, "-n", e.Node.NS, "link", "set", e.Name, state)
}

// Loss makes the interface drop percent (0 to 100) of the frames it
// receives, at random, whatever their protocol (raw Ethernet included):
// an nftables numgen rule in the netdev ingress hook. Loss(0) removes it.
func (e *End) Loss(percent int) {
	e.Node.lab.t.Helper()
	checkPercent(e.Node.lab.t, percent)
	hook := fmt.Sprintf("hook ingress device %q", e.Name)
	e.Node.nft(lossScript("netdev", "loss_"+e.Name, hook, percent))
}

func checkPercent(t TB, p int) {
	t.Helper()
	if p < 0 || p > 100 {
		t.Fatalf("netlab: loss of %d%%: want 0 to 100", p)
	}
}

// Link is a veth pair between two nodes.
type Link struct {
	A, B *End // A in the first node given to Lab.Link, B in the second
}

// Link joins a and b with a veth pair, both ends up and without
// addresses (see Subnet and End.AddAddr).
func (l *Lab) Link(a, b *Node) *Link {
	l.t.Helper()
	ea := &End{Node: a, Name: a.newIf("eth")}
	eb := &End{Node: b, Name: b.newIf("eth"), peer: ea}
	ea.peer = eb
	l.veth(ea, eb)
	return &Link{A: ea, B: eb}
}

// veth makes a veth pair with its ends directly in their namespaces, so
// that no name is ever taken in the host's, and sets both up.
func (l *Lab) veth(a, b *End) {
	l.t.Helper()
	l.sys("", l.ip, "-n", a.Node.NS, "link", "add", a.Name, "type", "veth",
		"peer", "name", b.Name, "netns", b.Node.NS)
	a.Up()
	b.Up()
}

// Subnet numbers the link's ends in each prefix, which must be a network
// address like "10.1.0.0/24" or "fd01::/64": A gets host 1, B host 2.
func (k *Link) Subnet(prefixes ...string) *Link {
	k.A.Node.lab.t.Helper()
	subnet([]*End{k.A, k.B}, prefixes)
	return k
}

// Up sets both ends up.
func (k *Link) Up() { k.A.Node.lab.t.Helper(); k.A.Up(); k.B.Up() }

// Down sets both ends down.
func (k *Link) Down() { k.A.Node.lab.t.Helper(); k.A.Down(); k.B.Down() }

// Loss makes each end drop percent of the frames it receives (End.Loss),
// so each direction loses percent.
func (k *Link) Loss(percent int) { k.A.Node.lab.t.Helper(); k.A.Loss(percent); k.B.Loss(percent) }

// Switch is a bridge in a node of its own, with one port per attached
// node: a shared Ethernet segment.
type Switch struct {
	Node *Node  // the bridge's namespace; its bridge is br0
	Ends []*End // the attached nodes' interfaces, in the order attached
}

// Switch makes a node holding a bridge and attaches nodes to it. The
// bridge forwards at once (no STP), floods multicast (no snooping) and
// is plain Ethernet: host firewall hooks do not see bridged packets.
func (l *Lab) Switch(name string, nodes ...*Node) *Switch {
	l.t.Helper()
	n := l.Node(name)
	for _, k := range []string{"iptables", "ip6tables", "arptables"} {
		// Present only with br_netfilter loaded; then per namespace.
		if isFile("/proc/sys/net/bridge/bridge-nf-call-" + k) {
			n.Sysctl("net.bridge.bridge-nf-call-"+k, "0")
		}
	}
	l.sys("", l.ip, "-n", n.NS, "link", "add", "br0", "type", "bridge",
		"stp_state", "0", "mcast_snooping", "0")
	l.sys("", l.ip, "-n", n.NS, "link", "set", "br0", "up")
	s := &Switch{Node: n}
	for _, m := range nodes {
		s.Attach(m)
	}
	return s
}

// Attach joins node m to the switch and returns m's new interface, up and
// without addresses.
func (s *Switch) Attach(m *Node) *End {
	l := s.Node.lab
	l.t.Helper()
	port := &End{Node: s.Node, Name: s.Node.newIf("p")}
	e := &End{Node: m, Name: m.newIf("eth"), peer: port}
	port.peer = e
	l.sys("", l.ip, "-n", s.Node.NS, "link", "add", port.Name, "master", "br0", "type", "veth",
		"peer", "name", e.Name, "netns", m.NS)
	port.Up()
	e.Up()
	s.Ends = append(s.Ends, e)
	return e
}

// Subnet numbers the attached nodes' interfaces in each prefix (see
// Link.Subnet): Ends[i] gets host i+1.
func (s *Switch) Subnet(prefixes ...string) *Switch {
	s.Node.lab.t.Helper()
	subnet(s.Ends, prefixes)
	return s
}

// subnet gives ends[i] host i+1 of each prefix.
func subnet(ends []*End, prefixes []string) {
	if len(ends) == 0 {
		return
	}
	t := ends[0].Node.lab.t
	t.Helper()
	for _, s := range prefixes {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			t.Fatalf("netlab: subnet: %v", err)
		}
		if p != p.Masked() {
			t.Fatalf("netlab: subnet %s: want the network address %s", s, p.Masked())
		}
		a := p.Addr()
		for _, e := range ends {
			a = a.Next()
			if !p.Contains(a) {
				t.Fatalf("netlab: subnet %s is too small for %d hosts", s, len(ends))
			}
			e.addAddr(netip.PrefixFrom(a, p.Bits()))
		}
	}
}
