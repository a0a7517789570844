package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"text/tabwriter"
	"time"

	"o7s.dev/ouroboros/overlay/config"
	"o7s.dev/ouroboros/resolver"
)

// dnsStatus is the DNS bridge in `ovpn status`; its JSON field names are
// documented in docs/ovpn.md and stay stable.
type dnsStatus struct {
	// Running: the server answers on Listen. False with Waiting saying
	// why (no address yet, or it could not listen).
	Running bool   `json:"running"`
	Waiting string `json:"waiting,omitempty"`
	// Listen are the addresses served (UDP and TCP), as bound.
	Listen   []netip.AddrPort `json:"listen"`
	Domain   string           `json:"domain"`
	Upstream []netip.AddrPort `json:"upstream"`
	Allow    []netip.Prefix   `json:"allow"`
	OnDemand bool             `json:"on_demand"`
	// SplitDNS is the device systemd-resolved sends the domain's queries
	// to the bridge on; "" when it does not (not running here, or failed).
	SplitDNS string         `json:"split_dns,omitempty"`
	Stats    resolver.Stats `json:"stats"`
	// Names are the names answered through flows set up on demand.
	Names []dnsEntry `json:"names"`
	// Refusals are recent lookups a name refused, newest first.
	Refusals []dnsRefusal `json:"refusals"`
}

// status is the bridge's status; nil when cfg has no [dns] section.
func (b *dnsBridge) status(cfg *config.Link) *dnsStatus {
	if cfg.DNS == nil {
		return nil
	}
	b.mu.Lock()
	st := &dnsStatus{Running: b.srv != nil, Waiting: b.waiting, Domain: b.running.Domain,
		Upstream: b.running.Upstream, Allow: b.running.Allow, OnDemand: cfg.DNS.OnDemand, SplitDNS: b.dev}
	if b.srv != nil {
		st.Listen = boundAddrs(b.srv.Addrs())
		st.Stats = b.srv.Stats()
	}
	b.mu.Unlock()
	if st.Domain == "" {
		st.Domain = strings.Trim(cfg.DNS.Domain, ".")
	}
	st.Names = b.names.entries()
	st.Refusals = b.names.refusals()
	return st
}

// boundAddrs turns the server's bound addresses into AddrPorts.
func boundAddrs(as []net.Addr) []netip.AddrPort {
	var out []netip.AddrPort
	for _, a := range as {
		switch a := a.(type) {
		case *net.UDPAddr:
			out = append(out, a.AddrPort())
		case *net.TCPAddr:
			out = append(out, a.AddrPort())
		default:
			if ap, err := netip.ParseAddrPort(a.String()); err == nil {
				out = append(out, ap)
			}
		}
	}
	return out
}

// printDNS writes the bridge's part of a link's status.
func printDNS(w io.Writer, st *dnsStatus, now time.Time) {
	if !st.Running {
		fmt.Fprintf(w, "  dns bridge for .%s: not running: %s\n", st.Domain, st.Waiting)
		return
	}
	demand := "on demand"
	if !st.OnDemand {
		demand = "peers up only (on_demand = false)"
	}
	fmt.Fprintf(w, "  dns bridge on %s for .%s (%s), upstream %s\n", orDash(addrPorts(st.Listen)), st.Domain, demand,
		orDash(addrPorts(st.Upstream)))
	split := "split DNS: none (systemd-resolved does not run here, or refused): point resolvers at the bridge"
	if st.SplitDNS != "" {
		split = "split DNS: systemd-resolved sends ." + st.Domain + " to it on " + st.SplitDNS
	}
	fmt.Fprintf(w, "    allow %s; %s\n", prefixes(st.Allow), split)
	s := st.Stats
	fmt.Fprintf(w, "    queries %d: answered %d, nxdomain %d, refused %d (client not allowed %d), rate-limited %d, forwarded %d (cache hits %d), servfail %d, formerr %d\n",
		s.Queries, s.Answered, s.NXDomain, s.Refused, s.NotAllowed, s.RateLimited, s.Forwarded, s.CacheHits, s.ServFail, s.FormErr)
	if len(st.Names) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "    ON DEMAND\tGATEWAY\tADDRESSES\tSINCE")
		for _, e := range st.Names {
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", e.Name, orDash(e.Gateway), orDash(addrList(e.Addrs)), ago(now, e.Since))
		}
		tw.Flush()
	}
	for _, r := range st.Refusals {
		fmt.Fprintf(w, "    refused %s: %s (%s)\n", r.Name, r.Reason, ago(now, r.At))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func addrList(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}
