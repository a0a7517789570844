package irm

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"o7s.dev/ouroboros/stack/ctrl"
)

// lockName is the file in the run directory that one irmd holds locked
// while it runs; it holds the pid.
const lockName = "irmd.pid"

// Listener is the control socket of a running irmd, with the run
// directory's lock.
type Listener struct {
	*net.UnixListener
	dir  string
	lock *os.File
}

// Listen claims runDir for this irmd and listens on its control socket. It
// refuses when another irmd holds the directory, and replaces a socket left
// behind by one that crashed.
func Listen(runDir string) (*Listener, error) {
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, fmt.Errorf("run directory %s: %w", runDir, err)
	}
	lock, err := lockRunDir(runDir)
	if err != nil {
		return nil, err
	}
	path := ctrl.SocketPath(runDir)
	// We hold the lock, so any socket here is stale.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		lock.Close()
		return nil, fmt.Errorf("removing stale socket %s: %w", path, err)
	}
	ul, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	ul.SetUnlinkOnClose(true)
	// Applications of any user may attach: flows are for every user, as
	// sockets are. What a connection may do is decided per request from
	// the kernel's credentials for it (SO_PEERCRED): management needs root,
	// irmd's user or the management group (SetGroup), a name's flows go to
	// the processes its binding's owner allows, and per-user limits bound
	// what anyone else holds.
	if err := os.Chmod(path, 0o666); err != nil {
		ul.Close()
		lock.Close()
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	return &Listener{UnixListener: ul, dir: runDir, lock: lock}, nil
}

func lockRunDir(runDir string) (*os.File, error) {
	path := filepath.Join(runDir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock file %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		holder := strings.TrimSpace(string(b))
		if holder == "" {
			holder = "unknown"
		}
		return nil, fmt.Errorf("another irmd (pid %s) is running on %s: stop it first, or set %s to use another run directory",
			holder, runDir, ctrl.EnvRunDir)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// SetGroup gives the control socket to the management group gid ([irmd]
// group), so that ls shows who manages irmd; 0 leaves it. The mode stays
// 0666: management is checked per request, not by the socket's mode.
func (l *Listener) SetGroup(gid int) error {
	if gid == 0 {
		return nil
	}
	path := ctrl.SocketPath(l.dir)
	if err := os.Chown(path, -1, gid); err != nil {
		return fmt.Errorf("socket %s: giving it to group %d: %w", path, gid, err)
	}
	return nil
}

// Close stops listening, removes the socket and releases the run directory.
func (l *Listener) Close() error {
	err := l.UnixListener.Close()
	os.Remove(filepath.Join(l.dir, lockName))
	l.lock.Close()
	return err
}
