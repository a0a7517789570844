package netlab

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Sweep removes what labs of dead processes left behind: their namespaces
// (killing whatever still runs in them, which frees their interfaces),
// their /etc/netns directories and their state directories. Labs of live
// processes are not touched. It returns the namespaces it removed. New
// calls it; `go run ./internal/netlab/cmd/netlab sweep` does by hand.
func Sweep() ([]string, error) {
	ip, err := exec.LookPath("ip")
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, ns := range staleEntries(netnsRoot, nsPrefix) {
		if err := removeNS(ip, ns); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, ns)
	}
	// Leftovers of a sweep or teardown that was itself interrupted.
	for _, d := range staleEntries(etcRoot, nsPrefix) {
		errs = append(errs, os.RemoveAll(filepath.Join(etcRoot, d)))
	}
	for _, d := range staleEntries(stateRoot, "") {
		errs = append(errs, os.RemoveAll(filepath.Join(stateRoot, d)))
	}
	return removed, errors.Join(errs...)
}

// staleEntries lists the entries of dir named prefix+PID-RAND... whose
// PID is not running. A missing dir has none.
func staleEntries(dir, prefix string) []string {
	ents, _ := os.ReadDir(dir)
	var stale []string
	for _, e := range ents {
		name, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		if pid, ok := ownerPID(name); ok && !alive(pid) {
			stale = append(stale, e.Name())
		}
	}
	return stale
}

// ownerPID parses the pid out of PID-RAND or PID-RAND-NODE.
func ownerPID(name string) (int, bool) {
	m := labName.FindStringSubmatch(name)
	if m == nil {
		return 0, false
	}
	pid, err := strconv.Atoi(m[2])
	return pid, err == nil && pid > 0
}

// alive reports whether process pid exists. A reused pid keeps a stale
// lab until that process ends too: the safe side to err on.
func alive(pid int) bool {
	return syscall.Kill(pid, 0) != syscall.ESRCH
}

// live holds this process's open Labs so that a signal handler can remove
// them: a test binary ended by SIGINT, SIGTERM or SIGHUP runs no
// t.Cleanup. Signals are process-wide, so this is package state; it is the
// package's only mutable state.
var live struct {
	sync.Mutex
	labs     map[*Lab]bool
	watching bool
	dying    bool // a signal came: labs made now are born closed
}

// exitSignals are the signals after which the Lab tears itself down.
var exitSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

func register(l *Lab) {
	live.Lock()
	defer live.Unlock()
	if live.labs == nil {
		live.labs = make(map[*Lab]bool)
	}
	live.labs[l] = true
	if live.dying {
		l.shut()
		l.tear.Do(func() { close(l.torn) }) // nothing to tear down
	}
	if !live.watching {
		live.watching = true
		c := make(chan os.Signal, 1)
		signal.Notify(c, exitSignals...)
		go onSignal(c)
	}
}

func unregister(l *Lab) {
	live.Lock()
	defer live.Unlock()
	delete(live.labs, l)
}

// onSignal waits for an exit signal, removes every open Lab at once (no
// grace for processes: the user wants out) and then dies of the same
// signal, as the process would have without the handler.
func onSignal(c chan os.Signal) {
	sig := (<-c).(syscall.Signal)
	live.Lock()
	live.dying = true
	labs := make([]*Lab, 0, len(live.labs))
	for l := range live.labs {
		labs = append(labs, l)
	}
	live.Unlock()
	// Tests go on running meanwhile: shut every gate first, so that
	// nothing new appears behind the teardown.
	for _, l := range labs {
		l.shut()
	}
	for _, l := range labs {
		l.teardown(0)
	}
	signal.Reset(exitSignals...)
	syscall.Kill(os.Getpid(), sig)
	// Only reached if the signal is blocked or ignored, e.g. SIGHUP
	// under nohup.
	time.Sleep(time.Second)
	os.Exit(128 + int(sig))
}
