package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// capNetAdmin is CAP_NET_ADMIN's bit in a capability set.
const capNetAdmin = 12

// errNoCap is the error of a process without CAP_NET_ADMIN.
var errNoCap = errors.New("ovpn needs CAP_NET_ADMIN to make interfaces and set their addresses and routes: run it as root (sudo ovpn ...) or give the binary the capability (setcap cap_net_admin+ep $(command -v ovpn))")

// checkCapNetAdmin fails unless the process's effective capabilities hold
// CAP_NET_ADMIN (root has it, unless a container took it away).
func checkCapNetAdmin() error {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return fmt.Errorf("cannot read this process's capabilities: %w", err)
	}
	defer f.Close()
	eff, err := capEff(f)
	if err != nil {
		return err
	}
	if eff&(1<<capNetAdmin) == 0 {
		return errNoCap
	}
	return nil
}

// capEff reads the effective capability set from /proc/PID/status.
func capEff(r io.Reader) (uint64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("bad CapEff line in /proc/self/status: %q", sc.Text())
			}
			return n, nil
		}
	}
	return 0, errors.New("no CapEff line in /proc/self/status")
}
