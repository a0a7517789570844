package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestControlRoundTrip(t *testing.T) {
	rundir := t.TempDir()
	ctx := context.Background()
	st := testStatus()
	c, err := listenControl(rundir, "a", func(req request) response {
		switch req.Op {
		case "status":
			return response{OK: true, Status: &st}
		case "reload":
			return response{Error: "a.toml: layer: cannot change live"}
		}
		return response{Error: "unknown request " + req.Op}
	})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(sockPath(rundir, "a"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, %v; want 0600", fi.Mode(), err)
	}
	resp, err := call(ctx, rundir, "a", request{Op: "status"}, time.Second)
	if err != nil || resp.Status == nil || len(resp.Status.Peers) != 2 {
		t.Fatalf("status: %+v, %v", resp, err)
	}
	if _, err := call(ctx, rundir, "a", request{Op: "reload"}, time.Second); err == nil || !strings.Contains(err.Error(), "cannot change live") {
		t.Fatalf("reload: %v; want the daemon's refusal", err)
	}
	if err := refuseIfUp(ctx, rundir, "a"); err == nil || !strings.Contains(err.Error(), "up already") {
		t.Fatalf("refuseIfUp: %v", err)
	}
	if ls, err := links(rundir); err != nil || strings.Join(ls, ",") != "a" {
		t.Fatalf("links = %v, %v", ls, err)
	}
	c.close()
	if _, err := os.Stat(sockPath(rundir, "a")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left behind: %v", err)
	}
	if _, err := call(ctx, rundir, "a", request{Op: "status"}, time.Second); !errors.Is(err, errNotUp) {
		t.Fatalf("status of a link that is down: %v; want errNotUp", err)
	}
	if err := refuseIfUp(ctx, rundir, "a"); err != nil {
		t.Fatalf("refuseIfUp of a link that is down: %v", err)
	}
}

// A socket left by a daemon that was killed does not answer: the link
// counts as down, and a new daemon replaces the socket.
func TestControlStaleSocket(t *testing.T) {
	rundir := t.TempDir()
	os.MkdirAll(sockDir(rundir), 0o700)
	ln, err := net.Listen("unix", sockPath(rundir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := call(context.Background(), rundir, "a", request{Op: "status"}, time.Second); !errors.Is(err, errNotUp) {
		t.Fatalf("stale socket: %v; want errNotUp", err)
	}
	c, err := listenControl(rundir, "a", func(request) response { return response{OK: true} })
	if err != nil {
		t.Fatalf("listen over a stale socket: %v", err)
	}
	defer c.close()
	if _, err := call(context.Background(), rundir, "a", request{Op: "status"}, time.Second); err != nil {
		t.Fatal(err)
	}
}

// A request that is not JSON, or that never comes, gets an error or the
// connection closed, and the server goes on serving.
func TestControlBadRequests(t *testing.T) {
	rundir := t.TempDir()
	c, err := listenControl(rundir, "a", func(request) response { return response{OK: true} })
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	conn, err := net.Dial("unix", filepath.Join(sockDir(rundir), "a.sock"))
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("{not json\n"))
	buf := make([]byte, 256)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _ := conn.Read(buf)
	conn.Close()
	if !strings.Contains(string(buf[:n]), `"error":"bad request"`) {
		t.Fatalf("answer to garbage: %q", buf[:n])
	}
	if _, err := call(context.Background(), rundir, "a", request{Op: "status"}, time.Second); err != nil {
		t.Fatalf("after a bad request: %v", err)
	}
}

// A control socket whose run directory was removed (systemd removes irmd's
// RuntimeDirectory when it restarts irmd) is made again by renew.
func TestControlRenew(t *testing.T) {
	rundir := t.TempDir()
	c, err := listenControl(rundir, "a", func(request) response { return response{OK: true} })
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if err := c.renew(); err != nil { // nothing to do
		t.Fatal(err)
	}
	if _, err := call(context.Background(), rundir, "a", request{Op: "status"}, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(sockDir(rundir)); err != nil {
		t.Fatal(err)
	}
	if _, err := call(context.Background(), rundir, "a", request{Op: "status"}, time.Second); !errors.Is(err, errNotUp) {
		t.Fatalf("socket removed: %v", err)
	}
	if err := c.renew(); err != nil {
		t.Fatal(err)
	}
	if _, err := call(context.Background(), rundir, "a", request{Op: "status"}, time.Second); err != nil {
		t.Fatalf("after renew: %v", err)
	}
	fi, err := os.Stat(sockDir(rundir))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket directory %v, %v; want 0700", fi.Mode(), err)
	}
}

// FuzzControlRequest: any bytes on the control socket get an answer, and
// only a request whose op is known is served.
func FuzzControlRequest(f *testing.F) {
	for _, seed := range []string{`{"op":"status"}`, `{"op":"down"}` + "\n", `{"op":1}`, `{`, `null`, `[]`, ``} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		resp := answer(line, func(req request) response {
			switch req.Op {
			case "status", "reload", "down":
				return response{OK: true}
			}
			return response{Error: "unknown request"}
		})
		if !resp.OK && resp.Error == "" {
			t.Fatalf("%q: neither served nor refused", line)
		}
	})
}
