package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for ovpn when `ovpn up` starts
// its daemon (os.Executable is the test binary).
func TestMain(m *testing.M) {
	if os.Getenv("OVPN_TEST_AS_OVPN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// wantUpError is what up says without irmd: that irmd is not running, or,
// for a user without CAP_NET_ADMIN, that.
func wantUpError(t *testing.T, rundir, stderr string) {
	t.Helper()
	if checkCapNetAdmin() != nil {
		if !strings.Contains(stderr, "ovpn needs CAP_NET_ADMIN") {
			t.Fatalf("without CAP_NET_ADMIN: %q", stderr)
		}
		return
	}
	want := "irmd is not running (no socket in " + rundir + "): start it with 'systemctl start irmd' or 'irmd'"
	if !strings.Contains(stderr, want) {
		t.Fatalf("up without irmd: %q; want %q", stderr, want)
	}
}

func TestUpForegroundWithoutIRMd(t *testing.T) {
	rundir := t.TempDir()
	t.Setenv("OUROBOROS_RUNDIR", rundir)
	var out, errb strings.Builder
	code := run(context.Background(), []string{"up", writeConfig(t, "site-a", goodConfig), "--foreground"}, &out, &errb)
	if code != exitFailure {
		t.Fatalf("exit %d, want %d: %s", code, exitFailure, errb.String())
	}
	wantUpError(t, rundir, errb.String())
	if _, err := os.Stat(sockPath(rundir, "site-a")); err == nil {
		t.Fatal("a failed up left its control socket")
	}
}

// The background up starts the daemon, which reports its failure on the
// ready pipe; up prints it with the log's path and exits 1.
func TestUpBackgroundReportsTheDaemonsError(t *testing.T) {
	if checkCapNetAdmin() != nil {
		t.Skip("needs root (CAP_NET_ADMIN): the background daemon is started only with it")
	}
	rundir := t.TempDir()
	t.Setenv("OUROBOROS_RUNDIR", rundir)
	t.Setenv("OVPN_TEST_AS_OVPN", "1")
	var out, errb strings.Builder
	code := run(context.Background(), []string{"up", writeConfig(t, "site-a", goodConfig)}, &out, &errb)
	if code != exitFailure || out.String() != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	wantUpError(t, rundir, errb.String())
	logPath := filepath.Join(rundir, "ovpn", "site-a.log")
	if !strings.Contains(errb.String(), "(log: "+logPath+")") {
		t.Fatalf("the error does not point to the log: %q", errb.String())
	}
	b, err := os.ReadFile(logPath)
	if err != nil || !strings.Contains(string(b), "irmd is not running") {
		t.Fatalf("the daemon's log: %q, %v", b, err)
	}
}
