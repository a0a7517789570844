package crypt

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// headers returns the epoch byte and counter of each packet.
func headers(pkts [][]byte) (ep []byte, ctr []uint64) {
	for _, p := range pkts {
		e, c := parseHeader(p)
		ep, ctr = append(ep, e), append(ctr, c)
	}
	return ep, ctr
}

func TestRekeyByCount(t *testing.T) {
	for _, suite := range allSuites() {
		s, o := pipe(t, suite, Options{RekeyPackets: 10})
		pkts, plain := sealAll(t, s, 35, 20)
		ep, ctr := headers(pkts)
		for i := range pkts {
			if ep[i] != byte(i/10) || ctr[i] != uint64(i%10) {
				t.Fatalf("packet %d: epoch %d counter %d, want %d %d", i, ep[i], ctr[i], i/10, i%10)
			}
			mustOpen(t, o, pkts[i], plain[i], "packet")
		}
		if s.Epoch() != 3 || o.Epoch() != 3 {
			t.Fatalf("sealer epoch %d, opener epoch %d, want 3", s.Epoch(), o.Epoch())
		}
	}
}

func TestRekeyByBytes(t *testing.T) {
	s, o := pipe(t, DefaultSuite(), Options{RekeyBytes: 1200})
	// 300-byte SDUs: the 4th packet brings the epoch to 1200, the limit,
	// so the 5th starts epoch 1.
	pkts, plain := sealAll(t, s, 9, 300)
	ep, _ := headers(pkts)
	if !bytes.Equal(ep, []byte{0, 0, 0, 0, 1, 1, 1, 1, 2}) {
		t.Fatalf("epochs %v", ep)
	}
	for i := range pkts {
		mustOpen(t, o, pkts[i], plain[i], "packet")
	}
}

func TestRekeyByAge(t *testing.T) {
	c := newClock()
	s, o := pipe(t, DefaultSuite(), Options{Now: c.now})
	seal := func() []byte {
		p, err := s.Seal(nil, []byte("tick"))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	var ep []byte
	for _, step := range []time.Duration{0, time.Minute, time.Minute - 1, 1, 30 * time.Second, time.Hour} {
		c.advance(step)
		p := seal()
		ep = append(ep, p[0])
		mustOpen(t, o, p, []byte("tick"), "packet")
	}
	// Epoch 0 is born at 0; at 2 min the Seal rekeys; epoch 1 is born at
	// 2 min 0 s and is 30 s old at the next one; an hour later, epoch 2.
	if !bytes.Equal(ep, []byte{0, 0, 0, 1, 1, 2}) {
		t.Fatalf("epochs %v", ep)
	}
}

// reorder returns a permutation of 0..n-1 where each index moves by at most
// span, from a fixed seed.
func reorder(n, span int, seed uint64) []int {
	r := rand.New(rand.NewPCG(seed, 1))
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	for i := 0; i+span < n; i += span {
		r.Shuffle(span, func(a, b int) { idx[i+a], idx[i+b] = idx[i+b], idx[i+a] })
	}
	return idx
}

// TestStreamAcrossEpochsReordered: a stream crossing three rekeys, shuffled
// across the boundaries, opens in full, and no packet opens twice.
func TestStreamAcrossEpochsReordered(t *testing.T) {
	for _, suite := range allSuites() {
		t.Run(suite.String(), func(t *testing.T) {
			s, o := pipe(t, suite, Options{RekeyPackets: 100})
			pkts, plain := sealAll(t, s, 400, 50)
			order := reorder(len(pkts), 40, 7)
			crossed := 0
			for k, i := range order {
				if k > 0 && pkts[i][0] < pkts[order[k-1]][0] {
					crossed++ // an older epoch's packet after a newer one
				}
				mustOpen(t, o, pkts[i], plain[i], "reordered packet")
			}
			if crossed == 0 || o.Epoch() != 3 {
				t.Fatalf("no packet crossed a boundary (%d) or epoch %d != 3", crossed, o.Epoch())
			}
			for _, p := range pkts {
				if _, err := o.Open(nil, p); !errors.Is(err, ErrReplay) && !errors.Is(err, ErrEpoch) {
					t.Fatalf("replay after the stream: %v", err)
				}
			}
		})
	}
}

// TestGraceByPackets: the previous epoch opens until the new one has opened
// GracePackets packets; then its key is erased.
func TestGraceByPackets(t *testing.T) {
	s, o := pipe(t, DefaultSuite(), Options{RekeyPackets: 100, GracePackets: 20})
	pkts, plain := sealAll(t, s, 200, 16)
	for i := range 90 {
		mustOpen(t, o, pkts[i], plain[i], "epoch 0")
	}
	for i := 100; i < 119; i++ {
		mustOpen(t, o, pkts[i], plain[i], "epoch 1")
	}
	mustOpen(t, o, pkts[90], plain[90], "epoch 0 after 19 packets of epoch 1")
	mustOpen(t, o, pkts[119], plain[119], "20th packet of epoch 1")
	mustFail(t, o, pkts[91], ErrEpoch, "epoch 0 after the grace")
	if o.prev.live() || o.prev.sec != (keyIV{}) {
		t.Fatal("the previous epoch's key was not erased")
	}
	mustOpen(t, o, pkts[150], plain[150], "epoch 1 goes on")
}

func TestGraceByTime(t *testing.T) {
	c := newClock()
	s, o := pipe(t, DefaultSuite(), Options{RekeyPackets: 10, Now: c.now})
	pkts, plain := sealAll(t, s, 20, 16)
	mustOpen(t, o, pkts[10], plain[10], "epoch 1")
	c.advance(DefaultGraceAge - 1)
	mustOpen(t, o, pkts[9], plain[9], "epoch 0 inside the grace")
	c.advance(1)
	mustFail(t, o, pkts[8], ErrEpoch, "epoch 0 after the grace")
	mustOpen(t, o, pkts[11], plain[11], "epoch 1")
}

// TestOlderEpochRejected: after two rekeys, packets of the epoch before the
// previous one are refused, even inside the grace.
func TestOlderEpochRejected(t *testing.T) {
	s, o := pipe(t, DefaultSuite(), Options{RekeyPackets: 5})
	pkts, plain := sealAll(t, s, 15, 16)
	mustOpen(t, o, pkts[0], plain[0], "epoch 0")
	mustOpen(t, o, pkts[5], plain[5], "epoch 1")
	mustOpen(t, o, pkts[10], plain[10], "epoch 2")
	mustFail(t, o, pkts[1], ErrEpoch, "epoch 0 after epoch 2")
	mustOpen(t, o, pkts[6], plain[6], "epoch 1 in its grace")
	if o.Stats().Epoch != 1 {
		t.Fatalf("stats %+v", o.Stats())
	}
}

// TestSkippedEpochs: when every packet of some epochs is lost, the next
// epoch still opens, and so do late packets of the one just before it.
func TestSkippedEpochs(t *testing.T) {
	s, o := pipe(t, DefaultSuite(), Options{RekeyPackets: 10})
	pkts, plain := sealAll(t, s, 60, 16)
	mustOpen(t, o, pkts[0], plain[0], "epoch 0")
	forged := bytes.Clone(pkts[42])
	forged[0] = 1
	mustFail(t, o, forged, ErrAuth, "epoch 4's packet claiming epoch 1")
	mustOpen(t, o, pkts[42], plain[42], "epoch 4, epochs 1 to 3 lost")
	mustOpen(t, o, pkts[39], plain[39], "epoch 3, late")
	mustFail(t, o, pkts[25], ErrEpoch, "epoch 2")
	mustFail(t, o, pkts[1], ErrEpoch, "epoch 0")
	mustOpen(t, o, pkts[55], plain[55], "epoch 5")
	if o.Epoch() != 5 || len(o.ahead) != 0 {
		t.Fatalf("epoch %d, %d keys ahead", o.Epoch(), len(o.ahead))
	}
}

// TestEpochWrap: the epoch byte wraps; the Opener follows the full number,
// also when packets are lost and each packet is its own epoch.
func TestEpochWrap(t *testing.T) {
	s, o := pipe(t, ChaCha20Poly1305, Options{RekeyPackets: 1})
	pkts, plain := sealAll(t, s, 700, 16)
	for i := range pkts {
		if i%3 == 1 {
			continue // lost
		}
		mustOpen(t, o, pkts[i], plain[i], "packet")
	}
	if s.Epoch() != 699 || o.Epoch() != 699 {
		t.Fatalf("sealer epoch %d, opener epoch %d, want 699", s.Epoch(), o.Epoch())
	}
}

// TestForgedFutureEpoch: packets claiming epochs ahead fail authentication,
// change nothing, and derive each ahead key only once.
func TestForgedFutureEpoch(t *testing.T) {
	s, o := pipe(t, DefaultSuite(), Options{})
	pkts, plain := sealAll(t, s, 3, 16)
	mustOpen(t, o, pkts[0], plain[0], "packet 0")
	for _, e := range []byte{1, 2, 100, 127, 128, 255} {
		bad := bytes.Clone(pkts[1])
		bad[0] = e
		want := ErrAuth
		if int8(e) < 0 {
			want = ErrEpoch
		}
		mustFail(t, o, bad, want, "forged epoch")
	}
	if len(o.ahead) != maxAhead || o.Epoch() != 0 {
		t.Fatalf("%d keys ahead, epoch %d", len(o.ahead), o.Epoch())
	}
	first := o.ahead[0]
	bad := bytes.Clone(pkts[1])
	bad[0] = 127
	mustFail(t, o, bad, ErrAuth, "forged epoch again")
	if len(o.ahead) != maxAhead || o.ahead[0] != first {
		t.Fatal("ahead keys derived again")
	}
	mustOpen(t, o, pkts[2], plain[2], "packet 2")
	mustOpen(t, o, pkts[1], plain[1], "packet 1")
}

func TestExhausted(t *testing.T) {
	s, o := pipe(t, DefaultSuite(), Options{RekeyPackets: 2})
	s.lastEpoch = 1
	pkts, plain := sealAll(t, s, 4, 16)
	dst := []byte("keep")
	got, err := s.Seal(dst, []byte("one too many"))
	if !errors.Is(err, ErrExhausted) || string(got) != "keep" {
		t.Fatalf("seal past the last epoch: %q, %v", got, err)
	}
	for i := range pkts {
		mustOpen(t, o, pkts[i], plain[i], "packet")
	}
}

func TestErase(t *testing.T) {
	s, o := pipe(t, DefaultSuite(), Options{RekeyPackets: 2})
	pkts, plain := sealAll(t, s, 3, 16)
	mustOpen(t, o, pkts[0], plain[0], "packet 0")
	mustOpen(t, o, pkts[2], plain[2], "packet 2")
	s.Erase()
	o.Erase()
	if _, err := s.Seal(nil, []byte("x")); !errors.Is(err, ErrErased) {
		t.Fatalf("seal after erase: %v", err)
	}
	mustFail(t, o, pkts[1], ErrErased, "after erase")
	if s.sec != (keyIV{}) || o.cur.sec != (keyIV{}) || o.prev.sec != (keyIV{}) || len(o.ahead) != 0 {
		t.Fatal("key material left after Erase")
	}
}

// TestRekeyErasesOldKeys: after a rekey neither end holds the old epoch's
// key once its grace is over.
func TestRekeyErasesOldKeys(t *testing.T) {
	ini, _ := keyPair(t, DefaultSuite())
	s, o := pipe(t, DefaultSuite(), Options{RekeyPackets: 3, GracePackets: 1})
	pkts, plain := sealAll(t, s, 5, 16)
	if s.sec == ini.send {
		t.Fatal("the sealer kept the epoch-0 key after rekeying")
	}
	for i := range pkts {
		mustOpen(t, o, pkts[i], plain[i], "packet")
	}
	if o.prev.live() || o.prev.sec != (keyIV{}) || o.cur.sec == ini.send {
		t.Fatal("the opener kept the epoch-0 key after its grace")
	}
}

func TestBadOptions(t *testing.T) {
	ini, _ := keyPair(t, DefaultSuite())
	if _, err := ini.SealerWith(Options{RekeyAge: -1}); err == nil {
		t.Error("negative rekey age accepted")
	}
	if _, err := ini.OpenerWith(Options{GraceAge: -1}); err == nil {
		t.Error("negative grace accepted")
	}
}

// TestLastEpoch: the epoch number stops at MaxUint32: the Sealer is then
// exhausted, and the Opener refuses anything claiming to be after it.
func TestLastEpoch(t *testing.T) {
	s, o := pipe(t, DefaultSuite(), Options{RekeyPackets: 1})
	s.epoch, o.cur.n = math.MaxUint32-1, math.MaxUint32-1
	pkts, plain := sealAll(t, s, 2, 16)
	if _, err := s.Seal(nil, []byte("x")); !errors.Is(err, ErrExhausted) {
		t.Fatalf("seal after the last epoch: %v", err)
	}
	mustOpen(t, o, pkts[0], plain[0], "epoch MaxUint32-1")
	mustOpen(t, o, pkts[1], plain[1], "epoch MaxUint32")
	beyond := bytes.Clone(pkts[1])
	beyond[0]++
	mustFail(t, o, beyond, ErrEpoch, "epoch MaxUint32+1")
}
