package e2e

import (
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/hostlab"
	"o7s.dev/ouroboros/internal/netlab"
)

// peerTimeout is the default peer timeout of the named QoS specs: the
// bound within which an end notices that its peer vanished.
const peerTimeout = 15 * time.Second

// endlessCat starts a reliable ocat transfer from a to b's "sink" over
// "wan", fed an endless stream, and waits until a megabyte has arrived. It
// returns the two ocat processes and what b has received so far.
func endlessCat(t *testing.T, a, b *netlab.Node) (sender, receiver *netlab.Proc, received *countingWriter) {
	t.Helper()
	received = new(countingWriter)
	cmd := b.Command("ocat", "-l")
	cmd.Stdout = received
	receiver = b.StartCmd(cmd)
	serveOn(t, b, "sink", receiver)
	cli := a.Command("ocat", "-n", "sink", "-q", "data")
	stdin, err := cli.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	sender = a.StartCmd(cli)
	go feed(stdin)
	t.Cleanup(func() { stdin.Close() })
	waitFor(t, 20*time.Second, "a megabyte to cross", func() bool { return received.n.Load() > 1<<20 })
	return sender, receiver, received
}

// feed writes to w until it fails.
func feed(w io.Writer) {
	chunk := make([]byte, 64<<10)
	for {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// mustFailWithin waits for p to exit non-zero within d and returns its
// output; it fails the test on a clean exit or none.
func mustFailWithin(t *testing.T, p *netlab.Proc, what string, d time.Duration) string {
	t.Helper()
	start := time.Now()
	err := p.Wait(d)
	out := p.Output()
	switch {
	case errors.Is(err, hostlab.ErrStillRunning):
		t.Fatalf("%s still runs %v after its peer went: it must notice within the peer timeout\n%s", what, d, out)
	case err == nil:
		t.Fatalf("%s exited 0 on a truncated transfer\n%s", what, out)
	}
	t.Logf("%s exited after %v (%v): %s", what, time.Since(start).Round(time.Millisecond), err, strings.TrimSpace(out))
	return out
}

// TestE2ESenderHostKilledIsAbruptAtReceiver: the sending side's irmd is
// SIGKILLed mid-transfer, so nothing more comes and nothing closes the
// flow. The receiving ocat must not take the silence for an end of stream,
// nor wait 120 s: it exits non-zero within the peer timeout, saying the
// flow ended abruptly. The sender, whose irmd is gone, fails too.
func TestE2ESenderHostKilledIsAbruptAtReceiver(t *testing.T) {
	u := udpPair(t)
	sender, receiver, _ := endlessCat(t, u.a, u.b)
	u.irmdA.Signal(syscall.SIGKILL)
	out := mustFailWithin(t, receiver, "the receiving ocat", peerTimeout+10*time.Second)
	mustContain(t, out, "flow ended abruptly", "bytes received", "the transfer is incomplete")
	mustFailWithin(t, sender, "the sending ocat", 10*time.Second)
}

// TestE2ESenderKilledIsAbruptAtReceiver: the sending ocat is SIGKILLed
// mid-transfer, so its irmd deallocates the flow and the receiver's irmd
// reports "peer deallocated", exactly as for a forged shim DEALLOC. Before
// FRCT closed in order in band, the receiver took that for the end of the
// stream and exited 0 with part of the data; now it exits 1 at once.
func TestE2ESenderKilledIsAbruptAtReceiver(t *testing.T) {
	u := udpPair(t)
	sender, receiver, _ := endlessCat(t, u.a, u.b)
	sender.Signal(syscall.SIGKILL)
	out := mustFailWithin(t, receiver, "the receiving ocat", 5*time.Second)
	mustContain(t, out, "flow ended abruptly", "without the peer closing the stream", "the transfer is incomplete")
}

// TestE2EReceiverHostKilledIsAbruptAtSender: the receiving side's irmd is
// SIGKILLed mid-transfer. The sender, blocked on a window nobody will open
// again, exits non-zero within the peer timeout.
func TestE2EReceiverHostKilledIsAbruptAtSender(t *testing.T) {
	u := udpPair(t)
	sender, _, _ := endlessCat(t, u.a, u.b)
	u.irmdB.Signal(syscall.SIGKILL)
	out := mustFailWithin(t, sender, "the sending ocat", peerTimeout+10*time.Second)
	mustContain(t, out, "flow ended abruptly", "the peer vanished")
}

// udpLab is two hosts a and b, each with an irmd and a udp4 IPCP in the
// layer "wan"; a finds b's "sink" through its hosts file.
type udpLab struct {
	a, b         *netlab.Node
	irmdA, irmdB *netlab.Proc
	link         *netlab.Link
}

func udpPair(t *testing.T) *udpLab {
	t.Helper()
	lab := netlab.New(t, bin)
	u := &udpLab{a: lab.Node("a"), b: lab.Node("b")}
	u.link = lab.Link(u.a, u.b).Subnet("10.1.0.0/24")
	u.a.Hosts(map[string]string{"sink": u.link.B.IP4().String()})
	u.irmdA, u.irmdB = u.a.StartIRMd(), u.b.StartIRMd()
	u.a.MustRun("irm", "ipcp", "bootstrap", "name", "ua", "layer", "wan", "type", "udp4", "ip", u.link.A.IP4().String())
	u.b.MustRun("irm", "ipcp", "bootstrap", "name", "ub", "layer", "wan", "type", "udp4", "ip", u.link.B.IP4().String())
	return u
}
