package e2e

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/hostlab"
)

func TestE2EPingOverLocalLayer(t *testing.T) {
	h := localHost(t)
	serve(t, h, "pinger", "oping", "-l")
	out := h.MustRun("oping", "-n", "pinger", "-c", "20", "-i", "5ms")
	mustContain(t, out, "--- pinger ping statistics ---", "20 packets transmitted, 20 received, 0% packet loss", "rtt min/avg/max/mdev = ")
}

func TestE2ECatTwentyMegabytesRaw(t *testing.T) { catIdentical(t, 20<<20, "raw") }

// TestE2ECatFiftyMegabytesReliable sends through FRCT's reliable mode.
func TestE2ECatFiftyMegabytesReliable(t *testing.T) { catIdentical(t, 50<<20, "data") }

// TestE2ECatFiftyMegabytesBestToSlowReader is issue 11's stream: 50 MB,
// one way, best effort, piped into the client and out of a server whose
// output is read slowly. The local layer loses nothing, so every byte
// must arrive, in each of three runs.
func TestE2ECatFiftyMegabytesBestToSlowReader(t *testing.T) {
	h := localHost(t)
	h.MustRun("irm", "name", "register", "sink", "layer", "local")
	for range 3 {
		catTo(t, h, 50_000_000, "best", true)
	}
}

// catIdentical copies size random bytes with ocat over a flow of the given
// QoS and checks that they arrive identical.
func catIdentical(t *testing.T, size int, q string) {
	h := localHost(t)
	h.MustRun("irm", "name", "register", "sink", "layer", "local")
	catTo(t, h, size, q, false)
}

// slowWriter pauses before each write.
type slowWriter struct{ buf *bytes.Buffer }

func (w slowWriter) Write(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	return w.buf.Write(p)
}

// catTo copies size random bytes from ocat -n to ocat -l on h, where sink
// is registered in the local layer; with slow,
// through pipes at both ends and into a reader that takes its time.
func catTo(t *testing.T, h *hostlab.Host, size int, q string, slow bool) {
	dir := t.TempDir()
	src := filepath.Join(dir, "f")
	data := make([]byte, size)
	rand.Read(data)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	srvCmd := h.Command("ocat", "-l")
	srvCmd.Stdout = &got
	if slow {
		srvCmd.Stdout = slowWriter{&got}
	}
	srv := h.StartCmd(srvCmd)
	h.MustRun("irm", "bind", "process", itoa(srv.PID()), "name", "sink")

	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cli := h.Command("ocat", "-n", "sink", "-q", q)
	cli.Stdin = in
	if slow {
		cli.Stdin = bytes.NewReader(data) // not a file: through a pipe, as a shell pipeline
	}
	start := time.Now()
	if out, err := cli.CombinedOutput(); err != nil {
		t.Fatalf("ocat -n: %v\n%s", err, out)
	}
	// The server exits by itself once the client's close reaches it.
	if err := srv.Wait(30 * time.Second); err != nil {
		t.Fatalf("ocat -l: %v\n%s", err, srv.Output())
	}
	t.Logf("%d MB over qos %s in %v", size>>20, q, time.Since(start).Round(time.Millisecond))
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("received %d bytes, sent %d: not identical", got.Len(), len(data))
	}
}

func TestE2EDeallocIsSeenByPeer(t *testing.T) {
	h := localHost(t)
	srv := serve(t, h, "sink", "ocat", "-l")
	cli := h.Command("ocat", "-n", "sink")
	stdin, err := cli.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := h.StartCmd(cli)
	io.WriteString(stdin, "bye\n")
	waitFor(t, 5*time.Second, "the server to receive the data", func() bool { return strings.Contains(srv.Output(), "bye") })
	stdin.Close() // EOF: the client deallocates
	if err := c.Wait(5 * time.Second); err != nil {
		t.Fatalf("client: %v\n%s", err, c.Output())
	}
	start := time.Now()
	if err := srv.Wait(2 * time.Second); err != nil {
		t.Fatalf("server did not end cleanly within 2 s of the client's close: %v\n%s", err, srv.Output())
	}
	t.Logf("server saw the deallocation after %v", time.Since(start))
}

func TestE2EAutoStartsBoundProgram(t *testing.T) {
	h := localHost(t)
	h.MustRun("irm", "name", "register", "echo", "layer", "local")
	h.MustRun("irm", "bind", "program", filepath.Join(bin, "oecho"), "name", "echo", "auto", "--", "-l")
	out := h.MustRun("oecho", "-n", "echo", "-m", "hello auto-start")
	mustContain(t, out, "hello auto-start")
	names := h.MustRun("irm", "name", "list")
	mustContain(t, names, "echo", "oecho")
}

// TestE2EAutoStartBurstStartsOne: a burst of requests for an auto-started
// name that nobody serves yet starts the program once, not once per
// request (each instance runs as root: a burst must not multiply them),
// and every request is served by it.
func TestE2EAutoStartBurstStartsOne(t *testing.T) {
	h := localHost(t)
	h.MustRun("irm", "name", "register", "echo", "layer", "local")
	h.MustRun("irm", "bind", "program", filepath.Join(bin, "oecho"), "name", "echo", "auto", "--", "-l")
	const clients = 20
	errs := make(chan error, clients)
	for i := range clients {
		go func() {
			out, err := h.Run("oecho", "-n", "echo", "-m", "burst "+itoa(i))
			if err == nil && !strings.Contains(out, "burst "+itoa(i)) {
				err = errors.New("no echo in: " + out)
			}
			errs <- err
		}()
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Errorf("client: %v", err)
		}
	}
	if n := strings.Count(h.IRMd().Output(), `msg="auto-started program"`); n != 1 {
		t.Fatalf("%d clients at once started the program %d times, want once\n%s", clients, n, h.IRMd().Output())
	}
}

func TestE2ERestartWhileClientConnected(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			h := localHost(t)
			srv := serve(t, h, "sink", "ocat", "-l")
			cli := h.Command("ocat", "-n", "sink", "-q", "raw")
			stdin, err := cli.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			c := h.StartCmd(cli)
			io.WriteString(stdin, "hello\n")
			waitFor(t, 5*time.Second, "data to flow", func() bool { return strings.Contains(srv.Output(), "hello") })

			h.IRMd().Signal(sig)
			if err := h.IRMd().Wait(5 * time.Second); sig == syscall.SIGTERM && err != nil {
				t.Fatalf("irmd on SIGTERM: %v (want exit 0)\n%s", err, h.IRMd().Output())
			}
			// Both ends learn at once: the server's read fails, the client's
			// next write (or its watch on irmd) fails; neither hangs.
			if err := srv.Wait(5 * time.Second); err == nil || err == hostlabStillRunning() {
				t.Fatalf("server after irmd stopped: %v, want a non-zero exit\n%s", err, srv.Output())
			}
			mustContain(t, srv.Output(), "flow down")
			io.WriteString(stdin, "more\n")
			if err := c.Wait(5 * time.Second); err == nil || err == hostlabStillRunning() {
				t.Fatalf("client after irmd stopped: %v, want a non-zero exit\n%s", err, c.Output())
			}

			// A new irmd takes over the run directory, stale socket or not.
			h.StartIRMd()
			h.MustRun("irm", "ipcp", "bootstrap", "name", "lo", "layer", "local", "type", "local")
			serve(t, h, "pinger", "oping", "-l")
			mustContain(t, h.MustRun("oping", "-n", "pinger", "-c", "3", "-i", "10ms"), "3 received, 0% packet loss")
		})
	}
}

func TestE2ESecondIRMdRefused(t *testing.T) {
	h := localHost(t)
	out, err := h.Run("irmd", "--stdout")
	if err == nil {
		t.Fatalf("a second irmd on the same run directory started:\n%s", out)
	}
	mustContain(t, out, "another irmd", "is running on "+h.RunDir)
}

func TestE2EToolsWithoutIRMdSayHowToStartIt(t *testing.T) {
	h := localHost(t)
	h.IRMd().Signal(syscall.SIGTERM)
	h.IRMd().Wait(5 * time.Second)
	for _, tool := range [][]string{{"irm", "ipcp", "list"}, {"oping", "-n", "x", "-c", "1"}, {"ocat", "-n", "x"}} {
		out, err := h.Run(tool[0], tool[1:]...)
		if err == nil {
			t.Fatalf("%v without irmd succeeded:\n%s", tool, out)
		}
		mustContain(t, out, "irmd")
	}
}
