package flow_test

import (
	"context"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/stack/irm/irmtest"
	"o7s.dev/ouroboros/stack/qos"
)

// echo serves f until it ends.
func echo(f *flow.Flow) {
	buf := make([]byte, f.MaxSDU())
	for {
		n, err := f.Read(buf)
		if err != nil {
			return
		}
		if _, err := f.Write(buf[:n]); err != nil {
			return
		}
	}
}

// BenchmarkRTT measures one 64-byte SDU there and back through irmd's
// local layer (app → irmd → app → irmd → app), without FRCT (raw) and with
// it (best: sequencing and flow control; data: reliable).
func BenchmarkRTT(b *testing.B) {
	for _, q := range []qos.Spec{qos.Raw, qos.Best, qos.Data} {
		b.Run(q.String(), func(b *testing.B) {
			h := irmtest.Start(b, irmtest.Options{})
			h.Serve(b, "srv")
			c, s := benchPair(b, h, q)
			go echo(s)
			msg := make([]byte, 64)
			buf := make([]byte, 128)
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := c.Read(buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/rtt")
		})
	}
}

// BenchmarkAlloc measures allocating, accepting and deallocating a flow.
func BenchmarkAlloc(b *testing.B) {
	h := irmtest.Start(b, irmtest.Options{})
	h.Serve(b, "srv")
	ctx := context.Background()
	srv, cli := benchAttach(b, h), benchAttach(b, h)
	go func() {
		for {
			f, err := srv.Accept(ctx)
			if err != nil {
				return
			}
			f.Close()
		}
	}()
	start := time.Now()
	for b.Loop() {
		f, err := cli.Alloc(ctx, "srv", qos.Raw)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/alloc")
}

func TestReadWriteDoNotAllocate(t *testing.T) {
	h := irmtest.Start(t, irmtest.Options{})
	c, s := pair(t, h, qos.Raw)
	go echo(s)
	msg := make([]byte, 1400)
	buf := make([]byte, 2048)
	allocs := testing.AllocsPerRun(500, func() {
		c.Write(msg)
		c.Read(buf)
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per SDU round trip, want 0", allocs)
	}
}

func benchAttach(b *testing.B, h *irmtest.Host) *flow.Process {
	p, err := flow.Attach(context.Background(), flow.Config{RunDir: h.RunDir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	return p
}

func benchPair(b *testing.B, h *irmtest.Host, q qos.Spec) (*flow.Flow, *flow.Flow) {
	ctx := context.Background()
	srv, cli := benchAttach(b, h), benchAttach(b, h)
	acc := make(chan *flow.Flow, 1)
	go func() {
		f, _ := srv.Accept(ctx)
		acc <- f
	}()
	c, err := cli.Alloc(ctx, "srv", q)
	if err != nil {
		b.Fatal(err)
	}
	return c, <-acc
}
