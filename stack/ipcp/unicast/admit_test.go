package unicast

import (
	"bytes"
	"context"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
	"o7s.dev/ouroboros/stack/unicast/addr"
)

// slowHost is an IRM whose Arrived takes a while (a key exchange, a program
// started), or blocks until released, and counts its calls by source.
type slowHost struct {
	delay   time.Duration
	release chan struct{} // nil: Arrived returns after delay

	mu    sync.Mutex
	calls map[string]int
}

func (h *slowHost) Arrived(ctx context.Context, _ ipcp.IPCP, src string, _ []byte, _ qos.Spec, _ []byte) (ipcp.Port, []byte, error) {
	h.mu.Lock()
	h.calls[src]++
	h.mu.Unlock()
	wait := time.After(h.delay)
	if h.release != nil {
		wait = nil
	}
	select {
	case <-h.release:
	case <-wait:
	case <-ctx.Done():
	}
	return nil, nil, ctrl.Errorf(ctrl.CodeNotAllowed, "refused by the test")
}

func (h *slowHost) count(src string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[src]
}

func (h *slowHost) total() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.calls {
		n += c
	}
	return n
}

// requestTarget is a bootstrapped member with a name registered, behind
// host; it returns a FLOW_REQ for the name from src with srcEID eid.
func requestTarget(t *testing.T, host ipcp.Host, log *slog.Logger) (*IPCP, func(src addr.Addr, eid uint64) []byte) {
	t.Helper()
	p := New("target", host, nil, log)
	t.Cleanup(func() { _ = p.Close() })
	if err := p.Bootstrap(context.Background(), "corp", nil); err != nil {
		t.Fatal(err)
	}
	hash := p.cfg.Hash.Sum("srv")
	if err := p.Register(hash); err != nil {
		t.Fatal(err)
	}
	return p, func(src addr.Addr, eid uint64) []byte {
		return (&faMsg{code: faReq, srcAddr: src, srcEID: eid, hash: hash}).append(nil)
	}
}

// TestFlowRequestFloodFromOneSource: a member flooding FLOW_REQs (new ones,
// as fast as it can, while the IRM is stuck on those it already has) gets
// at most its share of the workers and the queue; another member's request,
// repeated as allocations do, still reaches the IRM; the goroutines and the
// requests remembered stay bounded, and the drops are counted by cause.
func TestFlowRequestFloodFromOneSource(t *testing.T) {
	host := &slowHost{release: make(chan struct{}), calls: map[string]int{}}
	defer close(host.release)
	var logged bytes.Buffer
	var logMu sync.Mutex
	p, req := requestTarget(t, host, slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logged}, nil)))
	base := runtime.NumGoroutine()

	const flooder, other = addr.Addr(0x666), addr.Addr(0x42)
	start := time.Now()
	n := 0
	for ; time.Since(start) < time.Second; n++ {
		p.faMessage(req(flooder, uint64(n)+1))
	}
	// The other member's request, repeated every requestRepeat as
	// allocations do.
	got := false
	for i := 0; i < 10 && !got; i++ {
		for range 1000 { // and the flood goes on meanwhile
			n++
			p.faMessage(req(flooder, uint64(n)+1))
		}
		p.faMessage(req(other, 1))
		deadline := time.Now().Add(requestRepeat)
		for !got && time.Now().Before(deadline) {
			got = host.count("address "+other.String()) > 0
			time.Sleep(5 * time.Millisecond)
		}
	}
	if !got {
		t.Fatal("the other member's request never reached the IRM during the flood")
	}
	flooded := host.count("address " + flooder.String())
	goroutines := runtime.NumGoroutine() - base
	p.fa.mu.Lock()
	remembered := len(p.fa.answers)
	p.fa.mu.Unlock()
	c := p.Info().Counters
	t.Logf("%d requests from one source in %v: %d reached the IRM, %d remembered, %d goroutines more; drops %v",
		n, time.Since(start).Round(time.Millisecond), flooded, remembered, goroutines, c)
	if flooded > reqSourceInflight {
		t.Errorf("%d of the flooder's requests reached the stuck IRM, want at most %d", flooded, reqSourceInflight)
	}
	if goroutines > 2 {
		t.Errorf("%d goroutines more than before the flood", goroutines)
	}
	if remembered > reqQueue+reqWorkers {
		t.Errorf("%d requests remembered, want at most %d", remembered, reqQueue+reqWorkers)
	}
	if c[dropSourceRate] == 0 || c[dropSourceBusy] == 0 {
		t.Errorf("drops by cause: %v, want %s and %s counted", c, dropSourceRate, dropSourceBusy)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if lines := strings.Count(logged.String(), "flow request dropped"); lines == 0 || lines > 2 {
		t.Errorf("%d log lines for the dropped requests, want one per cause:\n%s", lines, logged.String())
	}
}

// lockedWriter serialises writes to a buffer read by the test.
type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// TestFlowRequestFloodManySources: a member forging a new source address
// for every request is held to the global rate: the IRM sees at most the
// global burst plus the rate over the time, while the others are dropped
// and counted; a legitimate request gets through on a repeat.
func TestFlowRequestFloodManySources(t *testing.T) {
	host := &slowHost{delay: time.Millisecond, calls: map[string]int{}}
	p, req := requestTarget(t, host, nil)
	base := runtime.NumGoroutine()
	start := time.Now()
	n := 0
	for ; time.Since(start) < time.Second; n++ {
		p.faMessage(req(addr.Addr(n+0x1000), 1))
	}
	took := time.Since(start)
	admitted := host.total()
	limit := reqGlobalBurst + int(float64(reqGlobalRate)*took.Seconds()) + reqWorkers
	const other = addr.Addr(0x42)
	got := false
	for i := 0; i < 10 && !got; i++ {
		p.faMessage(req(other, 1))
		deadline := time.Now().Add(requestRepeat)
		for !got && time.Now().Before(deadline) {
			got = host.count("address "+other.String()) > 0
			time.Sleep(5 * time.Millisecond)
		}
	}
	c := p.Info().Counters
	t.Logf("%d requests from as many sources in %v: %d reached the IRM (limit %d), %d goroutines more; drops %v",
		n, took.Round(time.Millisecond), admitted, limit, runtime.NumGoroutine()-base, c)
	if admitted > limit {
		t.Errorf("%d requests reached the IRM, want at most %d", admitted, limit)
	}
	if c[dropGlobalRate] == 0 {
		t.Errorf("no %s drops counted: %v", dropGlobalRate, c)
	}
	if !got {
		t.Error("a legitimate request never reached the IRM after the flood")
	}
	if g := runtime.NumGoroutine() - base; g > 2 {
		t.Errorf("%d goroutines more than before the flood", g)
	}
}
