package dir

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// query is one lookup to run: from a member, a key, and the address that
// must be among the answers.
type query struct {
	from *DHT
	key  []byte
	want addr.Addr
}

// runQueries runs the queries, those of different members at once, and
// returns how long each took (fake time) and the failures.
func runQueries(qs []query) (times []time.Duration, failures []string) {
	byNode := map[*DHT][]query{}
	for _, q := range qs {
		byNode[q.from] = append(byNode[q.from], q)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, mine := range byNode {
		wg.Go(func() {
			for _, q := range mine {
				start := time.Now()
				got, err := q.from.Lookup(context.Background(), q.key)
				took := time.Since(start)
				mu.Lock()
				times = append(times, took)
				if err != nil || !slices.Contains(got, q.want) {
					failures = append(failures, fmt.Sprintf("lookup of %x at %v: %v %v, want %v",
						q.key[:4], q.from.self, got, err, q.want))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return times, failures
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func checkQueries(t *testing.T, phase string, qs []query) {
	t.Helper()
	times, failures := runQueries(qs)
	for _, f := range failures[:min(len(failures), 10)] {
		t.Error(phase + ": " + f)
	}
	if len(failures) > 0 {
		t.Fatalf("%s: %d of %d lookups failed", phase, len(failures), len(qs))
	}
	t.Logf("%s: %d lookups, median %v, p99 %v, max %v (simulated time, 1-10 ms a message)",
		phase, len(qs), percentile(times, 0.5), percentile(times, 0.99), percentile(times, 1))
}

// TestNetwork120 runs a layer of 120 members: everyone publishes two keys
// and looks up 20 at random, without and with 5% loss; then 10% of the
// members vanish (half announced by RemoveContact, half found by
// timeouts) and, after a replication round, every value is still found.
func TestNetwork120(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const members, keysEach, sample = 120, 2, 20
		rng := rand.New(rand.NewPCG(120, 2))
		net := newSimNet(rng.Uint64())
		defer net.closeAll()
		cfg := testConfig()
		start := time.Now()
		as, ds := net.grow(t, cfg, rng, members)

		type pub struct {
			key []byte
			by  int
		}
		var pubs []pub
		var wg sync.WaitGroup
		for i, d := range ds {
			for j := range keysEach {
				p := pub{nameKey(fmt.Sprintf("name-%d-%d", i, j)), i}
				pubs = append(pubs, p)
				wg.Go(func() {
					if err := d.Publish(context.Background(), p.key); err != nil {
						t.Errorf("publish: %v", err)
					}
				})
			}
		}
		wg.Wait()
		randomQueries := func(from []int, among []pub) []query {
			var qs []query
			for _, i := range from {
				for _, k := range rng.Perm(len(among))[:sample] {
					qs = append(qs, query{ds[i], among[k].key, as[among[k].by]})
				}
			}
			return qs
		}
		everyone := rng.Perm(members)
		checkQueries(t, "no loss", randomQueries(everyone, pubs))
		net.setLoss(0.05)
		checkQueries(t, "5% loss", randomQueries(everyone, pubs))

		gone := map[int]bool{}
		for _, i := range rng.Perm(members)[:members/10] {
			gone[i] = true
			net.kill(as[i])
		}
		var rest []int
		for i := range members {
			if !gone[i] {
				rest = append(rest, i)
			}
		}
		announced := 0
		for i := range gone {
			if announced++; announced > len(gone)/2 {
				break
			}
			for _, j := range rest {
				ds[j].RemoveContact(as[i])
			}
		}
		// A replication round at every member: rounds come every
		// TReplicate ±10% and take well under a minute here.
		time.Sleep(cfg.TReplicate*11/10 + time.Minute)

		var live, orphans []pub
		for _, p := range pubs {
			if gone[p.by] {
				orphans = append(orphans, p)
			} else {
				live = append(live, p)
			}
		}
		var qs []query
		for n, p := range live {
			qs = append(qs, query{ds[rest[n%len(rest)]], p.key, as[p.by]})
		}
		checkQueries(t, "10% gone, every live publisher's key", qs)
		checkQueries(t, "10% gone, 20 random keys each", randomQueries(rest, live))
		qs = qs[:0]
		for n, p := range orphans {
			qs = append(qs, query{ds[rest[n%len(rest)]], p.key, as[p.by]})
		}
		checkQueries(t, "10% gone, keys of gone publishers", qs)

		var st Stats
		for _, j := range rest {
			s := ds[j].Stats()
			st.Sent += s.Sent
			st.Timeouts += s.Timeouts
			st.Contacts += s.Contacts
			for k, v := range s.Dropped {
				if st.Dropped == nil {
					st.Dropped = map[string]uint64{}
				}
				st.Dropped[k] += v
			}
		}
		t.Logf("%d members left: %d messages sent, %d timeouts, %.1f contacts each, drops %v; %v simulated",
			len(rest), st.Sent, st.Timeouts, float64(st.Contacts)/float64(len(rest)), st.Dropped,
			time.Since(start).Round(time.Second))
	})
}
