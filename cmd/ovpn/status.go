package main

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"o7s.dev/ouroboros/overlay/config"
	"o7s.dev/ouroboros/overlay/link"
)

// linkStatus is what `ovpn status` shows of a link: the engine's status
// with the configured peers that are not up.
type linkStatus struct {
	Link         string `json:"link"`
	PID          int    `json:"pid"` // the daemon's, for signals (SIGHUP reloads)
	Name         string `json:"name"`
	Layer        string `json:"layer"`
	Authenticate bool   `json:"authenticate"`
	link.Status
	Peers []peerStatus `json:"peers"`
	// DNS is the [dns] bridge; absent without the section.
	DNS *dnsStatus `json:"dns,omitempty"`
}

// peerStatus is one peer: up (the engine's numbers), or configured and
// connecting (why the last attempt failed, when the next is due).
type peerStatus struct {
	State string `json:"state"` // "up" or "connecting"
	link.PeerStatus
	LastError   string    `json:"last_error,omitempty"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}

// status is the link's status now.
func (d *daemon) status() linkStatus {
	cfg := d.config()
	d.mu.Lock()
	dials := make(map[string]*dialer, len(d.dials))
	for n, dl := range d.dials {
		dials[n] = dl
	}
	d.mu.Unlock()
	ls := mergeStatus(cfg, d.link.Status(), func(name string) (string, time.Time) {
		if dl := dials[name]; dl != nil {
			return dl.state()
		}
		return "", time.Time{}
	})
	ls.PID = os.Getpid()
	ls.DNS = d.dns.status(cfg)
	return ls
}

// mergeStatus joins the engine's status with the configured peers that
// are not up, whose dial state dialState gives. Peers are sorted by name.
func mergeStatus(cfg *config.Link, st link.Status, dialState func(string) (string, time.Time)) linkStatus {
	ls := linkStatus{Link: cfg.Link, Name: cfg.Name, Layer: cfg.Layer, Authenticate: cfg.Authenticate, Status: st}
	up := map[string]bool{}
	for _, p := range st.Peers {
		up[p.Name] = true
		ls.Peers = append(ls.Peers, peerStatus{State: "up", PeerStatus: p})
	}
	for _, p := range cfg.Peers {
		if up[p.Name] {
			continue
		}
		lastErr, next := dialState(p.Name)
		ls.Peers = append(ls.Peers, peerStatus{State: "connecting",
			PeerStatus: link.PeerStatus{Name: p.Name, Routes: p.Routes}, LastError: lastErr, NextAttempt: next})
	}
	ls.Status.Peers = nil // merged into ls.Peers
	sort.Slice(ls.Peers, func(i, j int) bool { return ls.Peers[i].Name < ls.Peers[j].Name })
	return ls
}

// printStatus writes a link's status as a readable table; now dates the
// "ago" and "in" columns.
func printStatus(w io.Writer, ls linkStatus, now time.Time) {
	auth := "peers' names proven by certificate"
	if !ls.Authenticate {
		auth = "authenticate = false: peers' names as claimed"
	}
	fmt.Fprintf(w, "link %s: %s in layer %s (%s), pid %d\n", ls.Link, ls.Name, ls.Layer, auth, ls.PID)
	fmt.Fprintf(w, "  interface %s (%s), mtu %d, addresses %s\n", ls.Device, ls.Mode, ls.MTU, prefixes(ls.Addrs))
	if len(ls.Drops) > 0 {
		fmt.Fprintf(w, "  dropped from the interface: %s\n", drops(ls.Drops))
	}
	if ls.DNS != nil {
		printDNS(w, ls.DNS, now)
	}
	if len(ls.Peers) == 0 {
		fmt.Fprintln(w, "  no peers")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  PEER\tSTATE\tPROVEN\tADDRESSES\tROUTES\tRX\tTX\tLAST RX\tRTT\tDROPS")
	for _, p := range ls.Peers {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.State, yesNo(p.State == "up", p.Proven),
			prefixes(p.Addrs), prefixes(p.Routes), traffic(p.RxBytes, p.RxPackets), traffic(p.TxBytes, p.TxPackets),
			ago(now, p.LastRx), rtt(p.State == "up", p.RTT), drops(p.Drops))
	}
	tw.Flush()
	for _, p := range ls.Peers {
		if p.State != "up" && p.LastError != "" {
			fmt.Fprintf(w, "  %s: %s", p.Name, p.LastError)
			if !p.NextAttempt.IsZero() {
				fmt.Fprintf(w, " (next attempt in %s)", max(p.NextAttempt.Sub(now), 0).Round(time.Second))
			}
			fmt.Fprintln(w)
		}
	}
}

func yesNo(up, b bool) string {
	switch {
	case !up:
		return "-"
	case b:
		return "yes"
	}
	return "NO"
}

func prefixes(ps []netip.Prefix) string {
	if len(ps) == 0 {
		return "-"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// traffic is "bytes/packets", the bytes in IEC units.
func traffic(bytes, packets uint64) string {
	return fmt.Sprintf("%s/%d", iec(bytes), packets)
}

func iec(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return max(now.Sub(t), 0).Round(time.Second).String() + " ago"
}

func rtt(up bool, d time.Duration) string {
	if !up || d == 0 {
		return "-"
	}
	return d.Round(10 * time.Microsecond).String()
}

// drops is "reason=n,..." sorted by reason.
func drops(m map[string]uint64) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		keys[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(keys, ",")
}
