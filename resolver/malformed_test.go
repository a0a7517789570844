package resolver_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"o7s.dev/ouroboros/resolver"
)

// malformed are messages the bridge must answer with FORMERR (their
// header reads) or drop, with the answer wanted.
var malformed = []struct {
	name    string
	msg     []byte
	formerr bool // else: dropped
}{
	{"short header", []byte{0x12, 0x34, 0x01}, false},
	{"question cut off", []byte{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 3, 'w', 'e'}, true},
	{"two questions", twoQuestions(), true},
	{"label pointer loop", []byte{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1}, true},
	{"oversized name", oversized(), true},
	{"a response", func() []byte {
		m := new(dns.Msg).SetQuestion("x.ouro.", dns.TypeA)
		m.Response = true
		b, _ := m.Pack()
		return b
	}(), false},
}

func twoQuestions() []byte {
	m := new(dns.Msg).SetQuestion("a.ouro.", dns.TypeA)
	m.Question = append(m.Question, dns.Question{Name: "b.ouro.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
	m.Id = 0x1234
	b, err := m.Pack()
	if err != nil {
		panic(err)
	}
	return b
}

// oversized is a 5000-byte datagram: a question whose labels run past
// what a name may hold and past what the bridge reads.
func oversized() []byte {
	b := []byte{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0}
	for len(b) < 5000 {
		b = append(b, 63)
		b = append(b, strings.Repeat("a", 63)...)
	}
	return b
}

// TestMalformedUDP: each malformed datagram gets FORMERR with its ID or
// nothing, is counted, and the bridge answers the next query.
func TestMalformedUDP(t *testing.T) {
	b := startBridge(t, nil)
	b.names.Add("web", webV4)
	c := dialFrom(t, b.addr, loopback)
	for i, tt := range malformed {
		send(t, c, tt.msg)
		probe := uint16(0x4000 + i)
		send(t, c, query(t, probe, "web.ouro."))
		// Handlers run concurrently: the replies come in any order.
		var formerr, answer *dns.Msg
		for range map[bool]int{true: 2, false: 1}[tt.formerr] {
			switch r := recv(t, c); {
			case r == nil:
				t.Fatalf("%s: a reply is missing (FORMERR %v, answer %v)", tt.name, formerr, answer)
			case r.Id == probe:
				answer = r
			default:
				formerr = r
			}
		}
		if tt.formerr && (formerr == nil || formerr.Id != 0x1234 || formerr.Rcode != dns.RcodeFormatError) {
			t.Fatalf("%s: got %v, want FORMERR with ID 0x1234", tt.name, formerr)
		}
		if answer == nil || answer.Rcode != dns.RcodeSuccess {
			t.Fatalf("%s: got %v, want the answer to query %#x", tt.name, answer, probe)
		}
		if r := recvWithin(c, 50*time.Millisecond); r != nil {
			t.Fatalf("%s: one reply too many: %v", tt.name, r)
		}
	}
	if st := b.Stats(); st.FormErr != uint64(len(malformed)) {
		t.Errorf("stats %+v, want %d formerr", st, len(malformed))
	}
}

// TestMalformedTCP: the same over TCP, on one connection.
func TestMalformedTCP(t *testing.T) {
	b := startBridge(t, nil)
	b.names.Add("web", webV4)
	c, err := net.Dial("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, tt := range malformed {
		if len(tt.msg) > 4096 || !tt.formerr {
			continue // dropped over UDP; over TCP miekg reads whole messages
		}
		sendTCP(t, c, tt.msg)
		r := recvTCP(t, c)
		if r == nil || r.Id != 0x1234 || r.Rcode != dns.RcodeFormatError {
			t.Fatalf("%s: got %v, want FORMERR with ID 0x1234", tt.name, r)
		}
		sendTCP(t, c, query(t, uint16(i), "web.ouro."))
		if r := recvTCP(t, c); r == nil || r.Rcode != dns.RcodeSuccess {
			t.Fatalf("%s: then got %v, want an answer", tt.name, r)
		}
	}
}

func sendTCP(t *testing.T, c net.Conn, m []byte) {
	t.Helper()
	send(t, c, binary.BigEndian.AppendUint16(nil, uint16(len(m))))
	send(t, c, m)
}

func recvTCP(t *testing.T, c net.Conn) *dns.Msg {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	var n uint16
	if err := binary.Read(c, binary.BigEndian, &n); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, n)
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	m := new(dns.Msg)
	if err := m.Unpack(buf); err != nil {
		t.Fatal(err)
	}
	return m
}

// FuzzHandler feeds arbitrary bytes to the bridge as UDP datagrams (the
// whole path: screen, miekg's parse, the handler) and, where they parse,
// to the handler alone with a fake UDP and TCP client: nothing panics,
// every query gets one reply with its ID that fits the client's buffer,
// and the bridge answers a probe after each.
func FuzzHandler(f *testing.F) {
	for _, tt := range malformed {
		f.Add(tt.msg)
	}
	for _, q := range []struct {
		name  string
		qtype uint16
		edns  bool
	}{
		{"web.ouro.", dns.TypeA, false}, {"web.ouro.", dns.TypeAAAA, true}, {"nope.ouro.", dns.TypeMX, false},
		{"ouro.", dns.TypeANY, true}, {"ns.ouro.", dns.TypeA, false}, {"5.0.2.10.in-addr.arpa.", dns.TypePTR, false},
		{"big.example.", dns.TypeA, false}, {"www.example.", dns.TypeA, true},
	} {
		m := new(dns.Msg).SetQuestion(q.name, q.qtype)
		if q.edns {
			m.SetEdns0(1232, true)
		}
		b, _ := m.Pack()
		f.Add(b)
	}
	up := startUpstream(f)
	b := startBridge(f, func(c *resolver.Config) {
		c.Upstream = []netip.AddrPort{up.addr}
		c.Rate = 1 << 30
		c.LookupTimeout = 100 * time.Millisecond
	})
	b.names.Add("web", webV4, webV6)
	h := resolver.HandlerOf(b.Server)
	to, err := net.ResolveUDPAddr("udp", b.addr)
	if err != nil {
		f.Fatal(err)
	}
	c, err := net.DialUDP("udp", nil, to)
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	probe := new(dns.Msg).SetQuestion("web.ouro.", dns.TypeA)
	probe.Id = 0xfffe
	probeBytes, _ := probe.Pack()
	buf := make([]byte, 65535)

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 65535 {
			return
		}
		// The datagram path, then a probe: its answer comes after the
		// datagram was read (one socket, read in order).
		c.Write(data)
		c.Write(probeBytes)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("no answer to the probe after a datagram: %v", err)
			}
			var r dns.Msg
			if r.Unpack(buf[:n]) == nil && r.Id == probe.Id && len(r.Question) == 1 && r.Question[0].Name == "web.ouro." && len(r.Answer) == 1 {
				break
			}
		}
		// The handler alone.
		var req dns.Msg
		if req.Unpack(data) != nil {
			return
		}
		for _, tcp := range []bool{false, true} {
			w := &fakeWriter{tcp: tcp}
			h.ServeDNS(w, req.Copy())
			if req.Response {
				if len(w.out) != 0 {
					t.Fatalf("answered a response: %v", w.out)
				}
				continue
			}
			if len(w.out) != 1 {
				t.Fatalf("%d replies to a query, want 1", len(w.out))
			}
			var r dns.Msg
			if err := r.Unpack(w.out[0]); err != nil {
				t.Fatalf("reply does not parse: %v", err)
			}
			if r.Id != req.Id || !r.Response {
				t.Fatalf("reply ID %d response %v to query %d", r.Id, r.Response, req.Id)
			}
			size := dns.MinMsgSize
			if opt := req.IsEdns0(); opt != nil {
				size = max(size, int(opt.UDPSize()))
			}
			if !tcp && len(w.out[0]) > size {
				t.Fatalf("UDP reply of %d bytes to a client of %d", len(w.out[0]), size)
			}
		}
	})
}

// fakeWriter is a dns.ResponseWriter that keeps what is written.
type fakeWriter struct {
	tcp bool
	out [][]byte
}

func (w *fakeWriter) LocalAddr() net.Addr { return w.addr(53) }
func (w *fakeWriter) RemoteAddr() net.Addr {
	return w.addr(40000)
}

func (w *fakeWriter) addr(port uint16) net.Addr {
	ap := netip.AddrPortFrom(loopback, port)
	if w.tcp {
		return net.TCPAddrFromAddrPort(ap)
	}
	return net.UDPAddrFromAddrPort(ap)
}

func (w *fakeWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func (w *fakeWriter) Write(b []byte) (int, error) {
	w.out = append(w.out, bytes.Clone(b))
	return len(b), nil
}

func (w *fakeWriter) Close() error        { return nil }
func (w *fakeWriter) TsigStatus() error   { return nil }
func (w *fakeWriter) TsigTimersOnly(bool) {}
func (w *fakeWriter) Hijack()             {}
