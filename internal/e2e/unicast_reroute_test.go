package e2e

import (
	"bytes"
	"crypto/sha256"
	"hash"
	"io"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestE2EUnicastRingReroute: a ring of five, A - B - C - D - E - A. A
// reliable ocat stream runs from A to C, along A - B - C, when the link
// B - C goes silent (100% loss both ways, no carrier change): the layer
// must find that the adjacency is dead and route around the ring, and the
// stream must arrive whole. A ping every 10 ms along the same path
// measures the outage.
func TestE2EUnicastRingReroute(t *testing.T) {
	u := newUCLab(t, []hop{{"b", "a"}, {"c", "b"}, {"d", "c"}, {"e", "d"}, {"a", "e"}})
	a, b, c := u.nodes["a"], u.nodes["b"], u.nodes["c"]
	serveUC(t, c, "pinger", c.Start("oping", "-l"))
	pingUntil(t, a, "pinger", 3, 15*time.Second)

	// The stream is made in two parts, the second sent only once the
	// layer has healed, so that it spans the cut however fast it runs.
	const first, second = 8 << 20, 24 << 20
	var got hashWriter
	got.h = sha256.New()
	sinkCmd := c.Command("ocat", "-l")
	sinkCmd.Stdout = &got
	sink := c.StartCmd(sinkCmd)
	serveUC(t, c, "sink", sink)
	srcCmd := a.Command("ocat", "-n", "sink", "-q", "data")
	stdin, err := srcCmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	src := a.StartCmd(srcCmd)
	sent := sha256.New()
	healed := make(chan struct{})
	var writeErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer stdin.Close()
		gen := rand.NewChaCha8([32]byte{5})
		w := io.MultiWriter(stdin, sent)
		if _, writeErr = io.CopyN(w, gen, first); writeErr != nil {
			return
		}
		<-healed
		_, writeErr = io.CopyN(w, gen, second)
	})
	defer func() {
		select {
		case <-healed:
		default:
			close(healed)
		}
		stdin.Close()
		wg.Wait()
	}()

	ping := a.Start("oping", "-n", "pinger", "-c", "100000", "-i", "10ms", "-w", "1s")
	waitFor(t, 10*time.Second, "a megabyte to arrive and pings to flow", func() bool {
		return got.n.Load() > 1<<20 && len(replySeqs(ping.Output())) > 20
	})
	if !strings.Contains(ipcpRow(t, b, "ucB")["NEIGHBOURS"], "ucC") {
		t.Fatalf("B is not C's neighbour before the cut: %v", ipcpRow(t, b, "ucB"))
	}

	cut := time.Now()
	before := len(replySeqs(ping.Output()))
	u.link("b", "c").Loss(100)
	waitFor(t, 5*time.Second, "B to find C dead", func() bool {
		return !strings.Contains(ipcpRow(t, b, "ucB")["NEIGHBOURS"], "ucC")
	})
	dead := time.Since(cut)
	waitFor(t, 15*time.Second, "pings to come back around the ring", func() bool {
		return len(replySeqs(ping.Output())) > before+50
	})
	back := time.Since(cut)
	close(healed)

	if err := src.Wait(60 * time.Second); err != nil {
		t.Fatalf("ocat -n across the cut: %v\n%s", err, src.Output())
	}
	if err := sink.Wait(30 * time.Second); err != nil {
		t.Fatalf("ocat -l across the cut: %v\n%s", err, sink.Output())
	}
	wg.Wait()
	if writeErr != nil {
		t.Fatalf("writing to ocat: %v", writeErr)
	}
	ping.Signal(syscall.SIGINT)
	ping.Wait(5 * time.Second)
	seqs := replySeqs(ping.Output())
	gap := maxGap(seqs)
	t.Logf("cut B - C: B found C dead after %v; pings back after %v; longest gap %d pings (~%v at 10 ms)",
		dead.Round(time.Millisecond), back.Round(time.Millisecond), gap, time.Duration(gap)*10*time.Millisecond)
	t.Logf("%d MB across the cut, %d replies: %s", (first+second)>>20, len(seqs), lastLine(ping.Output()))
	if n := got.n.Load(); n != first+second || !bytes.Equal(got.h.Sum(nil), sent.Sum(nil)) {
		t.Fatalf("received %d bytes of %d: not identical", n, first+second)
	}
	if gap < 2 {
		t.Errorf("no gap in the pings: the cut link was not on the path?")
	}
	if d := time.Duration(gap) * 10 * time.Millisecond; d > 5*time.Second {
		t.Errorf("reroute took about %v, want seconds at most", d)
	}
}

// hashWriter hashes and counts what is written to it.
type hashWriter struct {
	h hash.Hash // written by one goroutine, read after it is done
	n atomic.Int64
}

func (w *hashWriter) Write(p []byte) (int, error) {
	w.h.Write(p)
	w.n.Add(int64(len(p)))
	return len(p), nil
}

var replySeq = regexp.MustCompile(`(?m)^\d+ bytes from .*: seq=(\d+) `)

// replySeqs returns the sequence numbers of oping's replies, sorted.
func replySeqs(out string) []int {
	var seqs []int
	for _, m := range replySeq.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		seqs = append(seqs, n)
	}
	slices.Sort(seqs)
	return slices.Compact(seqs)
}

// maxGap returns the largest step between sorted sequence numbers: 1 when
// none was lost.
func maxGap(seqs []int) int {
	gap := 0
	for i := 1; i < len(seqs); i++ {
		gap = max(gap, seqs[i]-seqs[i-1])
	}
	return gap
}
