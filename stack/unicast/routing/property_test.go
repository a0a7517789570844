package routing

import (
	"math/rand/v2"
	"testing"
)

// TestPropertyRandomGraphs checks every policy on 50 seeded random
// connected graphs of 10–60 members with metrics 1–10 against a brute-force
// reference (see checkTopology).
func TestPropertyRandomGraphs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var total coverage
	for range 50 {
		cov := checkTopology(t, randomTopology(rng, 10+rng.IntN(51), 10), 10)
		total.routes += cov.routes
		total.alternates += cov.alternates
		total.multipath += cov.multipath
		total.spread += cov.spread
	}
	t.Logf("%+v", total)
	if total.alternates < 1000 || total.multipath < 1000 || total.spread < 100 {
		t.Fatalf("the graphs exercise too little: %+v", total)
	}
}

// TestPropertyEqualCosts uses metrics 1–2, so equal-cost paths, ECMP sets
// and tie-breaks are common.
func TestPropertyEqualCosts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		checkTopology(t, randomTopology(rng, 10+rng.IntN(31), 2), 10)
	}
}
