package oap

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/crypt/cert"
)

// BenchmarkExchange measures a whole exchange, NewRequest, Respond and
// Finish in one goroutine, per key exchange: anonymous; with both ends
// presenting and checking Ed25519 certificates against their CA
// (mutual); and presenting them to ends without a CA, which check only
// that each certificate's key signed (pinned, as ovpn's fingerprints).
// Both ends take keys from pools as irmd would; in this closed loop the
// pools run dry, so the figure is the CPU cost of an exchange, not the
// latency of one that finds its keys ready.
func BenchmarkExchange(b *testing.B) {
	for _, kex := range []KEX{X25519, X25519MLKEM768} {
		for _, mode := range []string{"anonymous", "mutual-ed25519", "pinned-ed25519"} {
			b.Run(kex.String()+"/"+mode, func(b *testing.B) { benchExchange(b, kex, mode) })
		}
	}
}

func benchExchange(b *testing.B, kex KEX, mode string) {
	clk := newClock()
	scfg := Config{Now: clk.Now}
	ccfg := Config{KEX: kex, Pool: NewKeyPool(0), Now: clk.Now}
	if mode != "anonymous" {
		p := newPKI(b, "ca", cert.Ed25519)
		scfg.Cert = p.issue(b, serverName, cert.KindName, cert.Ed25519)
		ccfg.Cert = p.issue(b, "client.test", cert.KindName, cert.Ed25519)
		if mode == "mutual-ed25519" {
			scfg.Roots, scfg.RequirePeerCert = p.roots, true
			ccfg.Roots, ccfg.RequirePeerCert = p.roots, true
		}
	}
	s := fixedServer(scfg)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// A millisecond per exchange keeps the replay cache at its size in
		// a steady state of 1000 allocations a second, from 64 clients
		// (one source holds at most DefaultReplayPerSource ids).
		clk.Advance(time.Millisecond)
		i++
		if _, _, err := tryExchangeFrom(s, benchSources[i%len(benchSources)], ccfg); err != nil {
			b.Fatal(err)
		}
	}
}

// benchSources are the clients of the benchmarks.
var benchSources = func() []string {
	out := make([]string, 64)
	for i := range out {
		out[i] = fmt.Sprintf("192.0.2.%d", i+1)
	}
	return out
}()

// BenchmarkReplayCache measures the replay cache alone under a flood that
// keeps it full: ids from many sources at 10 000 a second, so that each
// add also drops a bucket of old ids now and then.
func BenchmarkReplayCache(b *testing.B) {
	c := newReplayCache(DefaultReplayCache, DefaultReplayPerSource)
	now := t0
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(100 * time.Microsecond)
		i++
		if err := c.add(benchSources[i%len(benchSources)], testID(0, i), now, now); err != nil && !errors.Is(err, ErrReplayCacheFull) {
			b.Fatal(err)
		}
	}
}
