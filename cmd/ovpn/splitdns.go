package main

// Split DNS: where systemd-resolved runs, the bridge registers itself as
// the DNS server of the link's interface for its domain only (a routing
// domain, "~ouro"), so that the host's applications ask it for NAME.ouro
// and everything else goes where it went before. /etc/resolv.conf is
// never touched. Where systemd-resolved does not run, nothing happens
// here: docs/ovpn.md says how to point a resolver at the bridge.

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"time"
)

// resolvedSocket is systemd-resolved's varlink socket: it exists while
// the service runs.
const resolvedSocket = "/run/systemd/resolve/io.systemd.Resolve"

// resolvectlTimeout bounds one resolvectl command.
const resolvectlTimeout = 5 * time.Second

// splitDNS runs resolvectl; failures are logged, never fatal: the bridge
// answers all the same, only the host's own lookups do not reach it.
type splitDNS struct {
	log *slog.Logger
	// available says whether systemd-resolved runs and resolvectl is
	// there to talk to it.
	available func() bool
	// run runs a command and returns its combined output.
	run func(ctx context.Context, name string, args ...string) ([]byte, error)
}

// newSplitDNS returns the split DNS of this host.
func newSplitDNS(log *slog.Logger) *splitDNS {
	return &splitDNS{log: log, available: resolvedRuns, run: runCommand}
}

// resolvedRuns says whether systemd-resolved's socket exists, resolvectl
// is on PATH, and this process is in the network namespace of PID 1 (the
// host's, where resolved runs). In another namespace (ip netns exec, a
// lab) resolvectl would name the interface by an index that means another
// interface to resolved, so nothing is registered there.
func resolvedRuns() bool {
	if _, err := os.Stat(resolvedSocket); err != nil {
		return false
	}
	if _, err := exec.LookPath("resolvectl"); err != nil {
		return false
	}
	self, err1 := os.Readlink("/proc/self/ns/net")
	host, err2 := os.Readlink("/proc/1/ns/net")
	return err1 != nil || err2 != nil || self == host
}

func runCommand(ctx context.Context, name string, args ...string) ([]byte, error) {
	return exec.CommandContext(ctx, name, args...).CombinedOutput()
}

// resolvectlDNS is the resolvectl command that makes servers dev's DNS
// servers; a port other than 53 is written as resolvectl takes it
// (ADDR:PORT, [ADDR]:PORT), and unspecified addresses are left out (a
// bridge on 0.0.0.0 is reached at loopback).
func resolvectlDNS(dev string, servers []netip.AddrPort) []string {
	args := []string{"dns", dev}
	for _, ap := range servers {
		a := ap.Addr()
		if a.IsUnspecified() {
			a = netip.IPv6Loopback()
			if ap.Addr().Is4() {
				a = netip.AddrFrom4([4]byte{127, 0, 0, 1})
			}
		}
		if ap.Port() == dnsPort {
			args = append(args, a.String())
		} else {
			args = append(args, netip.AddrPortFrom(a, ap.Port()).String())
		}
	}
	return args
}

// resolvectlDomain is the resolvectl command that routes domain's queries
// to dev's servers (and only those: "~" makes it a routing domain, not a
// search domain).
func resolvectlDomain(dev, domain string) []string {
	return []string{"domain", dev, "~" + domain}
}

// set registers servers for domain on dev and reports whether it did.
func (s *splitDNS) set(dev string, servers []netip.AddrPort, domain string) bool {
	if !s.available() {
		s.log.Info("DNS bridge: systemd-resolved does not run here: point a resolver at the bridge for the domain (docs/ovpn.md, split DNS)",
			"domain", domain, "bridge", addrPorts(servers))
		return false
	}
	for _, args := range [][]string{resolvectlDNS(dev, servers), resolvectlDomain(dev, domain)} {
		if err := s.resolvectl(args); err != nil {
			s.log.Warn("DNS bridge: split DNS not set: the host's own lookups of the domain do not reach the bridge", "err", err)
			s.revert(dev)
			return false
		}
	}
	s.log.Info("DNS bridge: systemd-resolved sends the domain's queries to the bridge", "device", dev, "domain", domain)
	return true
}

// revert withdraws what set registered on dev.
func (s *splitDNS) revert(dev string) {
	if err := s.resolvectl([]string{"revert", dev}); err != nil {
		s.log.Warn("DNS bridge: split DNS not reverted", "err", err)
	}
}

// resolvectl runs resolvectl with args; its error holds the command line
// and what resolvectl said.
func (s *splitDNS) resolvectl(args []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), resolvectlTimeout)
	defer cancel()
	out, err := s.run(ctx, "resolvectl", args...)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, exec.ErrNotFound) {
			return errors.New("resolvectl is not on PATH")
		}
		return errors.New("resolvectl " + strings.Join(args, " ") + ": " + err.Error() + ": " + strings.TrimSpace(string(out)))
	}
	return nil
}
