package link

import (
	"net/netip"
	"sync"
	"testing"

	"o7s.dev/ouroboros/overlay/link/linktest"
	"o7s.dev/ouroboros/overlay/pool"
	"o7s.dev/ouroboros/overlay/wire"
)

// lossyFlow loses the first n control messages of type lose written to it,
// as a raw flow may.
type lossyFlow struct {
	Flow
	mu   sync.Mutex
	lose wire.Type
	n    int
}

func (f *lossyFlow) WriteBatch(bufs [][]byte) (int, error) {
	f.mu.Lock()
	if len(bufs) == 1 && f.n > 0 && wire.Classify(bufs[0]) == wire.Control {
		if m, err := wire.Parse(bufs[0]); err == nil && m.Type == f.lose {
			f.n--
			f.mu.Unlock()
			return 1, nil
		}
	}
	f.mu.Unlock()
	return f.Flow.WriteBatch(bufs)
}

// A hello or a grant lost on the flow is sent again: the exchange
// completes, whichever end lost what, and the client gets its address.
func TestExchangeSurvivesLoss(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lossAt string // "client" or "server": whose writes are lost
		lose   wire.Type
	}{
		{"client's hello", "client", wire.Hello},
		{"server's hello", "server", wire.Hello},
		{"server's grant", "server", wire.Grant},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl, err := pool.Open(pool.Config{Prefixes: pfx("10.77.0.128/25")})
			if err != nil {
				t.Fatal(err)
			}
			srv := newNode(t, "office", Config{Addrs: pfx("10.77.0.1/24"), Pool: pl})
			granted := make(chan []netip.Prefix, 4)
			c := newNode(t, "laptop", Config{OnAddrs: func(a []netip.Prefix) { granted <- a }})
			fc, fs := linktest.Pipe(testSDU)
			var cf, sf Flow = fc, fs
			if tc.lossAt == "client" {
				cf = &lossyFlow{Flow: fc, lose: tc.lose, n: 2}
			} else {
				sf = &lossyFlow{Flow: fs, lose: tc.lose, n: 2}
			}
			rc, rs := connectOn(t, c, srv, cf, sf, admitAs(PeerConfig{}), admitAs(PeerConfig{Lease: true}))
			if rc.err != nil || rs.err != nil {
				t.Fatalf("exchange with lost %s: client: %v; server: %v", tc.name, rc.err, rs.err)
			}
			select {
			case a := <-granted:
				if len(a) != 1 || !netip.MustParsePrefix("10.77.0.128/25").Contains(a[0].Addr()) {
					t.Errorf("granted %v", a)
				}
			default:
				t.Error("the client came up without its grant")
			}
		})
	}
}

// A client asks for addresses on a flow the office dialled too: when both
// ends dial, the flow that survives may be the office's.
func TestLeaseOnAcceptedFlow(t *testing.T) {
	pl, err := pool.Open(pool.Config{Prefixes: pfx("10.77.0.128/25")})
	if err != nil {
		t.Fatal(err)
	}
	srv := newNode(t, "gw.office", Config{Addrs: pfx("10.77.0.1/24"), Pool: pl})
	granted := make(chan []netip.Prefix, 4)
	c := newNode(t, "laptop", Config{OnAddrs: func(a []netip.Prefix) { granted <- a }})
	rs, rc := connect(t, srv, c, admitAs(PeerConfig{Lease: true}), admitAs(PeerConfig{}))
	if rs.err != nil || rc.err != nil {
		t.Fatalf("office dialling the laptop: office: %v; laptop: %v", rs.err, rc.err)
	}
	select {
	case a := <-granted:
		if len(a) != 1 || !netip.MustParsePrefix("10.77.0.128/25").Contains(a[0].Addr()) {
			t.Errorf("granted %v", a)
		}
	default:
		t.Error("the laptop accepted the office's flow without an address")
	}
}
