package irm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"o7s.dev/ouroboros/stack/ctrl"
)

// identity is what the kernel says a connected process is: what binds it
// to names and what limits it. Nothing in it comes from the process itself.
type identity struct {
	pid, uid int
	// groups holds the process's effective gid and its supplementary
	// groups, for bindings and management that name a group.
	groups []int
	// exe is the executable the process runs, as /proc/PID/exe names it;
	// "" when irmd may not read it (irmd not root, the process another
	// user's), and then no program binding applies to the process.
	exe string
}

// readIdentity reads the identity of the peer of a control connection.
// With the peer's pidfd (SO_PEERPIDFD, Linux 6.5 and later), or else one
// opened on its pid, the process is checked to be still alive after
// /proc/PID was read: a pid is only reused once its process is gone, so
// what was read is that process's, not a newcomer's. Without
// SO_PEERPIDFD a pid reused between connect and hello is not detected.
//
// A peer in a pid namespace irmd cannot see (pid 0), or a kernel without
// pidfds (before Linux 5.3, or a seccomp filter that forbids them), leaves
// what can be read: the uid and gid, and the program without the check.
func readIdentity(p ctrl.Peer) (identity, error) {
	id := identity{pid: p.PID, uid: p.UID, groups: []int{p.GID}}
	if p.PID <= 0 {
		return id, nil
	}
	pfd := p.PIDFD
	if pfd < 0 {
		var err error
		pfd, err = unix.PidfdOpen(p.PID, 0)
		switch {
		case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM):
			pfd = -1
		case err != nil:
			return id, fmt.Errorf("process %d: pidfd_open: %w", p.PID, err)
		default:
			defer unix.Close(pfd)
		}
	}
	dir := "/proc/" + strconv.Itoa(p.PID)
	if exe, err := os.Readlink(dir + "/exe"); err == nil {
		id.exe = exe
	}
	if status, err := os.ReadFile(dir + "/status"); err == nil {
		id.groups = append(id.groups, statusInts(status, "Groups:")...)
	}
	if pfd < 0 {
		return id, nil
	}
	if err := unix.PidfdSendSignal(pfd, 0, nil, 0); err != nil && !errors.Is(err, unix.ENOSYS) {
		return id, fmt.Errorf("process %d exited while irmd identified it: %w", p.PID, err)
	}
	return id, nil
}

// processUID returns the effective uid of a running process, which a
// binding of the process records: only connections of that uid from the
// pid serve the name, so a pid reused by another user's process does not.
func processUID(pid int) (int, error) {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if errors.Is(err, os.ErrNotExist) {
		return 0, ctrl.Errorf(ctrl.CodeNotFound, "no process %d", pid)
	}
	if err != nil {
		return 0, ctrl.Errorf(ctrl.CodeInternal, "process %d: %v", pid, err)
	}
	uids := statusInts(status, "Uid:") // real, effective, saved, filesystem
	if len(uids) < 2 {
		return 0, ctrl.Errorf(ctrl.CodeInternal, "process %d: no effective uid in its status", pid)
	}
	return uids[1], nil
}

// statusInts returns the numbers on the line of /proc/PID/status that
// starts with key.
func statusInts(status []byte, key string) []int {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), key)
		if !ok {
			continue
		}
		var out []int
		for _, f := range strings.Fields(rest) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
		return out
	}
	return nil
}

// inGroup reports whether a process with groups belongs to gid.
func inGroup(groups []int, gid int) bool {
	for _, g := range groups {
		if g == gid {
			return true
		}
	}
	return false
}
