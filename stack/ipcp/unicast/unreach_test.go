package unicast

import (
	"testing"
	"time"
)

func TestReporterWaitsForSettledRoutes(t *testing.T) {
	var r reporter
	now := time.Now()
	if !r.settled(now) {
		t.Fatal("routes that never changed are not settled")
	}
	r.routesChanged(now)
	if r.settled(now.Add(routeSettle - time.Millisecond)) {
		t.Fatal("settled before routeSettle passed")
	}
	if !r.settled(now.Add(routeSettle)) {
		t.Fatal("not settled once routeSettle passed")
	}
}

func TestReporterRateLimits(t *testing.T) {
	var r reporter
	now := time.Now()
	for i := range reportRate {
		if !r.allow(now) {
			t.Fatalf("report %d of the burst refused", i+1)
		}
	}
	if r.allow(now) {
		t.Fatal("a report beyond the burst was allowed")
	}
	if !r.allow(now.Add(time.Second / reportRate)) {
		t.Fatal("no report allowed after a token's worth of time")
	}
}
