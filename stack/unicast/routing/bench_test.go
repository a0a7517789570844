package routing

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkCompute times Compute from one member of a random connected
// graph with about four links per member, metrics 1–10, for each policy.
func BenchmarkCompute(b *testing.B) {
	for _, n := range []int{100, 200, 500} {
		tp := randomTopology(rand.New(rand.NewPCG(uint64(n), 7)), n, 10)
		d := tp.db(b)
		self := tp.addrs[0]
		for _, p := range []Policy{LinkState, LFA, ECMP} {
			b.Run(fmt.Sprintf("nodes=%d/%s", n, p), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if len(d.Compute(self, p)) != n-1 {
						b.Fatal("graph not connected")
					}
				}
			})
		}
	}
}
