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
		ok := retry(ctx, slog.New(rec), defaultBackoff, func() error {
			at = append(at, time.Since(start))
			return errors.New("peer down")
		}, "connection failed", "dst", "b")
		if ok {
			t.Fatal("retry reported success")
		}
		// 1 s, doubling, up to 30 s between attempts; none once ctx is done.
		want := []time.Duration{0, 1, 3, 7, 15, 31, 61, 91}
		for i := range want {
			want[i] *= time.Second
		}
		if !slices.Equal(at, want) {
			t.Fatalf("attempts at %v, want %v", at, want)
		}
		warns := rec.warnings("connection failed")
		if len(warns) != len(want) {
			t.Fatalf("%d warnings for %d failures: %q", len(warns), len(want), warns)
		}
		if w := warns[1]; w != "dst=b attempt=2 retry_in=2s err=peer down" {
			t.Errorf("warning %q", w)
		}
		if w := warns[7]; !strings.Contains(w, "retry_in=30s") {
			t.Errorf("warning %q: the wait is not capped", w)
		}
	})
}

func TestRetryStopsOnSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		rec := &records{}
		if !retry(t.Context(), slog.New(rec), defaultBackoff, func() error {
			if n++; n < 3 {
				return errors.New("not yet")
			}
			return nil
		}, "enrolment failed") {
			t.Fatal("retry gave up")
		}
		if n != 3 || len(rec.warnings("enrolment failed")) != 2 {
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

func (s *script) Connect(_ context.Context, dst, component string, q qos.Spec) error {
	return s.call(fmt.Sprintf("connect %s %q %s", dst, component, q))
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
		time.Sleep(time.Minute)
		synctest.Wait()

		if got, want := ipcps["a"].log(), []string{"0s bootstrap net", `0s connect c "" raw`}; !slices.Equal(got, want) {
			t.Errorf("a: %q, want %q", got, want)
		}
		// Enrolment fails twice (retried after 1 s, then 2 s), then the
		// name is registered and the connections made, one retried.
		want := []string{"0s enroll a", "1s enroll a", "3s enroll a", "3s register",
			`3s connect a "" raw`, `3s connect x "" raw`, `4s connect x "" raw`}
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
		if w := rec.warnings("enrolment failed"); len(w) != 2 || !strings.HasPrefix(w[0], "ipcp=b dst=a attempt=1 retry_in=1s err=enroll a: peer not up") {
			t.Errorf("enrolment warnings %q", w)
		}
		if w := rec.warnings("connection failed"); len(w) != 1 || !strings.HasPrefix(w[0], "ipcp=b dst=x attempt=1") {
			t.Errorf("connection warnings %q", w)
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
