package irm

import (
	"context"
	"fmt"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
)

// TestSourceKey checks that a UDP source is one source whatever its port,
// and that sources of different IPCPs differ.
func TestSourceKey(t *testing.T) {
	for _, tc := range []struct{ via, src, want string }{
		{"udp", "192.0.2.1:3435", "192.0.2.1 via udp"},
		{"udp", "192.0.2.1:40000", "192.0.2.1 via udp"},
		{"udp6", "[2001:db8::1]:3435", "2001:db8::1 via udp6"},
		{"eth", "02:00:00:00:00:01", "02:00:00:00:00:01 via eth"},
		{"uc", "address 7", "address 7 via uc"},
		{"lo", "local", "local via lo"},
	} {
		if got := sourceKey(tc.via, tc.src); got != tc.want {
			t.Errorf("sourceKey(%q, %q) = %q, want %q", tc.via, tc.src, got, tc.want)
		}
	}
}

// TestAdmissionRates checks the token buckets: a source beyond its rate
// is refused, others are not until the host's rate is spent, and both
// refill with time; a refusal charges neither bucket.
func TestAdmissionRates(t *testing.T) {
	a := newAdmission(Limits{KEXRate: 8, KEXRatePerSource: 5}, nil)
	now := time.Unix(1000, 0)
	for i := range 5 {
		if err := a.allowKEX("a", true, now); err != nil {
			t.Fatalf("exchange %d of a: %v", i, err)
		}
	}
	wantCode(t, a.allowKEX("a", true, now), ctrl.CodeNotAllowed, "kex_rate_per_source")
	for i := range 3 {
		if err := a.allowKEX("b", true, now); err != nil {
			t.Fatalf("exchange %d of b while a is over its rate: %v", i, err)
		}
	}
	wantCode(t, a.allowKEX("c", true, now), ctrl.CodeNotAllowed, "kex_rate in")
	now = now.Add(time.Second)
	for _, src := range []string{"a", "c"} {
		if err := a.allowKEX(src, true, now); err != nil {
			t.Fatalf("%s a second later: %v", src, err)
		}
	}
}

// TestAdmissionWaiting checks the bound on one source's flows waiting for
// an acceptor: beyond it the source is refused (busy), others are not,
// and a flow handed to a process or failed makes room.
func TestAdmissionWaiting(t *testing.T) {
	a := newAdmission(Limits{}, nil)
	var waiting []*ticket
	for i := range maxWaitingPerSource {
		tk, err := a.reserve("srv", "s1", true)
		if err != nil {
			t.Fatalf("flow %d: %v", i, err)
		}
		waiting = append(waiting, tk)
	}
	_, err := a.reserve("srv", "s1", true)
	wantCode(t, err, ctrl.CodeNotAllowed, "waiting for its server to accept them")
	if c := causeOf(err, ""); c != causeBusy {
		t.Errorf("refused for %q, want %q", c, causeBusy)
	}
	if _, err := a.reserve("srv", "s2", true); err != nil {
		t.Fatalf("another source refused while one has its flows waiting: %v", err)
	}
	if _, err := a.reserve("srv", "local", false); err != nil {
		t.Fatalf("a local flow refused: %v", err)
	}
	waiting[0].handed()
	waiting[1].release()
	for range 2 {
		if _, err := a.reserve("srv", "s1", true); err != nil {
			t.Fatalf("after two flows stopped waiting: %v", err)
		}
	}
	waiting[0].release() // handed, then ended: counted once
	if n := a.waiting[nameSource{"srv", "s1"}]; n != maxWaitingPerSource {
		t.Errorf("%d flows of s1 waiting, want %d", n, maxWaitingPerSource)
	}
}

// TestAdmissionWaitingPerName checks the bound on the flows to one name
// waiting for an acceptor from all sources together.
func TestAdmissionWaitingPerName(t *testing.T) {
	a := newAdmission(Limits{}, nil)
	for i := range maxWaitingPerName {
		if _, err := a.reserve("srv", fmt.Sprint("s", i%16), true); err != nil {
			t.Fatalf("flow %d: %v", i, err)
		}
	}
	_, err := a.reserve("srv", "another", true)
	wantCode(t, err, ctrl.CodeNotAllowed, fmt.Sprintf("at most %d: try again later", maxWaitingPerName))
	if _, err := a.reserve("other", "another", true); err != nil {
		t.Fatalf("another name refused: %v", err)
	}
}

// TestArrivedGraceBounded checks that requests for a name nothing is bound
// to wait for a binding only maxGracePerName at a time: the next is
// refused at once, as nothing takes its flow.
func TestArrivedGraceBounded(t *testing.T) {
	m, fake := fakes(t)
	m.cfg.BindGrace = time.Minute
	boot(t, m, "x", "net", "later")
	x := fake("x")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, maxGracePerName)
	for range maxGracePerName {
		go func() {
			_, _, err := m.Arrived(ctx, x, "192.0.2.1:1", ipcp.DefaultHash.Sum("later"), qos.Raw, nil)
			done <- err
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		m.admit.mu.Lock()
		n := m.admit.grace["later"]
		m.admit.mu.Unlock()
		if n == maxGracePerName {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests wait for a binding, want %d", n, maxGracePerName)
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	_, _, err := m.Arrived(context.Background(), x, "192.0.2.2:1", ipcp.DefaultHash.Sum("later"), qos.Raw, nil)
	wantCode(t, err, ctrl.CodeUnreachable, "no process accepts flows")
	if d := time.Since(start); d > time.Second {
		t.Errorf("the request over the bound waited %v", d)
	}
	cancel()
	for range maxGracePerName {
		wantCode(t, <-done, ctrl.CodeTimeout, "in time")
	}
}

// TestAdmissionRateLocal checks that flows through the local IPCP, whose
// requesters are all "local", have no source's rate but a host's rate of
// their own: spending it leaves the network's alone, and the other way
// round.
func TestAdmissionRateLocal(t *testing.T) {
	a := newAdmission(Limits{KEXRate: 8, KEXRatePerSource: 5}, nil)
	now := time.Unix(1000, 0)
	for i := range 8 {
		if err := a.allowKEX("local via lo", false, now); err != nil {
			t.Fatalf("local exchange %d: %v", i, err)
		}
	}
	wantCode(t, a.allowKEX("local via lo", false, now), ctrl.CodeNotAllowed, "kex_rate in")
	for i := range 5 {
		if err := a.allowKEX(fmt.Sprint("n", i), true, now); err != nil {
			t.Fatalf("a network source after the local rate was spent: %v", err)
		}
	}
	b := newAdmission(Limits{KEXRate: 8, KEXRatePerSource: 8}, nil)
	for range 8 {
		b.allowKEX("net", true, now)
	}
	if err := b.allowKEX("local via lo", false, now); err != nil {
		t.Fatalf("a local exchange after the network's rate was spent: %v", err)
	}
}

// TestAdmissionRateSourcesBounded checks that a flood of distinct sources
// does not grow the rate state without bound: beyond maxRateSources they
// share one bucket, and the buckets of idle sources make room.
func TestAdmissionRateSourcesBounded(t *testing.T) {
	a := newAdmission(Limits{KEXRate: 1 << 20, KEXRatePerSource: 1}, nil)
	now := time.Unix(1000, 0)
	for i := range maxRateSources + 100 {
		a.allowKEX(string(rune(i)), true, now)
	}
	if n := len(a.perSrc); n > maxRateSources {
		t.Fatalf("%d sources tracked, at most %d", n, maxRateSources)
	}
	now = now.Add(2 * time.Second) // all refilled: idle
	if err := a.allowKEX("new", true, now); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.perSrc["new"]; !ok {
		t.Fatal("a new source got no bucket of its own once the others were idle")
	}
}

// TestArrivedCaps delivers flows for a name from two sources through a
// layer and checks the per-source and per-name caps: the refusal is the
// requester's error and says what to raise, it is counted for the IPCP,
// another source is not refused, and a flow that ends gives its place
// back.
func TestArrivedCaps(t *testing.T) {
	m, fake := fakes(t)
	m.admit.lim.MaxFlowsPerSource = 2
	boot(t, m, "x", "net", "srv")
	m.SetCryptPolicy("srv", CryptPolicy{Plain: true})
	fakeAccepter(t, m, "srv")
	x := fake("x")
	arrive := func(src string) (ipcp.Port, error) {
		p, _, err := m.Arrived(context.Background(), x, src, ipcp.DefaultHash.Sum("srv"), qos.Raw, nil)
		return p, err
	}
	var held []ipcp.Port
	for _, src := range []string{"192.0.2.1:1000", "192.0.2.1:1001"} {
		p, err := arrive(src)
		if err != nil {
			t.Fatalf("flow from %s: %v", src, err)
		}
		held = append(held, p)
	}
	_, err := arrive("192.0.2.1:1002") // the same host, another port
	wantCode(t, err, ctrl.CodeNotAllowed, `"srv" accepts at most 2 flows from 192.0.2.1 via x`)
	wantCode(t, err, ctrl.CodeNotAllowed, "raise max_flows_per_source in /etc/ouroboros/irmd.conf")
	if _, err := arrive("192.0.2.2:1000"); err != nil {
		t.Fatalf("another source refused while one is at its cap: %v", err)
	}
	if got := refusedCount(t, m, "x", "refused-cap"); got != 1 {
		t.Errorf("refused-cap of x = %d, want 1", got)
	}
	held[0].(*port).discard()
	p, err := arrive("192.0.2.1:1003")
	if err != nil {
		t.Fatalf("after one of its flows ended, the source is still refused: %v", err)
	}
	held[1] = p

	m.SetMaxFlows("srv", 3)
	_, err = arrive("192.0.2.3:1000")
	wantCode(t, err, ctrl.CodeNotAllowed, `"srv" accepts at most 3 flows at once`)
	wantCode(t, err, ctrl.CodeNotAllowed, "raise max_flows in its [name.srv] table")
}

// TestArrivedCheapChecksFirst checks that requests refused by the cheap
// checks (no such name, nobody to take the flow, the rate) never reach the
// key exchange: its replay cache stays empty, and each refusal is counted
// under its cause.
func TestArrivedCheapChecksFirst(t *testing.T) {
	m, fake := fakes(t)
	m.admit.lim.KEXRatePerSource = 1
	boot(t, m, "x", "net", "srv", "nobody")
	fakeAccepter(t, m, "srv")
	req, _, err := m.crypt.request("srv", "")
	if err != nil {
		t.Fatal(err)
	}
	x := fake("x")
	arrive := func(n string, data []byte) error {
		_, _, err := m.Arrived(context.Background(), x, "192.0.2.1:1", ipcp.DefaultHash.Sum(n), qos.Raw, data)
		return err
	}
	wantCode(t, arrive("unregistered", req), ctrl.CodeUnreachable, "no name with this hash")
	wantCode(t, arrive("nobody", req), ctrl.CodeUnreachable, "no process accepts flows")
	if err := arrive("srv", req); err != nil {
		t.Fatalf("the first request: %v", err)
	}
	wantCode(t, arrive("srv", req), ctrl.CodeNotAllowed, "kex_rate_per_source")
	if n := m.crypt.server.ReplayHeld(); n != 1 {
		t.Errorf("the replay cache holds %d ids, want 1: refused requests reached the key exchange", n)
	}
	for cause, want := range map[string]uint64{"refused-unknown-name": 1, "refused-no-acceptor": 1, "refused-rate": 1} {
		if got := refusedCount(t, m, "x", cause); got != want {
			t.Errorf("%s of x = %d, want %d", cause, got, want)
		}
	}
}

// fakeAccepter binds a stand-in process, with pending accepts, to name n;
// its flows are marked as ended by the process before the IRM closes, as
// it has no control connection to be told on.
func fakeAccepter(t *testing.T, m *IRM, n string) {
	t.Helper()
	withAccepters(m, 10, 4242)
	m.mu.Lock()
	nm, _ := m.nameLocked(n, true)
	nm.bindPID(4242, 0)
	m.mu.Unlock()
	t.Cleanup(func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, p := range m.ports {
			p.appGone.Store(true)
		}
	})
}

// refusedCount returns a counter of IPCP via as ListIPCPs shows it.
func refusedCount(t *testing.T, m *IRM, via, cause string) uint64 {
	t.Helper()
	for _, in := range m.ListIPCPs(ctrl.IPCPFilter{}) {
		if in.Name == via {
			return in.Counters[cause]
		}
	}
	t.Fatalf("no IPCP %q listed", via)
	return 0
}
