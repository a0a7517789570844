package oap

import (
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/crypt/cert"
)

// BenchmarkExchange measures a whole exchange, NewRequest, Respond and
// Finish in one goroutine, per key exchange, anonymous and with both ends
// presenting and checking Ed25519 certificates. Both ends take keys from
// pools as irmd would; in this closed loop the pools run dry, so the
// figure is the CPU cost of an exchange, not the latency of one that finds
// its keys ready.
func BenchmarkExchange(b *testing.B) {
	for _, kex := range []KEX{X25519, X25519MLKEM768} {
		for _, certs := range []bool{false, true} {
			name := kex.String() + "/anonymous"
			if certs {
				name = kex.String() + "/mutual-ed25519"
			}
			b.Run(name, func(b *testing.B) { benchExchange(b, kex, certs) })
		}
	}
}

func benchExchange(b *testing.B, kex KEX, certs bool) {
	clk := newClock()
	scfg := Config{Now: clk.Now}
	ccfg := Config{KEX: kex, Pool: NewKeyPool(0), Now: clk.Now}
	if certs {
		p := newPKI(b, "ca", cert.Ed25519)
		scfg.Cert, scfg.Roots, scfg.RequirePeerCert = p.issue(b, serverName, cert.KindName, cert.Ed25519), p.roots, true
		ccfg.Cert, ccfg.Roots, ccfg.RequirePeerCert = p.issue(b, "client.test", cert.KindName, cert.Ed25519), p.roots, true
	}
	s := fixedServer(scfg)
	b.ReportAllocs()
	for b.Loop() {
		// A millisecond per exchange keeps the replay cache at its size in
		// a steady state of 1000 allocations a second.
		clk.Advance(time.Millisecond)
		if _, _, err := tryExchange(s, ccfg); err != nil {
			b.Fatal(err)
		}
	}
}
