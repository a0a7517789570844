package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNotify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Setenv("NOTIFY_SOCKET", path)
	n := newNotifier()
	if err := n.send("READY=1"); err != nil {
		t.Fatal(err)
	}
	if err := n.send(reloadingState()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	ln.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, want := range []string{"READY=1", "RELOADING=1\nMONOTONIC_USEC="} {
		k, err := ln.Read(buf)
		if err != nil || !strings.HasPrefix(string(buf[:k]), want) {
			t.Fatalf("got %q, %v; want %q", buf[:k], err, want)
		}
	}
}

func TestNotifyWithoutSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if err := newNotifier().send("READY=1"); err != nil {
		t.Fatal(err)
	}
}

func TestNotifyAbstractSocket(t *testing.T) {
	name := "@ovpn-test-" + filepath.Base(t.TempDir())
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: "\x00" + name[1:], Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Setenv("NOTIFY_SOCKET", name)
	if err := newNotifier().send("STOPPING=1"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	ln.SetReadDeadline(time.Now().Add(5 * time.Second))
	if k, err := ln.Read(buf); err != nil || string(buf[:k]) != "STOPPING=1" {
		t.Fatalf("got %q, %v", buf[:k], err)
	}
}
