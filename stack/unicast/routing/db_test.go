package routing

import (
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func TestDBUpdateSeq(t *testing.T) {
	d := NewDB()
	u := LSU{Origin: 5, NodeID: 1, Seq: 10, Links: []Link{{6, 1}}}
	step := func(u LSU, wantAccepted, wantConflict bool, wantVersion uint64) {
		t.Helper()
		acc, conf := d.Update(u, t0)
		if acc != wantAccepted || conf != wantConflict || d.Version() != wantVersion {
			t.Fatalf("Update(seq %d, node %d) = %v, %v, version %d; want %v, %v, %d",
				u.Seq, u.NodeID, acc, conf, d.Version(), wantAccepted, wantConflict, wantVersion)
		}
	}
	step(u, true, false, 1)
	step(u, false, false, 1) // a duplicate
	older := u
	older.Seq, older.Links = 9, nil
	step(older, false, false, 1)
	newer := u
	newer.Seq, newer.Links = 11, []Link{{7, 2}}
	step(newer, true, false, 2)
	if got, _ := d.Get(5); !reflect.DeepEqual(got, newer) {
		t.Fatalf("stored %+v, want %+v", got, newer)
	}
	// Another member claims address 5: reported whichever wins.
	other := LSU{Origin: 5, NodeID: 2, Seq: 11}
	step(other, false, true, 2)
	other.Seq = 3
	step(other, false, true, 2)
	other.Seq = 12
	step(other, true, true, 3)
	if got, _ := d.Get(5); got.NodeID != 2 {
		t.Fatalf("the higher Seq lost: %+v", got)
	}
	// Invalid LSUs never get in.
	step(LSU{Origin: 8, Seq: 1, Links: []Link{{8, 1}}}, false, false, 3)
	step(LSU{Origin: 5, NodeID: 7, Seq: 99, Links: []Link{{6, 0}}}, false, false, 3)
	step(LSU{Seq: 1}, false, false, 3)
}

func TestDBCopies(t *testing.T) {
	d := NewDB()
	u := LSU{Origin: 2, Seq: 1, Links: []Link{{1, 1}, {3, 1}}}
	d.Update(u, t0)
	u.Links[0].Metric = 9 // the caller's slice is not the DB's
	got, ok := d.Get(2)
	if !ok || got.Links[0].Metric != 1 {
		t.Fatalf("Get after changing the updated LSU: %+v, %v", got, ok)
	}
	got.Links[1].Neighbour = 99
	all := d.All()
	all[0].Links[0].Neighbour = 77
	if again, _ := d.Get(2); !reflect.DeepEqual(again.Links, []Link{{1, 1}, {3, 1}}) {
		t.Fatalf("results alias the DB: %+v", again)
	}
	if _, ok := d.Get(3); ok {
		t.Fatal("Get of an unknown origin succeeded")
	}
}

func TestDBAllAndMembers(t *testing.T) {
	d := NewDB()
	if len(d.All()) != 0 || len(d.Members()) != 0 {
		t.Fatal("an empty DB has contents")
	}
	for _, o := range []addr.Addr{30, 10, 20} {
		d.Update(LSU{Origin: o, Seq: uint64(o)}, t0)
	}
	if m := d.Members(); !slices.Equal(m, []addr.Addr{10, 20, 30}) {
		t.Fatalf("Members = %v", m)
	}
	all := d.All()
	if len(all) != 3 || all[0].Origin != 10 || all[1].Seq != 20 || all[2].Origin != 30 {
		t.Fatalf("All = %+v", all)
	}
	m := d.Members()
	m[0] = 99
	if d.Members()[0] != 10 {
		t.Fatal("Members aliases the DB")
	}
}

func TestDBRemove(t *testing.T) {
	d := NewDB()
	d.Update(LSU{Origin: 1}, t0)
	if !d.Remove(1) || d.Version() != 2 {
		t.Fatalf("Remove of a stored LSU: version %d", d.Version())
	}
	if d.Remove(1) || d.Version() != 2 {
		t.Fatalf("Remove of a missing LSU: version %d", d.Version())
	}
	// A removed origin comes back with any Seq.
	if ok, _ := d.Update(LSU{Origin: 1}, t0); !ok {
		t.Fatal("re-adding after Remove refused")
	}
}

func TestDBExpire(t *testing.T) {
	d := NewDB()
	d.SetSelf(1)
	d.Update(LSU{Origin: 1, Seq: 1}, t0)
	d.Update(LSU{Origin: 2, Seq: 1}, t0)
	d.Update(LSU{Origin: 3, Seq: 1}, t0.Add(5*time.Second))
	d.Update(LSU{Origin: 4, Seq: 1}, t0)
	d.Update(LSU{Origin: 4, Seq: 1}, t0.Add(9*time.Second)) // duplicates do not refresh
	v := d.Version()
	if gone := d.Expire(t0.Add(10*time.Second), 10*time.Second); gone != nil || d.Version() != v {
		t.Fatalf("exactly timeout old: dropped %v, version %d→%d", gone, v, d.Version())
	}
	gone := d.Expire(t0.Add(11*time.Second), 10*time.Second)
	if !slices.Equal(gone, []addr.Addr{2, 4}) || d.Version() != v+1 {
		t.Fatalf("Expire dropped %v, version %d→%d; want [2 4]", gone, v, d.Version())
	}
	if m := d.Members(); !slices.Equal(m, []addr.Addr{1, 3}) {
		t.Fatalf("left %v, want self and the fresh one", m)
	}
	// Re-addressed: the old own LSU expires like any other; the new one stays.
	d.SetSelf(5)
	d.Update(LSU{Origin: 5, Seq: 1}, t0)
	gone = d.Expire(t0.Add(time.Hour), 10*time.Second)
	if !slices.Equal(gone, []addr.Addr{1, 3}) || !slices.Equal(d.Members(), []addr.Addr{5}) {
		t.Fatalf("after SetSelf(5): dropped %v, left %v", gone, d.Members())
	}
}

// TestDBConcurrent runs Compute, Update and the readers at once; it finds
// its bugs under -race.
func TestDBConcurrent(t *testing.T) {
	d := NewDB()
	for _, u := range []LSU{
		{Origin: 1, Links: []Link{{2, 1}, {3, 1}, {4, 1}}},
		{Origin: 2, Links: []Link{{1, 1}, {3, 1}, {4, 1}}},
		{Origin: 3, Links: []Link{{1, 1}, {2, 1}, {4, 1}}},
	} {
		d.Update(u, t0.Add(time.Hour)) // Expire below never drops these
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				switch w {
				case 0:
					u := LSU{Origin: 4, Seq: uint64(i + 1), Links: []Link{{addr.Addr(1 + i%3), 1}}}
					d.Update(u, t0.Add(time.Duration(i)))
					if i%2 == 1 {
						d.Expire(t0.Add(time.Duration(i+200)), 100) // drops 4
					}
				case 1:
					if rs := d.Compute(1, []Policy{LinkState, LFA, ECMP}[i%3]); len(rs) < 2 {
						t.Errorf("routes %v", rs)
						return
					}
				default:
					d.All()
					d.Members()
					d.Get(4)
					d.Version()
				}
			}
		})
	}
	wg.Wait()
}
