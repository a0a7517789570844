package dir

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{ID: testID, HashLen: 32}
	if err := ok.Validate(); err != nil {
		t.Fatalf("minimal config: %v", err)
	}
	for _, tc := range []struct {
		field string
		mod   func(*Config)
	}{
		{"Alpha", func(c *Config) { c.Alpha = 11 }},
		{"Alpha", func(c *Config) { c.Alpha = -1 }},
		{"K", func(c *Config) { c.K = 21 }},
		{"TExpire", func(c *Config) { c.TExpire = time.Millisecond }},
		{"TRefresh", func(c *Config) { c.TRefresh = -time.Second }},
		{"TReplicate", func(c *Config) { c.TReplicate = -time.Second }},
		{"ResponseTimeout", func(c *Config) { c.ResponseTimeout = -1 }},
		{"ID", func(c *Config) { c.ID = nil }},
		{"HashLen", func(c *Config) { c.HashLen = 20 }},
	} {
		c := ok
		tc.mod(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("bad %s: got %v", tc.field, err)
		}
	}
	d := ok.withDefaults()
	if d.Alpha != 3 || d.K != 8 || d.TExpire != 86400*time.Second || d.TRefresh != 900*time.Second ||
		d.TReplicate != 900*time.Second || d.ResponseTimeout != 2*time.Second || d.Log == nil {
		t.Fatalf("defaults: %+v", d)
	}
}

type nullTransport struct{}

func (nullTransport) Send(addr.Addr, []byte) error { return nil }

func TestNewRejects(t *testing.T) {
	cfg := Config{ID: testID, HashLen: 32}
	if _, err := New(cfg, 0, nullTransport{}); err == nil {
		t.Error("address 0 accepted")
	}
	if _, err := New(cfg, 1, nil); err == nil {
		t.Error("nil transport accepted")
	}
	cfg.ID = func(addr.Addr) []byte { return make([]byte, 20) }
	if _, err := New(cfg, 1, nullTransport{}); err == nil {
		t.Error("ID of the wrong length accepted")
	}
	cfg.HashLen = 3
	if _, err := New(cfg, 1, nullTransport{}); err == nil {
		t.Error("bad config accepted")
	}
}

// TestAlone: a member without contacts answers from its own store.
func TestAlone(t *testing.T) {
	d, err := New(testConfig(), 1, nullTransport{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	k := nameKey("alone")
	if err := d.Publish(ctx, k); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Lookup(ctx, k); err != nil || !slices.Equal(got, []addr.Addr{1}) {
		t.Fatalf("own key: %v %v", got, err)
	}
	if _, err := d.Lookup(ctx, nameKey("other")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := d.Lookup(ctx, k[:5]); err == nil {
		t.Fatal("short key accepted")
	}
	if err := d.Publish(ctx, k[:5]); err == nil {
		t.Fatal("short key published")
	}
	if s := d.Stats(); s.Own != 1 || s.Values != 1 || s.Lookups != 3 || s.LookupFailures != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// holders returns the members holding a live value for key.
func holders(ds []*DHT, key []byte) []*DHT {
	var out []*DHT
	for _, d := range ds {
		d.mu.Lock()
		if len(vals(d.store.values(string(key), time.Now(), maxPerKey, nil))) > 0 {
			out = append(out, d)
		}
		d.mu.Unlock()
	}
	return out
}

func TestWithdraw(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 3))
		net := newSimNet(3)
		defer net.closeAll()
		cfg := testConfig()
		cfg.TReplicate = time.Minute
		as, ds := net.grow(t, cfg, rng, 30)
		ctx := context.Background()
		k := nameKey("withdrawn")
		if err := ds[0].Publish(ctx, k); err != nil {
			t.Fatal(err)
		}
		if got, err := ds[1].Lookup(ctx, k); err != nil || !slices.Equal(got, as[:1]) {
			t.Fatalf("before withdraw: %v %v", got, err)
		}
		if err := ds[0].Withdraw(ctx, k); err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if _, err := d.Lookup(ctx, k); !errors.Is(err, ErrNotFound) {
				t.Fatalf("lookup at %v after withdraw: %v", d.self, err)
			}
		}
		// Replication rounds must not bring it back.
		time.Sleep(3 * cfg.TReplicate)
		if h := holders(ds, k); len(h) > 0 {
			t.Fatalf("%d members hold the value after replication", len(h))
		}
		// Publishing again revives it despite the tombstones.
		if err := ds[0].Publish(ctx, k); err != nil {
			t.Fatal(err)
		}
		if got, err := ds[2].Lookup(ctx, k); err != nil || !slices.Equal(got, as[:1]) {
			t.Fatalf("after publishing again: %v %v", got, err)
		}
	})
}

func TestExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(4, 4))
		net := newSimNet(4)
		defer net.closeAll()
		cfg := testConfig()
		cfg.TExpire, cfg.TReplicate = 10*time.Second, time.Hour
		_, ds := net.grow(t, cfg, rng, 20)
		ctx := context.Background()
		k := nameKey("expiring")
		if err := ds[0].Publish(ctx, k); err != nil {
			t.Fatal(err)
		}
		if _, err := ds[5].Lookup(ctx, k); err != nil {
			t.Fatalf("before expiry: %v", err)
		}
		if n := len(holders(ds, k)); n < cfg.withDefaults().K {
			t.Fatalf("%d holders, want at least K", n)
		}
		time.Sleep(cfg.TExpire)
		for _, d := range ds {
			if _, err := d.Lookup(ctx, k); !errors.Is(err, ErrNotFound) {
				t.Fatalf("lookup at %v after expiry: %v", d.self, err)
			}
		}
		// Expired entries are forgotten every TExpire/4.
		time.Sleep(cfg.TExpire / 4)
		for _, d := range ds {
			d.mu.Lock()
			n := d.store.n
			d.mu.Unlock()
			if n != 0 {
				t.Fatalf("%v still stores %d entries after expiry", d.self, n)
			}
		}
	})
}

// TestNotFoundFast: a lookup of a key nobody published ends as soon as the
// closest members answered, with no timeout.
func TestNotFoundFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 5))
		net := newSimNet(5)
		defer net.closeAll()
		cfg := testConfig()
		cfg.ResponseTimeout = 5 * time.Second
		_, ds := net.grow(t, cfg, rng, 40)
		for i := range 10 {
			start := time.Now()
			_, err := ds[i].Lookup(context.Background(), nameKey("nobody"))
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("lookup: %v", err)
			}
			if took := time.Since(start); took >= cfg.ResponseTimeout {
				t.Fatalf("not-found took %v", took)
			}
		}
	})
}

// TestReplicationMovesValues: a value outlives its publisher and all but
// one of its first holders, which replicates it to the new closest members.
func TestReplicationMovesValues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(6, 6))
		net := newSimNet(6)
		defer net.closeAll()
		cfg := testConfig()
		cfg.K = 3
		as, ds := net.grow(t, cfg, rng, 25)
		k := nameKey("orphan")
		if err := ds[0].Publish(context.Background(), k); err != nil {
			t.Fatal(err)
		}
		net.kill(as[0])
		first := holders(ds[1:], k)
		if len(first) < cfg.K {
			t.Fatalf("%d holders", len(first))
		}
		for _, h := range first[1:] {
			net.kill(h.self)
		}
		// The publisher stored to the survivor during its first round: it
		// replicates at the second.
		time.Sleep(cfg.TReplicate*22/10 + time.Minute)
		net.kill(first[0].self)
		var asker *DHT
		for _, d := range ds {
			if net.alive(d.self) {
				asker = d
				break
			}
		}
		if got, err := asker.Lookup(context.Background(), k); err != nil || !slices.Equal(got, as[:1]) {
			t.Fatalf("after the holders left: %v %v", got, err)
		}
	})
}

// TestHandOver: a member that joins closer to a key than its holders gets
// the value without waiting for replication.
func TestHandOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 7))
		net := newSimNet(7)
		defer net.closeAll()
		cfg := testConfig()
		cfg.K, cfg.TReplicate = 2, time.Hour
		as, ds := net.grow(t, cfg, rng, 10)
		k := nameKey("handed")
		if err := ds[0].Publish(context.Background(), k); err != nil {
			t.Fatal(err)
		}
		// The newcomer: an address closer to k than every member.
		var nc addr.Addr
		for nc == 0 || slices.Contains(as, nc) || !closerThanAll(k, nc, as) {
			nc = addr.Addr(rng.Uint64())
		}
		d := net.add(t, cfg, nc)
		d.AddContact(as[1])
		time.Sleep(2 * time.Second)
		if len(holders([]*DHT{d}, k)) != 1 {
			t.Fatal("the newcomer did not get the value")
		}
	})
}

func closerThanAll(key []byte, a addr.Addr, others []addr.Addr) bool {
	for _, o := range others {
		if !closer(key, testID(a), testID(o)) {
			return false
		}
	}
	return true
}

// TestSetAddr: after re-addressing, lookups find the new address.
func TestSetAddr(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(8, 8))
		net := newSimNet(8)
		defer net.closeAll()
		cfg := testConfig()
		as, ds := net.grow(t, cfg, rng, 20)
		k := nameKey("moved")
		if err := ds[0].Publish(context.Background(), k); err != nil {
			t.Fatal(err)
		}
		moved := addr.Addr(rng.Uint64() | 1)
		net.readdress(as[0], moved)
		time.Sleep(2 * time.Second)
		for _, d := range ds[1:] {
			got, err := d.Lookup(context.Background(), k)
			if err != nil || !slices.Equal(got, []addr.Addr{moved}) {
				t.Fatalf("lookup at %v after SetAddr: %v %v", d.self, got, err)
			}
		}
		if s := ds[0].Stats(); s.Contacts == 0 {
			t.Fatal("the re-addressed member lost its contacts")
		}
	})
}

// blackHole takes every message and delivers none.
type blackHole struct {
	mu   sync.Mutex
	msgs [][]byte
	dsts []addr.Addr
}

func (b *blackHole) Send(dst addr.Addr, msg []byte) error {
	b.mu.Lock()
	b.msgs = append(b.msgs, msg)
	b.dsts = append(b.dsts, dst)
	b.mu.Unlock()
	return nil
}

// sent returns the i-th message sent, parsed, and its destination.
func (b *blackHole) sent(t *testing.T, i int) (message, addr.Addr) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if i >= len(b.msgs) {
		t.Fatalf("%d messages sent, want more than %d", len(b.msgs), i)
	}
	m, err := parseMessage(b.msgs[i], 32)
	if err != nil {
		t.Fatal(err)
	}
	return m, b.dsts[i]
}

func (b *blackHole) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.msgs)
}

// TestRetry: a request without an answer is sent once more, under a new
// cookie, and the answer to the second one counts.
func TestRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bh := &blackHole{}
		cfg := testConfig()
		d, err := New(cfg, 1, bh)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		d.AddContact(2)
		k := nameKey("retried")
		type result struct {
			vals []addr.Addr
			err  error
		}
		res := make(chan result)
		go func() {
			v, err := d.Lookup(context.Background(), k)
			res <- result{v, err}
		}()
		synctest.Wait()
		first, dst := bh.sent(t, 0)
		if first.typ != typeFindValue || dst != 2 || bh.count() != 1 {
			t.Fatalf("first request %+v to %v", first, dst)
		}
		time.Sleep(cfg.ResponseTimeout)
		synctest.Wait()
		second, dst := bh.sent(t, 1)
		if second.typ != typeFindValue || dst != 2 || second.cookie == first.cookie {
			t.Fatalf("retry %+v to %v", second, dst)
		}
		// A late answer to the first request matches nothing.
		late := message{typ: typeValue, sender: 2, key: k, cookie: first.cookie, values: []addr.Addr{8}}
		d.Receive(late.appendTo(nil))
		ans := message{typ: typeValue, sender: 2, key: k, cookie: second.cookie, values: []addr.Addr{9}}
		d.Receive(ans.appendTo(nil))
		if r := <-res; r.err != nil || !slices.Equal(r.vals, []addr.Addr{9}) {
			t.Fatalf("lookup: %v %v", r.vals, r.err)
		}
		if s := d.Stats(); s.Timeouts != 1 || s.Contacts != 1 || s.Dropped["cookie"] != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
}

// TestTombstone: a withdrawn value stays out when a replica of it comes
// from another holder, and comes back when its publisher stores it again.
func TestTombstone(t *testing.T) {
	d, err := New(testConfig(), 1, nullTransport{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	k := nameKey("tomb")
	find := func() []addr.Addr {
		bh := &blackHole{}
		d.tr = bh
		defer func() { d.tr = nullTransport{} }()
		q := message{typ: typeFindValue, sender: 7, key: k, cookie: 1}
		d.Receive(q.appendTo(nil))
		m, _ := bh.sent(t, 0)
		return m.values
	}
	store := func(sender, value addr.Addr, life uint32) {
		m := message{typ: typeStore, sender: sender, key: k, value: value, lifetime: life}
		d.Receive(m.appendTo(nil))
	}
	store(5, 5, 60)
	if got := find(); !slices.Equal(got, []addr.Addr{5}) {
		t.Fatalf("stored: %v", got)
	}
	store(5, 5, 0)
	store(6, 5, 60) // a replica from a holder that missed the removal
	if got := find(); len(got) != 0 {
		t.Fatalf("after the removal and a replica: %v", got)
	}
	store(5, 5, 60)
	if got := find(); !slices.Equal(got, []addr.Addr{5}) {
		t.Fatalf("published again: %v", got)
	}
}

func TestCloseEndsLookups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, err := New(testConfig(), 1, &blackHole{})
		if err != nil {
			t.Fatal(err)
		}
		d.Start()
		d.AddContact(2)
		errc := make(chan error)
		go func() {
			_, err := d.Lookup(context.Background(), nameKey("x"))
			errc <- err
		}()
		synctest.Wait()
		d.Close()
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Fatalf("pending lookup: %v", err)
		}
		if _, err := d.Lookup(context.Background(), nameKey("x")); !errors.Is(err, ErrClosed) {
			t.Fatalf("lookup after close: %v", err)
		}
		if err := d.Publish(context.Background(), nameKey("x")); !errors.Is(err, ErrClosed) {
			t.Fatalf("publish after close: %v", err)
		}
	})
}

// TestDeadContactDropped: a contact that misses two requests in a row
// leaves the buckets; a lookup through it ends (not found) meanwhile.
func TestDeadContactDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bh := &blackHole{}
		d, err := New(testConfig(), 1, bh)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		d.AddContact(2)
		if s := d.Stats(); s.Contacts != 1 {
			t.Fatalf("contacts %d", s.Contacts)
		}
		_, err = d.Lookup(context.Background(), nameKey("x"))
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("lookup: %v", err)
		}
		if s := d.Stats(); s.Contacts != 0 || s.Timeouts != 2 || s.Sent != 2 {
			t.Fatalf("after two misses: %+v", s)
		}
	})
}

// TestRemoveContactFailsRequests: RemoveContact ends requests to the
// contact at once, without waiting for their timeout.
func TestRemoveContactFailsRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.ResponseTimeout = time.Hour
		d, err := New(cfg, 1, &blackHole{})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		d.AddContact(2)
		errc := make(chan error)
		go func() {
			_, err := d.Lookup(context.Background(), nameKey("x"))
			errc <- err
		}()
		synctest.Wait()
		d.RemoveContact(2)
		if err := <-errc; !errors.Is(err, ErrNotFound) {
			t.Fatalf("lookup: %v", err)
		}
		d.mu.Lock()
		d.table.learn(2)
		n := d.table.len()
		d.mu.Unlock()
		if n != 0 {
			t.Fatal("a removed contact was relearned second-hand")
		}
	})
}

func TestReceiveDrops(t *testing.T) {
	bh := &blackHole{}
	d, err := New(testConfig(), 1, bh)
	if err != nil {
		t.Fatal(err)
	}
	k := nameKey("k")
	enc := func(m message) []byte { return m.appendTo(nil) }
	d.Receive([]byte{1, 2, 3})
	d.Receive(append([]byte{9}, enc(message{typ: typeFindNode, sender: 2, key: k, cookie: 1})[1:]...))
	d.Receive(enc(message{typ: typeFindNode, sender: 2, key: k[:28], cookie: 1}))
	d.Receive(enc(message{typ: typeFindNode, sender: 0, key: k, cookie: 1}))
	d.Receive(enc(message{typ: typeFindNode, sender: 1, key: k, cookie: 1}))
	d.Receive(enc(message{typ: typeNodes, sender: 2, key: k, cookie: 1}))
	d.Receive(enc(message{typ: typeStore, sender: 2, key: k, value: 3})) // removal by another
	want := map[string]uint64{"malformed": 1, "version": 1, "key-length": 1, "sender": 1,
		"self": 1, "cookie": 1, "not-publisher": 1}
	if s := d.Stats(); !mapsEqual(s.Dropped, want) || s.Received != 7 {
		t.Fatalf("drops %v, received %d; want %v, 7", s.Dropped, s.Received, want)
	}

	// A FIND_VALUE is answered with a VALUE carrying the cookie and key.
	d.Receive(enc(message{typ: typeStore, sender: 3, key: k, value: 3, lifetime: 60}))
	d.Receive(enc(message{typ: typeFindValue, sender: 4, key: k, cookie: 99}))
	bh.mu.Lock()
	last := bh.msgs[len(bh.msgs)-1]
	bh.mu.Unlock()
	m, err := parseMessage(last, 32)
	if err != nil || m.typ != typeValue || m.cookie != 99 || !slices.Equal(m.values, []addr.Addr{3}) ||
		m.sender != 1 || string(m.key) != string(k) {
		t.Fatalf("answer %+v %v", m, err)
	}
	// A response from the wrong member does not match the request.
	done := make(chan reply, 1)
	if err := d.request(4, message{typ: typeFindNode, key: k}, 0, done); err != nil {
		t.Fatal(err)
	}
	bh.mu.Lock()
	req, _ := parseMessage(bh.msgs[len(bh.msgs)-1], 32)
	bh.mu.Unlock()
	d.Receive(enc(message{typ: typeNodes, sender: 5, key: k, cookie: req.cookie}))
	d.Receive(enc(message{typ: typeValue, sender: 4, key: k, cookie: req.cookie}))
	d.Receive(enc(message{typ: typeNodes, sender: 4, key: k, cookie: req.cookie, contacts: []addr.Addr{6, 7}}))
	r := <-done
	if r.err != nil || r.from != 4 || !slices.Equal(r.msg.contacts, []addr.Addr{6, 7}) {
		t.Fatalf("reply %+v", r)
	}
	if s := d.Stats(); s.Dropped["cookie"] != 3 || s.Contacts != 5 {
		t.Fatalf("after the answer: %+v", s)
	}
	d.Close()
	d.Receive(enc(message{typ: typeFindNode, sender: 2, key: k, cookie: 1}))
	if s := d.Stats(); s.Dropped["closed"] != 1 {
		t.Fatalf("after close: %v", s.Dropped)
	}
}

func mapsEqual(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// FuzzReceive feeds arbitrary messages to a running DHT with a request
// outstanding (cookie 42, to member 7, key of zeros), so that answers can
// match it.
func FuzzReceive(f *testing.F) {
	k := make([]byte, 32)
	for _, m := range sampleMessages(32) {
		f.Add(m.appendTo(nil))
	}
	for _, m := range []message{
		{typ: typeNodes, sender: 7, key: k, cookie: 42, contacts: addrs(20, 1000)},
		{typ: typeValue, sender: 7, key: k, cookie: 42, values: addrs(3, 9)},
		{typ: typeStoreAck, sender: 7, key: k, cookie: 42},
		{typ: typeStore, sender: 8, key: k, value: 8},
	} {
		f.Add(m.appendTo(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := New(testConfig(), 1, nullTransport{})
		if err != nil {
			t.Fatal(err)
		}
		d.Start()
		defer d.Close()
		d.AddContact(7)
		done := make(chan reply, 1)
		d.mu.Lock()
		d.pending[42] = &request{dst: 7, resp: typeNodes, key: string(k), done: done,
			timer: time.AfterFunc(time.Hour, func() {})}
		d.mu.Unlock()
		d.Receive(b)
		d.Receive(b)
		if s := d.Stats(); s.Received != 2 {
			t.Fatalf("received %d", s.Received)
		}
	})
}
