package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"o7s.dev/ouroboros/stack/config"
	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/irm"
	"o7s.dev/ouroboros/stack/qos"
)

// records is a slog.Handler that keeps the records it is given.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}

// warnings returns the warnings logged with message msg, each as its
// attributes "k=v ...".
func (r *records) warnings(msg string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.recs {
		if rec.Level != slog.LevelWarn || rec.Message != msg {
			continue
		}
		var attrs []string
		rec.Attrs(func(a slog.Attr) bool {
			attrs = append(attrs, a.String())
			return true
		})
		out = append(out, strings.Join(attrs, " "))
	}
	return out
}

func TestRetryBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
		defer cancel()
		start := time.Now()
		var at []time.Duration
		rec := &records{}
		var limits []time.Duration
		var nexts []time.Duration
		ok := retry(ctx, slog.New(rec), defaultBackoff, func(actx context.Context) error {
			at = append(at, time.Since(start))
			d, _ := actx.Deadline()
			limits = append(limits, time.Until(d))
			<-actx.Done() // a peer that is down: each attempt takes all its time
			return fmt.Errorf("peer down")
		}, func(next time.Time) { nexts = append(nexts, time.Until(next)) }, "enrolment failed", "dst", "b")
		if ok {
			t.Fatal("retry reported success")
		}
		// Each attempt has 1 s, doubling up to 20 s, and the waits
		// between them are 1 s, doubling up to 30 s; none once ctx is
		// done. The first attempt towards a peer that is down fails
		// after a second.
		wantAt := []time.Duration{0, 2, 6, 14, 30, 62} // attempt start, s
		wantLimit := []time.Duration{1, 2, 4, 8, 16, 20}
		wantNext := []time.Duration{1, 2, 4, 8, 16}
		for _, w := range [][]time.Duration{wantAt, wantLimit, wantNext} {
			for i := range w {
				w[i] *= time.Second
			}
		}
		if !slices.Equal(at, wantAt) || !slices.Equal(limits, wantLimit) || !slices.Equal(nexts[:len(wantNext)], wantNext) {
			t.Fatalf("attempts at %v with %v each, next retries in %v; want %v, %v, %v", at, limits, nexts, wantAt, wantLimit, wantNext)
		}
		// One line per change of reason, not per attempt.
		warns := rec.warnings("enrolment failed")
		if len(warns) != 1 || warns[0] != "dst=b attempt=1 retry_in=1s err=peer down" {
			t.Fatalf("warnings %q", warns)
		}
	})
}

func TestRetryStopsOnSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		rec := &records{}
		if !retry(t.Context(), slog.New(rec), defaultBackoff, func(context.Context) error {
			if n++; n < 3 {
				return errors.New("not yet")
			}
			return nil
		}, nil, "enrolment failed") {
			t.Fatal("retry gave up")
		}
		if n != 3 || len(rec.warnings("enrolment failed")) != 1 {
			t.Fatalf("%d attempts, warnings %q", n, rec.warnings("enrolment failed"))
		}
	})
}

// script is a fake layered IPCP whose calls fail as many times as fails
// says (by "enroll", "connect DST", "bootstrap"), then succeed; it records
// each call with the fake time since start.
type script struct {
	name  string
	start time.Time
	fails map[string]int

	mu    sync.Mutex
	layer string
	state ipcp.State
	calls []string
}

func (s *script) call(what string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fmt.Sprintf("%v %s", time.Since(s.start), what))
	key := strings.Fields(what)[0]
	if what != key && key == "connect" {
		key = "connect " + strings.Fields(what)[1]
	}
	if s.fails[key] > 0 {
		s.fails[key]--
		return ctrl.Errorf(ctrl.CodeUnreachable, "%s: peer not up", what)
	}
	return nil
}

func (s *script) Info() ipcp.Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ipcp.Info{Name: s.name, Type: ipcp.Unicast, Layer: s.layer, State: s.state, Hash: ipcp.DefaultHash}
}

func (s *script) Bootstrap(_ context.Context, layer string, _ map[string]string) error {
	if err := s.call("bootstrap " + layer); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.layer, s.state = layer, ipcp.StateBootstrapped
	return nil
}

func (s *script) Enroll(_ context.Context, layer, dst string) error {
	if err := s.call("enroll " + dst); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.layer, s.state = "net", ipcp.StateEnrolled
	return nil
}

// Connect plays an IPCP that keeps an intent with persist: a failure is
// reported as pending, not as an error.
func (s *script) Connect(_ context.Context, dst, component string, q qos.Spec, persist bool) (ipcp.ConnectResult, error) {
	err := s.call(fmt.Sprintf("connect %s %q %s persist=%v", dst, component, q, persist))
	if err != nil && persist {
		return ipcp.ConnectResult{Pending: err}, nil
	}
	return ipcp.ConnectResult{}, err
}

func (s *script) Register([]byte) error                          { return s.call("register") }
func (s *script) Unregister([]byte) error                        { return nil }
func (s *script) Reachable(context.Context, string, []byte) bool { return false }
func (s *script) Alloc(context.Context, string, []byte, qos.Spec, []byte, ipcp.Port) ([]byte, error) {
	return nil, nil
}
func (s *script) MaxSDU() int                                      { return 1400 }
func (s *script) Close() error                                     { return nil }
func (s *script) Disconnect(context.Context, string, string) error { return nil }

func (s *script) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// scripted returns an IRM whose unicast IPCPs are scripts, failing as
// fails says per IPCP name.
func scripted(log *slog.Logger, fails map[string]map[string]int) (*irm.IRM, map[string]*script) {
	start := time.Now()
	made := map[string]*script{}
	var mu sync.Mutex
	m := irm.New(irm.Config{Log: log, IPCPFactory: func(n string, typ ipcp.Type, _ ipcp.Host, _ ipcp.Lower) ipcp.IPCP {
		if typ != ipcp.Unicast {
			return nil
		}
		s := &script{name: n, start: start, fails: fails[n], state: ipcp.StateCreated}
		mu.Lock()
		made[n] = s
		mu.Unlock()
		return s
	}})
	return m, made
}

func mustParse(t *testing.T, doc string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.conf", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const twoMembers = `
[local.lo]
bootstrap = "local"

[unicast.a]
bootstrap = "net"
autobind = true
conn = ["c"]

[unicast.b]
enrol = "a"
autobind = true
reg = ["svc"]
conn = ["a", "x"]
`

func TestApplyEnrolsAndConnectsInBackground(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &records{}
		log := slog.New(rec)
		m, ipcps := scripted(log, map[string]map[string]int{
			"b": {"enroll": 2, "connect x": 1},
		})
		ctx, stop := context.WithCancel(context.Background())
		wait, err := apply(ctx, m, mustParse(t, twoMembers), log)
		if err != nil {
			t.Fatal(err)
		}
		// Bootstrapping is done when apply returns; b exists, enrolling.
		if got := m.ListIPCPs(ctrl.IPCPFilter{Name: "a"}); len(got) != 1 || got[0].State != "bootstrapped" {
			t.Fatalf("a: %+v", got)
		}
		if got := m.ListIPCPs(ctrl.IPCPFilter{Name: "b"}); len(got) != 1 || got[0].Type != "unicast" {
			t.Fatalf("b: %+v", got)
		}
		// Between the first attempts, the list shows the enrolment
		// retrying, and when.
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		en := m.ListIPCPs(ctrl.IPCPFilter{Name: "b"})[0].Enrolment
		if en == nil || en.State != ctrl.EnrolRetrying || en.Attempts != 1 || en.Dst != "a" ||
			time.Until(en.Next) != 500*time.Millisecond || !strings.Contains(en.LastErr, "peer not up") {
			t.Fatalf("b's enrolment after its first failure: %+v", en)
		}
		time.Sleep(time.Minute)
		synctest.Wait()

		if got, want := ipcps["a"].log(), []string{"0s bootstrap net", `0s connect c "" raw persist=true`}; !slices.Equal(got, want) {
			t.Errorf("a: %q, want %q", got, want)
		}
		// Enrolment fails twice (retried after 1 s, then 2 s), then the
		// name is registered and the connections made, each once: the
		// IPCP keeps retrying the one that is not up (persist).
		want := []string{"0s enroll a", "1s enroll a", "3s enroll a", "3s register",
			`3s connect a "" raw persist=true`, `3s connect x "" raw persist=true`}
		got := ipcps["b"].log()
		if len(got) > 4 {
			slices.Sort(got[4:]) // the connections run side by side
		}
		if !slices.Equal(got, want) {
			t.Errorf("b: %q\nwant %q", got, want)
		}
		for _, n := range []string{"b", "net"} {
			if l := m.ListNames(n); len(l) != 1 || !slices.Contains(l[0].BoundIPCPs, "b") {
				t.Errorf("name %s: %+v, want b bound (autobind)", n, l)
			}
		}
		// One warning for two failures with the same reason.
		if w := rec.warnings("enrolment failed"); len(w) != 1 || !strings.HasPrefix(w[0], "ipcp=b dst=a attempt=1 retry_in=1s err=enroll a: peer not up") {
			t.Errorf("enrolment warnings %q", w)
		}
		if w := rec.warnings("connection not up yet, retrying in the background"); len(w) != 1 || !strings.HasPrefix(w[0], "ipcp=b dst=x err=connect x") {
			t.Errorf("connection warnings %q", w)
		}
		if got := m.ListIPCPs(ctrl.IPCPFilter{Name: "b"}); got[0].Enrolment != nil {
			t.Errorf("b's enrolment is still shown once enrolled: %+v", got[0].Enrolment)
		}
		stop()
		m.Close()
		wait()
	})
}

func TestApplyStopsRetrying(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &records{}
		log := slog.New(rec)
		m, ipcps := scripted(log, map[string]map[string]int{"b": {"enroll": 1 << 30}})
		ctx, stop := context.WithCancel(context.Background())
		wait, err := apply(ctx, m, mustParse(t, twoMembers), log)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		stop()
		m.Close()
		wait()                                  // would never return if the joiner kept retrying
		if n := len(ipcps["b"].log()); n != 4 { // at 0, 1, 3 and 7 s
			t.Errorf("%d enrolment attempts in 10 s: %q", n, ipcps["b"].log())
		}
	})
}

func TestApplyBootstrapFailureIsFatal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := slog.New(&records{})
		m, _ := scripted(log, map[string]map[string]int{"a": {"bootstrap": 1}})
		defer m.Close()
		wait, err := apply(t.Context(), m, mustParse(t, twoMembers), log)
		if err == nil || !strings.HasPrefix(err.Error(), "[unicast.a]: bootstrap net: peer not up") {
			t.Fatalf("err %v", err)
		}
		wait()
	})
}

// TestRequestsCarryIdentity checks that the ca, cert and key of an IPCP
// table reach irmd in the bootstrap and enrol requests, and that a table
// without them asks for an open layer.
func TestRequestsCarryIdentity(t *testing.T) {
	cfg := mustParse(t, `
[unicast.a]
bootstrap = "net"
autobind = true
ca = "/etc/o/net.ca.crt"
cert = "/etc/o/a.crt"
key = "/etc/o/a.key"

[unicast.b]
enrol = "a"
ca = ["/etc/o/net.ca.crt", "/etc/o/old.ca.crt"]
cert = "/etc/o/b.crt"
key = "/etc/o/b.key"

[unicast.c]
bootstrap = "open"

[unicast.d]
enrol = "c"
`)
	ipcps := map[string]config.IPCP{}
	for _, ip := range cfg.IPCPs {
		ipcps[ip.Name] = ip
	}
	boot := bootstrapRequest(ipcps["a"])
	want := &ctrl.IPCPIdentity{CA: []string{"/etc/o/net.ca.crt"}, Cert: "/etc/o/a.crt", Key: "/etc/o/a.key"}
	if !reflect.DeepEqual(boot.Identity, want) {
		t.Errorf("a: Identity %+v, want %+v", boot.Identity, want)
	}
	if boot.Name != "a" || boot.Layer != "net" || !boot.Autobind || boot.Options["routing"] != "link_state" {
		t.Errorf("a: %+v", boot)
	}
	enrol := enrollRequest(ipcps["b"])
	want = &ctrl.IPCPIdentity{CA: []string{"/etc/o/net.ca.crt", "/etc/o/old.ca.crt"}, Cert: "/etc/o/b.crt", Key: "/etc/o/b.key"}
	if !reflect.DeepEqual(enrol.Identity, want) {
		t.Errorf("b: Identity %+v, want %+v", enrol.Identity, want)
	}
	if enrol.Name != "b" || enrol.Dst != "a" || enrol.Type != "unicast" {
		t.Errorf("b: %+v", enrol)
	}
	if id := bootstrapRequest(ipcps["c"]).Identity; id != nil {
		t.Errorf("c: Identity %+v, want nil", id)
	}
	if id := enrollRequest(ipcps["d"]).Identity; id != nil {
		t.Errorf("d: Identity %+v, want nil", id)
	}
}
