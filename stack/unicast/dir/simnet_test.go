package dir

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// simNet is an in-memory layer for tests: messages between DHTs are
// delivered after a random delay, or lost. Meant for synctest bubbles,
// where the delays cost no real time.
type simNet struct {
	mu       sync.Mutex
	rng      *rand.Rand
	nodes    map[addr.Addr]*DHT
	dead     map[addr.Addr]bool
	loss     float64
	minDelay time.Duration
	maxDelay time.Duration
	sent     int
	lost     int
}

func newSimNet(seed uint64) *simNet {
	return &simNet{rng: rand.New(rand.NewPCG(seed, 1)), nodes: map[addr.Addr]*DHT{},
		dead: map[addr.Addr]bool{}, minDelay: time.Millisecond, maxDelay: 10 * time.Millisecond}
}

// testID is the node id the tests use: SHA-256 of the address, as the
// layer does with its hash.
func testID(a addr.Addr) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(a))
	h := sha256.Sum256(b[:])
	return h[:]
}

func nameKey(name string) []byte {
	h := sha256.Sum256([]byte(name))
	return h[:]
}

// testConfig is a configuration for simulated layers.
func testConfig() Config {
	return Config{ID: testID, HashLen: 32, ResponseTimeout: 200 * time.Millisecond,
		TRefresh: 10 * time.Minute, TReplicate: 10 * time.Minute}
}

type simPort struct {
	net  *simNet
	from addr.Addr
}

func (p simPort) Send(dst addr.Addr, msg []byte) error {
	n := p.net
	n.mu.Lock()
	n.sent++
	to := n.nodes[dst]
	if to == nil || n.dead[dst] || n.dead[p.from] || n.rng.Float64() < n.loss {
		n.lost++
		n.mu.Unlock()
		return nil
	}
	delay := n.minDelay + time.Duration(n.rng.Int64N(int64(n.maxDelay-n.minDelay)+1))
	n.mu.Unlock()
	time.AfterFunc(delay, func() {
		if n.alive(dst) && !n.isDead(p.from) {
			to.Receive(msg)
		}
	})
	return nil
}

func (n *simNet) alive(a addr.Addr) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.nodes[a] != nil && !n.dead[a]
}

func (n *simNet) isDead(a addr.Addr) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dead[a]
}

// readdress moves the DHT at from to the address to, as SetAddr does to
// the member; messages to from vanish from then on.
func (n *simNet) readdress(from, to addr.Addr) {
	n.mu.Lock()
	d := n.nodes[from]
	delete(n.nodes, from)
	n.nodes[to] = d
	n.mu.Unlock()
	d.SetAddr(to)
}

// add makes and starts a DHT at a, which must be new.
func (n *simNet) add(t testing.TB, cfg Config, a addr.Addr) *DHT {
	t.Helper()
	d, err := New(cfg, a, simPort{n, a})
	if err != nil {
		t.Fatal(err)
	}
	n.mu.Lock()
	n.nodes[a] = d
	n.mu.Unlock()
	d.Start()
	return d
}

// kill closes the DHT at a; messages to and from it vanish.
func (n *simNet) kill(a addr.Addr) {
	n.mu.Lock()
	n.dead[a] = true
	d := n.nodes[a]
	n.mu.Unlock()
	d.Close()
}

func (n *simNet) setLoss(p float64) {
	n.mu.Lock()
	n.loss = p
	n.mu.Unlock()
}

// closeAll closes every DHT, so that the bubble's goroutines end.
func (n *simNet) closeAll() {
	n.mu.Lock()
	all := make([]*DHT, 0, len(n.nodes))
	for _, d := range n.nodes {
		all = append(all, d)
	}
	n.mu.Unlock()
	for _, d := range all {
		d.Close()
	}
}

// pickAddrs returns count distinct random addresses.
func pickAddrs(rng *rand.Rand, count int) []addr.Addr {
	seen := map[addr.Addr]bool{}
	var out []addr.Addr
	for len(out) < count {
		a := addr.Addr(rng.Uint64())
		if a != addr.None && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// grow builds a layer of count members, each joining through a random
// earlier one. settle is fake time for each join to finish: in a bubble
// nothing happens between timers, so a long enough sleep is exact.
func (n *simNet) grow(t testing.TB, cfg Config, rng *rand.Rand, count int) ([]addr.Addr, []*DHT) {
	const settle = 2 * time.Second
	as := pickAddrs(rng, count)
	ds := make([]*DHT, count)
	for i, a := range as {
		ds[i] = n.add(t, cfg, a)
		if i > 0 {
			ds[i].AddContact(as[rng.IntN(i)])
			time.Sleep(settle)
		}
	}
	return as, ds
}
