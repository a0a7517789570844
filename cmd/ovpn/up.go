package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"o7s.dev/ouroboros/overlay/config"
)

// readyTimeout bounds how long `ovpn up` waits for its background daemon
// to be up: longer than the daemon's own timeouts (attach, register, bind).
const readyTimeout = 2 * time.Minute

// cmdUp is `ovpn up CONFIG [--foreground]`.
func cmdUp(ctx context.Context, inv *invocation) int {
	cfg, err := config.Load(config.Path(inv.args[0]))
	if err != nil {
		if capErr := checkCapNetAdmin(); capErr != nil && errors.Is(err, fs.ErrPermission) {
			// Not a bad config: a user who may not read it may not
			// bring the link up either, and that is the thing to say.
			fmt.Fprintf(inv.stderr, "ovpn: %v\n", capErr)
			return exitFailure
		}
		fmt.Fprintf(inv.stderr, "ovpn: %v\n", err)
		return exitUsage
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(inv.stderr, "ovpn: warning: %s: %s\n", cfg.File, w)
	}
	if !inv.flags["foreground"] {
		return background(ctx, inv, cfg)
	}
	return foreground(ctx, inv, cfg)
}

// foreground runs the link in this process until it is taken down. With
// --ready-fd (a background up's child) it reports "ready" or the error on
// that descriptor.
func foreground(ctx context.Context, inv *invocation, cfg *config.Link) int {
	notify := newNotifier()
	var ready io.WriteCloser = nopCloser{io.Discard}
	if inv.readyFD > 0 {
		ready = os.NewFile(uintptr(inv.readyFD), "ready")
	}
	log := slog.New(slog.NewTextHandler(inv.stderr, nil))
	d, err := up(ctx, cfg, inv.rundir, log)
	if err != nil {
		// The log first: up prints the error once it reads the pipe, and
		// the log should hold it by then.
		fmt.Fprintf(inv.stderr, "ovpn: %v\n", err)
		fmt.Fprintf(ready, "error %v\n", err)
		ready.Close()
		return exitFailure
	}
	log.Info("link up", "link", cfg.Link, "device", cfg.Interface.Device, "name", cfg.Name, "layer", cfg.Layer)
	fmt.Fprintln(ready, "ready")
	ready.Close()
	if err := notify.send("READY=1"); err != nil {
		log.Warn("cannot notify systemd", "err", err)
	}
	d.wait(func(s string) {
		if err := notify.send(s); err != nil {
			log.Warn("cannot notify systemd", "err", err)
		}
	})
	d.ctl.drain()
	return exitOK
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// background starts this program again as `up --foreground` in a session
// of its own, logging to RUNDIR/ovpn/LINK.log, and waits for it to report
// that the link is up, or why not.
func background(ctx context.Context, inv *invocation, cfg *config.Link) int {
	fail := func(err error) int {
		fmt.Fprintf(inv.stderr, "ovpn: %v\n", err)
		return exitFailure
	}
	if err := checkCapNetAdmin(); err != nil {
		return fail(err)
	}
	if err := refuseIfUp(ctx, inv.rundir, cfg.Link); err != nil {
		return fail(err)
	}
	logPath := filepath.Join(sockDir(inv.rundir), cfg.Link+".log")
	msg, err := spawn(ctx, cfg.File, logPath)
	if err != nil {
		return fail(err)
	}
	if detail, ok := strings.CutPrefix(msg, "error "); ok {
		return fail(fmt.Errorf("%s (log: %s)", detail, logPath))
	}
	if msg != "ready" {
		return fail(fmt.Errorf("link %s: the daemon exited before it was up; see %s", cfg.Link, logPath))
	}
	fmt.Fprintln(inv.stdout, summary(cfg, logPath))
	return exitOK
}

// spawn starts the daemon and returns what it reported on its ready pipe
// ("" if it exited without a word).
func spawn(ctx context.Context, file, logPath string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return "", fmt.Errorf("log directory: %w", err)
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return "", fmt.Errorf("log file: %w", err)
	}
	defer logf.Close()
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("cannot find this program to start the daemon: %w", err)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	defer r.Close()
	cmd := exec.Command(exe, "up", "--foreground", "--ready-fd", "3", abs)
	cmd.Dir = "/"
	// A background daemon is nobody's service: it must not tell a
	// service manager that it is ready in the name of the up that ran it.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "NOTIFY_SOCKET=") })
	cmd.Stdout, cmd.Stderr = logf, logf // stdin: /dev/null
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return "", fmt.Errorf("cannot start the daemon: %w", err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	r.SetReadDeadline(time.Now().Add(readyTimeout))
	stop := context.AfterFunc(ctx, func() { r.SetReadDeadline(time.Now()) })
	defer stop()
	// The daemon writes "ready" or "error ..." (maybe several lines) and
	// closes the pipe; if it dies first, the pipe ends empty.
	msg, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("no word from the daemon (pid %d): %w; see %s", pid, err, logPath)
	}
	return strings.TrimSpace(string(msg)), nil
}

// summary is the line `ovpn up` prints once the link is up.
func summary(cfg *config.Link, logPath string) string {
	addrs := prefixes(cfg.Interface.Address)
	if len(cfg.Interface.Address) == 0 {
		addrs = "addresses from a peer's pool"
	}
	return fmt.Sprintf("link %s up: %s (%s) %s, %s in layer %s, %d peer(s) to dial; log %s",
		cfg.Link, cfg.Interface.Device, cfg.Interface.Mode, addrs, cfg.Name, cfg.Layer, len(cfg.Peers), logPath)
}
