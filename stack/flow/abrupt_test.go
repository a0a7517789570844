package flow_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/stack/irm/irmtest"
	"o7s.dev/ouroboros/stack/qos"
)

// checkAborted fails unless err is an abrupt end that names how many bytes
// had arrived, and is not the orderly end (ErrPeerGone).
func checkAborted(t *testing.T, what string, err error, rx int) {
	t.Helper()
	if !errors.Is(err, flow.ErrAborted) || !errors.Is(err, flow.ErrFlowDown) || errors.Is(err, flow.ErrPeerGone) {
		t.Fatalf("%s: %v, want ErrAborted and ErrFlowDown, not ErrPeerGone", what, err)
	}
	if want := "(" + strconv.Itoa(rx) + " bytes received)"; !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: %q does not say %q", what, err, want)
	}
}

// A peer whose flow ends without FRCT's close (it crashed, or the teardown
// was forged below it: irmd reports "peer deallocated" all the same) is an
// abrupt end at the reader, after what arrived, never a clean end.
func TestPeerEndWithoutCloseIsAborted(t *testing.T) {
	h := irmtest.Start(t, irmtest.Options{})
	c, s := pair(t, h, qos.Data)
	for range 3 {
		if _, err := c.Write([]byte("0123456789")); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 100)
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := 0
	for got < 30 { // every SDU arrived before the end
		n, err := s.Read(buf)
		if err != nil {
			t.Fatalf("after %d bytes: %v", got, err)
		}
		got += n
	}
	flow.CloseSocket(c)
	_, err := s.Read(buf)
	checkAborted(t, "read", err, 30)
	if !strings.Contains(err.Error(), "without the peer closing") {
		t.Fatalf("read: %q does not name the cause", err)
	}
}

// When irmd or the layer ends a flow, a reader at one end and a writer
// blocked on the peer's closed window at the other both fail at once with
// the abrupt end.
func TestFlowDownAbortsReaderAndBlockedWriter(t *testing.T) {
	h := irmtest.Start(t, irmtest.Options{})
	c, s := pair(t, h, qos.Data)
	werr := make(chan error, 1)
	go func() {
		msg := make([]byte, 1000)
		for {
			if _, err := c.Write(msg); err != nil {
				werr <- err
				return
			}
		}
	}()
	// s reads nothing: c fills its window (and maybe the sockets), and
	// blocks; then nothing moves any more.
	var last int
	for stable := 0; stable < 20; time.Sleep(5 * time.Millisecond) {
		n, _ := c.TxQueued()
		if n == last {
			stable++
		} else {
			stable = 0
		}
		last = n
	}
	select {
	case err := <-werr:
		t.Fatalf("writer ended before the flow did: %v", err)
	default:
	}
	rerr := make(chan error, 1)
	go func() {
		s.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 2000)
		for {
			if _, err := s.Read(buf); err != nil {
				rerr <- err
				return
			}
		}
	}()
	h.Stop()
	for what, ch := range map[string]chan error{"blocked write": werr, "read": rerr} {
		select {
		case err := <-ch:
			if !errors.Is(err, flow.ErrAborted) || errors.Is(err, flow.ErrPeerGone) {
				t.Fatalf("%s: %v, want ErrAborted", what, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s did not return when the flow went down", what)
		}
	}
}
