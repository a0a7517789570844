package irm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
)

// fakeLayered is a test double of a layered IPCP (ipcp.Layered and
// ipcp.Acceptor) that records what the IRM asks of it. It stands in for the
// unicast type; as a lower IPCP, it reaches the names registered in it.
type fakeLayered struct {
	name  string
	lower ipcp.Lower

	mu         sync.Mutex
	layer      string
	state      ipcp.State
	regs       map[string]bool // registered hashes
	neighbours []string
	ports      []ipcp.Port // every port it was given
	calls      []string    // "enroll L D", "connect D C Q", "disconnect D C"
	deadline   time.Duration
	err        error                                     // returned by Enroll, Connect, AcceptLower, Alloc
	connected  ipcp.ConnectResult                        // returned by Connect
	onEnroll   func(context.Context, *fakeLayered) error // runs inside Enroll
	lookErr    error                                     // returned by Lookup, if set

	allocs  chan ipcp.Port // ports of flows allocated through it
	accepts chan ipcp.Port // ports of flows handed to it
}

var (
	_ ipcp.Layered  = (*fakeLayered)(nil)
	_ ipcp.Acceptor = (*fakeLayered)(nil)
)

// fakes builds an IRM whose unicast IPCPs are fakeLayered, and returns the
// fakes by name as they are created.
func fakes(t *testing.T) (*IRM, func(name string) *fakeLayered) {
	t.Helper()
	var mu sync.Mutex
	made := map[string]*fakeLayered{}
	m := New(Config{BindGrace: 10 * time.Millisecond, AllocTimeout: 5 * time.Second,
		IPCPFactory: func(n string, typ ipcp.Type, _ ipcp.Host, lower ipcp.Lower) ipcp.IPCP {
			if typ != ipcp.Unicast {
				return nil
			}
			f := &fakeLayered{name: n, lower: lower, state: ipcp.StateCreated, regs: map[string]bool{},
				allocs: make(chan ipcp.Port, 4), accepts: make(chan ipcp.Port, 4)}
			mu.Lock()
			made[n] = f
			mu.Unlock()
			return f
		}})
	t.Cleanup(func() { m.Close() })
	// The fakes carry no allocation data: member flows to the names the
	// tests use go unencrypted, which an open layer allows where the
	// policy says so (membership_test.go runs the key exchange).
	for _, n := range []string{"peer", "net"} {
		m.SetCryptPolicy(n, CryptPolicy{Plain: true})
	}
	return m, func(n string) *fakeLayered {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		f, ok := made[n]
		if !ok {
			t.Fatalf("no fake IPCP %q was created", n)
		}
		return f
	}
}

func (f *fakeLayered) Info() ipcp.Info {
	f.mu.Lock()
	defer f.mu.Unlock()
	return ipcp.Info{Name: f.name, Type: ipcp.Unicast, Layer: f.layer, State: f.state, Hash: ipcp.DefaultHash,
		Neighbours: slices.Clone(f.neighbours)}
}

func (f *fakeLayered) Bootstrap(_ context.Context, layer string, _ map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.layer, f.state = layer, ipcp.StateBootstrapped
	return nil
}

func (f *fakeLayered) Register(hash []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.regs[string(hash)] = true
	return nil
}

func (f *fakeLayered) Unregister(hash []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.regs, string(hash))
	return nil
}

func (f *fakeLayered) Reachable(_ context.Context, _ string, hash []byte) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.regs[string(hash)]
}

// Lookup is a directory's: the registered names, ipcp.ErrNoName for the
// others, or lookErr when the directory cannot say.
func (f *fakeLayered) Lookup(ctx context.Context, name string, hash []byte) error {
	f.mu.Lock()
	err := f.lookErr
	f.mu.Unlock()
	switch {
	case err != nil:
		return err
	case f.Reachable(ctx, name, hash):
		return nil
	}
	return fmt.Errorf("%q: %w", name, ipcp.ErrNoName)
}

// TestFindIPCPLooker: a name a layer's directory says it lacks is no-name
// (the DNS bridge answers NXDOMAIN); a lookup that could not say is
// unreachable with its cause (SERVFAIL: the name may exist).
func TestFindIPCPLooker(t *testing.T) {
	m, fake := fakes(t)
	boot(t, m, "a", "net", "peer")
	if ip, _, err := m.findIPCP(context.Background(), "peer", "net"); err != nil || ip != fake("a") {
		t.Fatalf("findIPCP(peer) = %v, %v; want a", ip, err)
	}
	_, _, err := m.findIPCP(context.Background(), "other", "net")
	wantCode(t, err, ctrl.CodeNoName, `"other" is not registered in layer net`)
	fake("a").mu.Lock()
	fake("a").lookErr = errors.New("looking \"other\" up in layer net: no answer in time")
	fake("a").mu.Unlock()
	_, _, err = m.findIPCP(context.Background(), "other", "net")
	wantCode(t, err, ctrl.CodeUnreachable, "no answer in time")
	_, _, err = m.findIPCP(context.Background(), "other", "")
	wantCode(t, err, ctrl.CodeUnreachable, "no answer in time")
}

func (f *fakeLayered) Alloc(_ context.Context, _ string, _ []byte, _ qos.Spec, _ []byte, p ipcp.Port) ([]byte, error) {
	f.mu.Lock()
	f.ports = append(f.ports, p)
	err := f.err
	f.mu.Unlock()
	if err == nil {
		f.allocs <- p
	}
	return nil, err
}

func (f *fakeLayered) MaxSDU() int { return 1400 }

func (f *fakeLayered) Close() error {
	f.mu.Lock()
	ports := f.ports
	f.ports = nil
	f.mu.Unlock()
	for _, p := range ports {
		p.Down(ctrl.ReasonDown)
	}
	return nil
}

func (f *fakeLayered) record(call string, ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	if d, ok := ctx.Deadline(); ok {
		f.deadline = time.Until(d)
	}
	return f.err
}

func (f *fakeLayered) Enroll(ctx context.Context, layer, dst string) error {
	if err := f.record("enroll "+layer+" "+dst, ctx); err != nil {
		return err
	}
	if f.onEnroll != nil {
		if err := f.onEnroll(ctx, f); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.layer, f.state = layer, ipcp.StateEnrolled
	if layer == "" {
		f.layer = "learned"
	}
	return nil
}

func (f *fakeLayered) Connect(ctx context.Context, dst, component string, q qos.Spec, persist bool) (ipcp.ConnectResult, error) {
	call := "connect " + dst + " " + component + " " + q.String()
	if persist {
		call += " persist"
	}
	err := f.record(call, ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connected, err
}

func (f *fakeLayered) Disconnect(ctx context.Context, dst, component string) error {
	return f.record("disconnect "+dst+" "+component, ctx)
}

func (f *fakeLayered) AcceptLower(_ string, _ qos.Spec, p ipcp.Port) error {
	f.mu.Lock()
	f.ports = append(f.ports, p)
	err := f.err
	f.mu.Unlock()
	if err == nil {
		f.accepts <- p
	}
	return err
}

func (f *fakeLayered) lastCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// boot bootstraps a fake unicast IPCP n in layer and registers the names.
func boot(t *testing.T, m *IRM, n, layer string, names ...string) {
	t.Helper()
	if err := m.Bootstrap(context.Background(), ctrl.IPCPBootstrap{Name: n, Layer: layer, Type: "unicast"}); err != nil {
		t.Fatal(err)
	}
	for _, nm := range names {
		if err := m.RegisterName(ctrl.NameRegister{Name: nm, IPCPs: []string{n}}); err != nil {
			t.Fatal(err)
		}
	}
}

func recv(t *testing.T, c <-chan ipcp.Port) ipcp.Port {
	t.Helper()
	select {
	case p := <-c:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no port arrived")
		return nil
	}
}

// exchange checks that SDUs flow both ways between two ends of a flow.
func exchange(t *testing.T, a, b ipcp.Port) {
	t.Helper()
	send := func(from, to ipcp.Port, msg string) {
		t.Helper()
		if n, err := from.WriteBatch([][]byte{[]byte(msg)}); n != 1 || err != nil {
			t.Fatalf("write %q: %d, %v", msg, n, err)
		}
		buf := make([]byte, 64)
		lens := []int{0}
		if n, err := to.ReadBatch([][]byte{buf}, lens); n != 1 || err != nil || string(buf[:lens[0]]) != msg {
			t.Fatalf("read: %d %q, %v; want %q", n, buf[:lens[0]], err, msg)
		}
	}
	send(a, b, "ping")
	send(b, a, "pong")
}

// wantEOF checks that the end reads io.EOF: the other end went down.
// arrivedPlain delivers a flow for name n, without a key exchange, that
// arrived through from.
func arrivedPlain(m *IRM, from ipcp.IPCP, n string, q qos.Spec) (ipcp.Port, error) {
	p, _, err := m.Arrived(context.Background(), from, "test", ipcp.DefaultHash.Sum(n), q, nil)
	return p, err
}

func wantEOF(t *testing.T, p ipcp.Port) {
	t.Helper()
	if n, err := p.ReadBatch([][]byte{make([]byte, 64)}, []int{0}); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("read after down: %d, %v; want io.EOF", n, err)
	}
}

func TestAllocLowerSkipsItselfAndItsLayer(t *testing.T) {
	m, fake := fakes(t)
	// In query order (same type, by name): itself, a member of its own
	// layer, an IPCP in no layer yet, then one of a lower layer; all but
	// the third reach "peer".
	boot(t, m, "a", "net", "peer")
	boot(t, m, "b", "net", "peer")
	if err := m.CreateIPCP("c", "unicast"); err != nil {
		t.Fatal(err)
	}
	boot(t, m, "d", "low", "peer")

	up, err := m.AllocLower(context.Background(), fake("a"), "peer", qos.Voice)
	if err != nil {
		t.Fatal(err)
	}
	down := recv(t, fake("d").allocs)
	if len(fake("b").allocs) != 0 {
		t.Fatal("the flow went through a member of the IPCP's own layer")
	}
	exchange(t, up, down)

	flows := m.ListFlows()
	if len(flows) != 1 {
		t.Fatalf("flow list: %+v", flows)
	}
	if f := flows[0]; f.ID != up.ID() || f.Owner != "a" || f.IPCP != "d" || f.Layer != "low" || f.PID != 0 ||
		f.Side != sideAlloc || f.Name != "peer" || f.QoS != qos.Voice || f.SentPkts != 1 || f.RecvPkts != 1 || f.SentBytes != 4 {
		t.Fatalf("flow row: %+v", f)
	}

	// Either end going down ends the flow for the other and unlists it.
	down.Down(ctrl.ReasonPeer)
	wantEOF(t, up)
	if n, err := up.WriteBatch([][]byte{[]byte("x")}); n != 0 || err == nil {
		t.Fatalf("write after down: %d, %v", n, err)
	}
	up.Down(ctrl.ReasonDown)
	if flows := m.ListFlows(); len(flows) != 0 {
		t.Fatalf("flow list after down: %+v", flows)
	}
}

func TestAllocLowerUnreachable(t *testing.T) {
	m, fake := fakes(t)
	boot(t, m, "a", "net", "peer")
	boot(t, m, "b", "net", "peer")
	_, err := m.AllocLower(context.Background(), fake("a"), "peer", qos.Raw)
	wantCode(t, err, ctrl.CodeUnreachable, `no lower layer reaches "peer": register it in a layer below on the host where it runs (irm name register peer layer LAYER there)`)
	_, err = m.AllocLower(context.Background(), fake("a"), "", qos.Raw)
	wantCode(t, err, ctrl.CodeInvalid, "empty")

	// The lower IPCP refusing the flow: its port is released, nothing listed.
	boot(t, m, "d", "low", "peer")
	fake("d").err = ctrl.Errorf(ctrl.CodeUnreachable, "peer refused")
	_, err = m.AllocLower(context.Background(), fake("a"), "peer", qos.Raw)
	wantCode(t, err, ctrl.CodeUnreachable, "peer refused")
	port := fake("d").ports[0].(*carrierEnd)
	if _, down := port.Reason(); !down {
		t.Fatal("the refused flow's pipe is not down")
	}
	if flows := m.ListFlows(); len(flows) != 0 {
		t.Fatalf("flow list: %+v", flows)
	}
}

func TestArrivedGoesToBoundIPCP(t *testing.T) {
	m, fake := fakes(t)
	bootLocal(t, m, "lo", "local")
	if err := m.RegisterName(ctrl.NameRegister{Name: "net", IPCPs: []string{"lo"}}); err != nil {
		t.Fatal(err)
	}
	boot(t, m, "u", "net")
	if err := m.BindIPCP(ctrl.BindIPCP{IPCP: "u", Name: "net"}); err != nil {
		t.Fatal(err)
	}
	// A process accepting for the name too: the IPCP wins.
	pr := withAccepters(m, 1, os.Getpid())[os.Getpid()]
	if err := m.BindProcess(ctrl.BindProcess{PID: os.Getpid(), Name: "net"}); err != nil {
		t.Fatal(err)
	}
	lo := m.ipcps["lo"].ipcp

	down, err := arrivedPlain(m, lo, "net", qos.Best)
	if err != nil {
		t.Fatal(err)
	}
	up := recv(t, fake("u").accepts)
	if len(pr.accepts) != 1 {
		t.Fatal("the flow went to the accepting process, not to the bound IPCP")
	}
	exchange(t, down, up)
	flows := m.ListFlows()
	if len(flows) != 1 || flows[0].Owner != "u" || flows[0].IPCP != "lo" || flows[0].Side != sideAccept || flows[0].Layer != "local" {
		t.Fatalf("flow list: %+v", flows)
	}
	up.Down(ctrl.ReasonPeer)
	wantEOF(t, down)
	if flows := m.ListFlows(); len(flows) != 0 {
		t.Fatalf("flow list after down: %+v", flows)
	}

	// The IPCP refusing: the error is the flow's answer, the pipe is down.
	fake("u").err = ctrl.Errorf(ctrl.CodeNotAllowed, "not now")
	_, err = arrivedPlain(m, lo, "net", qos.Best)
	wantCode(t, err, ctrl.CodeNotAllowed, "not now")
	ports := fake("u").ports
	if _, isDown := ports[len(ports)-1].(*ownerEnd).Reason(); !isDown {
		t.Fatal("the refused flow's pipe is not down")
	}
}

func TestArrivedNotToOwnLayer(t *testing.T) {
	m, fake := fakes(t)
	boot(t, m, "x", "net", "net")
	boot(t, m, "u", "net")
	if err := m.BindIPCP(ctrl.BindIPCP{IPCP: "u", Name: "net"}); err != nil {
		t.Fatal(err)
	}
	// A flow that came through layer net is not handed to a member of net,
	// and no process is bound to take it: it is refused before any key
	// exchange, saying what to bind.
	m.SetCryptPolicy("net", CryptPolicy{})
	_, err := arrivedPlain(m, fake("x"), "net", qos.Raw)
	wantCode(t, err, ctrl.CodeUnreachable, "not bound to it")
	if len(fake("u").accepts) != 0 {
		t.Fatal("a layer ran over itself")
	}
}

func TestBootstrapAutobind(t *testing.T) {
	m, _ := fakes(t)
	if err := m.Bootstrap(context.Background(), ctrl.IPCPBootstrap{Name: "u", Layer: "net", Type: "unicast", Autobind: true}); err != nil {
		t.Fatal(err)
	}
	wantBound(t, m, "u", "u", "net")
}

func wantBound(t *testing.T, m *IRM, ipcpName string, names ...string) {
	t.Helper()
	for _, n := range names {
		l := m.ListNames(n)
		if len(l) == 0 || l[0].Name != n || !slices.Contains(l[0].BoundIPCPs, ipcpName) {
			t.Errorf("name %q: %+v, want it bound to IPCP %s", n, l, ipcpName)
		}
	}
}

func TestEnroll(t *testing.T) {
	m, fake := fakes(t)
	ctx := context.Background()
	if err := m.Enroll(ctx, ctrl.IPCPEnroll{Name: "e", Layer: "net", Autobind: true}); err != nil {
		t.Fatal(err)
	}
	f := fake("e")
	if got := f.lastCalls(); !slices.Equal(got, []string{"enroll net net"}) {
		t.Fatalf("calls %q: want the destination to default to the layer", got)
	}
	if f.deadline <= 0 || f.deadline > layerTimeout {
		t.Errorf("Enroll ran with %v left, want at most %v", f.deadline, layerTimeout)
	}
	wantBound(t, m, "e", "e", "net")

	// A shorter deadline of the caller holds.
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := m.Enroll(short, ctrl.IPCPEnroll{Name: "e2", Dst: "m1", Type: "unicast", Autobind: true}); err != nil {
		t.Fatal(err)
	}
	if got := fake("e2").lastCalls(); !slices.Equal(got, []string{"enroll  m1"}) {
		t.Fatalf("calls %q", got)
	}
	if d := fake("e2").deadline; d > time.Second {
		t.Errorf("Enroll ran with %v left, want at most 1s", d)
	}
	wantBound(t, m, "e2", "e2", "learned") // the layer the IPCP reports

	// Failure: the error as the IPCP gave it; the IPCP stays, to retry.
	if err := m.CreateIPCP("e3", "unicast"); err != nil {
		t.Fatal(err)
	}
	fake("e3").err = ctrl.Errorf(ctrl.CodeUnreachable, "nobody home")
	wantCode(t, m.Enroll(ctx, ctrl.IPCPEnroll{Name: "e3", Layer: "net", Autobind: true}), ctrl.CodeUnreachable, "nobody home")
	if l := m.ListNames("e3"); len(l) != 0 {
		t.Errorf("a failed enrolment bound names: %+v", l)
	}

	bootLocal(t, m, "lo", "local")
	wantCode(t, m.Enroll(ctx, ctrl.IPCPEnroll{Name: "lo", Layer: "net"}), ctrl.CodeInvalid, `enroll applies to unicast and broadcast IPCPs; "lo" is a local IPCP`)
	wantCode(t, m.Enroll(ctx, ctrl.IPCPEnroll{Name: "e", Layer: "net", Type: "broadcast"}), ctrl.CodeInvalid, "is of type unicast, not broadcast")
	wantCode(t, m.Enroll(ctx, ctrl.IPCPEnroll{Name: "b", Layer: "net", Type: "broadcast"}), ctrl.CodeNotSupported, "broadcast is not supported yet")
	wantCode(t, m.Enroll(ctx, ctrl.IPCPEnroll{Name: "x"}), ctrl.CodeInvalid, "give the layer to join or the member")
	wantCode(t, m.Enroll(ctx, ctrl.IPCPEnroll{Name: "", Layer: "net"}), ctrl.CodeInvalid, "name is empty")
}

// TestEnrollingIPCPSkipsItsLayer: while an IPCP enrolls, before it reports
// its layer, its flows still skip the layer it joins.
func TestEnrollingIPCPSkipsItsLayer(t *testing.T) {
	m, fake := fakes(t)
	boot(t, m, "a", "net", "net")
	boot(t, m, "z", "low", "net")
	if err := m.CreateIPCP("e", "unicast"); err != nil {
		t.Fatal(err)
	}
	fake("e").onEnroll = func(ctx context.Context, f *fakeLayered) error {
		p, err := f.lower.AllocLower(ctx, f, "net", qos.Raw)
		if err == nil {
			p.Down(ctrl.ReasonDown)
		}
		return err
	}
	if err := m.Enroll(context.Background(), ctrl.IPCPEnroll{Name: "e", Layer: "net"}); err != nil {
		t.Fatal(err)
	}
	if len(fake("a").allocs) != 0 || len(fake("z").allocs) != 1 {
		t.Fatal("the enrolment's flow did not go through the lower layer")
	}
}

func TestConnect(t *testing.T) {
	m, fake := fakes(t)
	ctx := context.Background()
	boot(t, m, "u", "net")
	bootLocal(t, m, "lo", "local")
	for _, c := range []struct {
		req  ctrl.IPCPConnect
		want string
	}{
		{ctrl.IPCPConnect{Name: "u", Dst: "v"}, "connect v  raw"},
		{ctrl.IPCPConnect{Name: "u", Dst: "v", Component: "dt", QoS: "voice"}, "connect v dt voice"},
		{ctrl.IPCPConnect{Name: "u", Dst: "v", Component: "mgmt", QoS: "be"}, "connect v mgmt best"},
	} {
		if rep, err := m.Connect(ctx, c.req); err != nil || rep.Status != ctrl.ConnectUp {
			t.Fatal(rep, err)
		}
		if got := fake("u").lastCalls(); got[len(got)-1] != c.want {
			t.Errorf("%+v: call %q, want %q", c.req, got[len(got)-1], c.want)
		}
	}
	if d := fake("u").deadline; d <= 0 || d > attemptTimeout {
		t.Errorf("Connect ran with %v left", d)
	}
	wantCode(t, second(m.Connect(ctx, ctrl.IPCPConnect{Name: "u", Dst: "v", QoS: "fast"})), ctrl.CodeInvalid, `unknown QoS "fast"`)
	wantCode(t, second(m.Connect(ctx, ctrl.IPCPConnect{Name: "u", Dst: "v", Component: "rib"})), ctrl.CodeInvalid, `unknown component "rib"`)
	wantCode(t, second(m.Connect(ctx, ctrl.IPCPConnect{Name: "u"})), ctrl.CodeInvalid, "neighbour name is empty")
	wantCode(t, second(m.Connect(ctx, ctrl.IPCPConnect{Name: "ghost", Dst: "v"})), ctrl.CodeNotFound, `no IPCP "ghost"`)
	wantCode(t, second(m.Connect(ctx, ctrl.IPCPConnect{Name: "lo", Dst: "v"})), ctrl.CodeInvalid, "connect applies to unicast and broadcast")

	// Disconnect, through the request handler, as irm sends it.
	_, _, err := m.handlers()[ctrl.OpIPCPDisconnect](ctx, &proc{uid: selfUID()}, []byte(`{"name":"u","dst":"v","component":"dt"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := fake("u").lastCalls(); got[len(got)-1] != "disconnect v dt" {
		t.Errorf("calls %q", got)
	}
	fake("u").err = ctrl.Errorf(ctrl.CodeNotFound, "no adjacency")
	wantCode(t, m.Disconnect(ctx, ctrl.IPCPConnect{Name: "u", Dst: "w"}), ctrl.CodeNotFound, "no adjacency")
}

// TestConnectSaysWhatHolds: irmd answers connect with what the IPCP did,
// and a persist connect that is not up yet with the reason.
func TestConnectSaysWhatHolds(t *testing.T) {
	m, fake := fakes(t)
	ctx := context.Background()
	boot(t, m, "u", "net")
	fake("u").connected = ipcp.ConnectResult{Already: true}
	if rep, err := m.Connect(ctx, ctrl.IPCPConnect{Name: "u", Dst: "v"}); err != nil || rep.Status != ctrl.ConnectAlready {
		t.Fatalf("already connected: %+v, %v", rep, err)
	}
	fake("u").connected = ipcp.ConnectResult{Pending: errors.New("dt to v: unreachable: no answer")}
	rep, err := m.Connect(ctx, ctrl.IPCPConnect{Name: "u", Dst: "v", Persist: true})
	if err != nil || rep.Status != ctrl.ConnectRetrying || rep.Reason != "dt to v: unreachable: no answer" {
		t.Fatalf("persist, not up: %+v, %v", rep, err)
	}
	if got := fake("u").lastCalls(); got[len(got)-1] != "connect v  raw persist" {
		t.Errorf("calls %q: persist did not reach the IPCP", got)
	}
	// Through the request handler, as irm sends it: the reply is the body.
	body, _, err := m.handlers()[ctrl.OpIPCPConnect](ctx, &proc{uid: selfUID()}, []byte(`{"name":"u","dst":"v","persist":true}`))
	if r, ok := body.(ctrl.IPCPConnectReply); err != nil || !ok || r.Status != ctrl.ConnectRetrying {
		t.Fatalf("handler: %#v, %v", body, err)
	}
}

// TestEnrolmentShownUntilDone: a failed enrolment is listed as failed,
// then retrying once a retry is due, and no longer once it succeeds.
func TestEnrolmentShownUntilDone(t *testing.T) {
	m, fake := fakes(t)
	ctx := context.Background()
	if err := m.CreateIPCP("u", "unicast"); err != nil {
		t.Fatal(err)
	}
	fake("u").err = ctrl.Errorf(ctrl.CodeUnreachable, "unreachable: no answer")
	if err := m.Enroll(ctx, ctrl.IPCPEnroll{Name: "u", Layer: "net"}); err == nil {
		t.Fatal("enrol succeeded")
	}
	en := m.ListIPCPs(ctrl.IPCPFilter{Name: "u"})[0].Enrolment
	if en == nil || en.State != ctrl.EnrolFailed || en.Dst != "net" || en.Attempts != 1 || en.LastErr != "unreachable: no answer" {
		t.Fatalf("after a failure: %+v", en)
	}
	next := time.Now().Add(time.Second)
	m.EnrolRetry("u", next, []string{"v"})
	if en := m.ListIPCPs(ctrl.IPCPFilter{Name: "u"})[0].Enrolment; en.State != ctrl.EnrolRetrying || !en.Next.Equal(next) || !slices.Equal(en.Then, []string{"v"}) {
		t.Fatalf("retrying: %+v", en)
	}
	fake("u").err = nil
	if err := m.Enroll(ctx, ctrl.IPCPEnroll{Name: "u", Layer: "net"}); err != nil {
		t.Fatal(err)
	}
	if en := m.ListIPCPs(ctrl.IPCPFilter{Name: "u"})[0].Enrolment; en != nil {
		t.Fatalf("enrolled, still shown: %+v", en)
	}
	// Enrolling a member again fails, and shows no enrolment.
	fake("u").err = ctrl.Errorf(ctrl.CodeExists, "already a member")
	if err := m.Enroll(ctx, ctrl.IPCPEnroll{Name: "u", Layer: "net"}); err == nil {
		t.Fatal("enrolled twice")
	}
	if en := m.ListIPCPs(ctrl.IPCPFilter{Name: "u"})[0].Enrolment; en != nil {
		t.Fatalf("a member shows an enrolment: %+v", en)
	}
}

// second returns a call's error, for wantCode.
func second[T any](_ T, err error) error { return err }

func TestListIPCPsNeighbours(t *testing.T) {
	m, fake := fakes(t)
	boot(t, m, "u", "net")
	fake("u").neighbours = []string{"v (dt, mgmt)"}
	l := m.ListIPCPs(ctrl.IPCPFilter{Name: "u"})
	if len(l) != 1 || !slices.Equal(l[0].Neighbours, []string{"v (dt, mgmt)"}) || l[0].Type != "unicast" {
		t.Fatalf("list: %+v", l)
	}
}

func TestAllocLowerAfterClose(t *testing.T) {
	m, fake := fakes(t)
	boot(t, m, "a", "net")
	boot(t, m, "d", "low", "peer")
	a := fake("a")
	m.Close()
	_, err := m.AllocLower(context.Background(), a, "peer", qos.Raw)
	wantCode(t, err, ctrl.CodeDown, "shutting down")
}

// TestUnicastIsCreated: without a factory, unicast IPCPs are the real type.
func TestUnicastIsCreated(t *testing.T) {
	m := New(Config{})
	defer m.Close()
	if err := m.CreateIPCP("u", "unicast"); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.ipcps["u"].ipcp.(ipcp.Layered); !ok {
		t.Fatal("the unicast IPCP is not layered")
	}
}

// BenchmarkLowerFlow1400 measures a lower flow's ends, the pipe with the
// IRM's counting, per SDU: compare with ipcp's BenchmarkPipe1400.
func BenchmarkLowerFlow1400(b *testing.B) { benchLowerFlow(b, false) }

// BenchmarkLowerFlowSealed1400 is BenchmarkLowerFlow1400 on a member flow
// whose owner end seals what it writes.
func BenchmarkLowerFlowSealed1400(b *testing.B) { benchLowerFlow(b, true) }

func benchLowerFlow(b *testing.B, sealed bool) {
	m := New(Config{})
	defer m.Close()
	up, down, err := m.newLowerFlow("peer", qos.Raw, "u", nil, sideAlloc)
	if err != nil {
		b.Fatal(err)
	}
	if sealed {
		keys, _ := memberKeys(b)
		if err := up.seal(&keys, nil); err != nil {
			b.Fatal(err)
		}
	}
	const batch = 32
	out := make([][]byte, batch)
	for i := range out {
		out[i] = make([]byte, 1400)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		bufs, lens := make([][]byte, batch), make([]int, batch)
		for i := range bufs {
			bufs[i] = make([]byte, 2048)
		}
		for {
			if _, err := down.ReadBatch(bufs, lens); err != nil {
				return
			}
		}
	}()
	b.SetBytes(1400)
	b.ReportAllocs()
	for i := 0; i < b.N; i += batch {
		if _, err := up.WriteBatch(out); err != nil {
			b.Fatal(err)
		}
	}
	up.Down(ctrl.ReasonDown)
	<-done
}

// A flow for an IPCP's name, or its layer's, that no IPCP is bound to is
// refused with the binding that is missing, not with a hint to bind a
// process.
func TestArrivedForUnboundIPCPNames(t *testing.T) {
	m, _ := fakes(t)
	bootLocal(t, m, "lo", "local")
	boot(t, m, "u", "net") // no autobind
	for _, n := range []string{"u", "net", "srv"} {
		if err := m.RegisterName(ctrl.NameRegister{Name: n, IPCPs: []string{"lo"}}); err != nil {
			t.Fatal(err)
		}
		m.SetCryptPolicy(n, CryptPolicy{Plain: true})
	}
	lo := m.ipcps["lo"].ipcp
	for n, want := range map[string]string{
		"u":   `"u" is the name of IPCP u on this host, which is not bound to it: bind it with 'irm bind ipcp u name u'`,
		"net": `"net" is the layer of IPCP u on this host, which is not bound to it: bind it with 'irm bind ipcp u name net'`,
		"srv": `no process accepts flows for "srv" on this host: bind one with 'irm bind process PID name srv'`,
	} {
		_, err := arrivedPlain(m, lo, n, qos.Raw)
		wantCode(t, err, ctrl.CodeUnreachable, want)
	}
}
