package dir

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// restartLayer builds a layer of 40 members in which the first publishes
// a key, then dies and comes back at a new address (as a member whose
// irmd restarted and enrolled again), publishing the key again. routable,
// when set, is the layer's routing graph as Config.Routable: the dead
// address is not in it. It returns the stale answers of a lookup at every
// other member, and the lookups that failed.
func restartLayer(t *testing.T, routable bool) (stale, failed int) {
	rng := rand.New(rand.NewPCG(12, 12))
	net := newSimNet(12)
	defer net.closeAll()
	cfg := testConfig()
	if routable {
		cfg.Routable = func(a addr.Addr) bool { return !net.isDead(a) }
	}
	as, ds := net.grow(t, cfg, rng, 40)
	k := nameKey("restarted")
	if err := ds[0].Publish(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	old := as[0]
	net.kill(old)
	for _, d := range ds[1:] {
		d.RemoveContact(old) // routing: the old address left the graph
	}
	back := addr.Addr(rng.Uint64() | 1)
	nd := net.add(t, cfg, back)
	nd.AddContact(as[1+rng.IntN(len(as)-1)])
	time.Sleep(2 * time.Second)
	if err := nd.Publish(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	for _, d := range ds[1:] {
		got, err := d.Lookup(context.Background(), k)
		if slices.Contains(got, old) {
			stale++
		}
		if err != nil || !slices.Contains(got, back) {
			failed++
		}
	}
	return stale, failed
}

// TestRestartedPublisher: a member that restarted under a new address and
// published its key again is what every lookup finds, at once; its old
// address, which left the routing graph, is handed out by no member,
// though holders keep its value until it expires (a day by default).
func TestRestartedPublisher(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stale, failed := restartLayer(t, false)
		t.Logf("without Routable: %d of 39 lookups handed out the old address, %d missed the new", stale, failed)
		if stale == 0 {
			t.Fatal("the scenario does not exercise stale values: every holder forgot the old address by itself")
		}
		stale, failed = restartLayer(t, true)
		t.Logf("with Routable: %d of 39 lookups handed out the old address, %d missed the new", stale, failed)
		if stale != 0 || failed != 0 {
			t.Fatalf("%d lookups handed out the address that left the graph, %d missed the new one", stale, failed)
		}
	})
}

// TestLookupOnlyUnroutable: a key published only by a member that left
// the routing graph is not found: at a holder with ErrNoRoute, which
// names the cause; elsewhere the holders do not hand the value out, and
// the lookup ends as for a name not registered.
func TestLookupOnlyUnroutable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 13))
		net := newSimNet(13)
		defer net.closeAll()
		var gone atomic.Uint64
		cfg := testConfig()
		cfg.Routable = func(a addr.Addr) bool { return uint64(a) != gone.Load() }
		as, ds := net.grow(t, cfg, rng, 30)
		k := nameKey("gone")
		if err := ds[0].Publish(context.Background(), k); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		gone.Store(uint64(as[0])) // the member is unreachable from here on, not dead
		synctest.Wait()
		holder, other := 0, 0
		for _, d := range ds[1:] {
			isHolder := len(vals(d.store.values(string(k), time.Now(), maxPerKey, nil))) > 0
			got, err := d.Lookup(context.Background(), k)
			switch {
			case isHolder && !errors.Is(err, ErrNoRoute):
				t.Fatalf("lookup at holder %v: %v %v, want ErrNoRoute", d.self, got, err)
			case !isHolder && !errors.Is(err, ErrNotFound):
				t.Fatalf("lookup at %v: %v %v, want ErrNotFound", d.self, got, err)
			case isHolder:
				holder++
			default:
				other++
			}
		}
		if holder == 0 || other == 0 {
			t.Fatalf("%d holders, %d others: the test covers both", holder, other)
		}
	})
}
