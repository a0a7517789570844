package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/qos"
)

// The replies irm lists. Each is the ctrl type, which it decodes as, with
// a method to show it.
type (
	ipcpList ctrl.IPCPList
	nameList ctrl.NameList
	flowList ctrl.FlowList
)

// table writes rows as aligned columns under a header.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)}
	t.row(header...)
	return t
}

// row writes one row. Empty cells show as "-" so that columns stay readable.
func (t *table) row(cells ...string) {
	for i, c := range cells {
		if c == "" {
			c = "-"
		}
		if i > 0 {
			io.WriteString(t.tw, "\t")
		}
		io.WriteString(t.tw, c)
	}
	io.WriteString(t.tw, "\n")
}

// flush writes the table out; errors writing rows surface here.
func (t *table) flush() error { return t.tw.Flush() }

func (l *ipcpList) print(w io.Writer) error {
	if len(l.IPCPs) == 0 {
		_, err := fmt.Fprintln(w, "no IPCPs")
		return err
	}
	slices.SortFunc(l.IPCPs, func(a, b ctrl.IPCPInfo) int { return strings.Compare(a.Name, b.Name) })
	// Only layered IPCPs have neighbours: hosts without them are spared
	// an empty column.
	neighbours := slices.ContainsFunc(l.IPCPs, func(p ctrl.IPCPInfo) bool { return len(p.Neighbours)+len(p.Intents) > 0 })
	admits := slices.ContainsFunc(l.IPCPs, func(p ctrl.IPCPInfo) bool { return p.Admits != "" })
	header := []string{"NAME", "TYPE", "LAYER", "STATE", "HASH", "FLOWS", "NAMES", "ADDRESS", "DROPPED"}
	if admits {
		header = append(header, "ADMITS")
	}
	if neighbours {
		header = append(header, "NEIGHBOURS")
	}
	t := newTable(w, header...)
	for _, p := range l.IPCPs {
		cells := []string{p.Name, p.Type, p.Layer, p.State, p.Hash, strconv.Itoa(p.Flows), strings.Join(p.Names, ","),
			p.Detail, drops(p.Counters)}
		if admits {
			cells = append(cells, p.Admits)
		}
		if neighbours {
			cells = append(cells, strings.Join(append(slices.Clone(p.Neighbours), notUp(p.Intents)...), ", "))
		}
		t.row(cells...)
	}
	return t.flush()
}

// notUp lists the intended adjacencies that are not up, by neighbour, as
// "ucC (dt, mgmt: retrying)", for the NEIGHBOURS column: the adjacencies
// that are up are the neighbours.
func notUp(in []ctrl.Intent) []string {
	var out []string
	for i := 0; i < len(in); {
		j, comps := i, []string{}
		for ; j < len(in) && in[j].Dst == in[i].Dst; j++ {
			if in[j].State != "up" {
				comps = append(comps, in[j].Component+": "+in[j].State)
			}
		}
		if len(comps) > 0 {
			out = append(out, fmt.Sprintf("%s (%s)", in[i].Dst, strings.Join(comps, ", ")))
		}
		i = j
	}
	return out
}

// connectReply is irmd's answer to a connect.
type connectReply ctrl.IPCPConnectReply

func (r *connectReply) print(w io.Writer) error {
	var err error
	switch r.Status {
	case ctrl.ConnectRetrying:
		_, err = fmt.Fprintf(w, "not up yet: %s; retrying in the background (persist)\n", r.Reason)
	case "":
		_, err = fmt.Fprintln(w, ctrl.ConnectUp) // an irmd from before the reply
	default:
		_, err = fmt.Fprintln(w, r.Status)
	}
	return err
}

// ipcpShow is the list reply for one IPCP, shown in full.
type ipcpShow struct {
	ctrl.IPCPList
	name string
	now  time.Time // for tests; zero: the time of printing
}

func (s *ipcpShow) print(w io.Writer) error {
	if len(s.IPCPs) == 0 {
		return fmt.Errorf("no IPCP %q: see 'irm ipcp list'", s.name)
	}
	now := s.now
	if now.IsZero() {
		now = time.Now()
	}
	p := s.IPCPs[0]
	t := &table{tw: tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)}
	t.row("name", p.Name)
	t.row("type", p.Type)
	t.row("layer", p.Layer)
	t.row("state", p.State)
	t.row("hash", p.Hash)
	t.row("flows", strconv.Itoa(p.Flows))
	t.row("names", strings.Join(p.Names, ","))
	t.row("address", p.Detail)
	t.row("dropped", drops(p.Counters))
	if p.Admits != "" {
		t.row("admits", p.Admits)
	}
	t.row("neighbours", strings.Join(p.Neighbours, ", "))
	if p.Enrolment != nil {
		t.row("enrolment", enrolmentCell(p.Enrolment, now))
	}
	if len(p.Intents) == 0 && (p.Type == "unicast" || p.Type == "broadcast") {
		t.row("intent", "none")
	}
	for _, in := range p.Intents {
		t.row("intent", in.Dst+" "+in.Component+": "+intentCell(in, now))
	}
	return t.flush()
}

// intentCell shows an intended adjacency's state: "up for 5m0s",
// "retrying for 12s, 4 failed attempts, next in 3s: unreachable: ...",
// or "..., trying again now: ..." while the next attempt is under way.
func intentCell(in ctrl.Intent, now time.Time) string {
	return stateCell(in.State, in.Since, in.Attempts, in.Next, in.LastErr, now)
}

func enrolmentCell(e *ctrl.Enrolment, now time.Time) string {
	s := "through " + e.Dst + ": " + stateCell(e.State, e.Since, e.Attempts, e.Next, e.LastErr, now)
	if len(e.Then) > 0 {
		s += "; then connects to " + strings.Join(e.Then, ", ")
	}
	return s
}

func stateCell(state string, since time.Time, attempts int, next time.Time, lastErr string, now time.Time) string {
	s := state
	if !since.IsZero() {
		s += " for " + now.Sub(since).Round(time.Second).String()
	}
	switch {
	case attempts == 1:
		s += ", 1 failed attempt"
	case attempts > 1:
		s += fmt.Sprintf(", %d failed attempts", attempts)
	}
	switch {
	case next.IsZero():
	case next.After(now):
		s += ", next in " + next.Sub(now).Round(100*time.Millisecond).String()
	default:
		// The next attempt began when its wait ended.
		s += ", trying again now"
	}
	if lastErr != "" {
		s += ": " + lastErr
	}
	return s
}

// drops summarises a network layer's drop counters, e.g. "3 (malformed 2,
// wrong-source 1)"; local layers have none.
func drops(c map[string]uint64) string {
	var total uint64
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c)) {
		if c[k] > 0 {
			total += c[k]
			parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
		}
	}
	if total == 0 {
		return ""
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}

func (l *nameList) print(w io.Writer) error {
	if len(l.Names) == 0 {
		_, err := fmt.Fprintln(w, "no names")
		return err
	}
	slices.SortFunc(l.Names, func(a, b ctrl.NameInfo) int { return strings.Compare(a.Name, b.Name) })
	t := newTable(w, "NAME", "LB", "REGISTERED IN", "PROGRAMS", "PROCESSES", "IPCPS", "ACCEPTING")
	for _, n := range l.Names {
		progs := make([]string, len(n.Programs))
		for i, p := range n.Programs {
			progs[i] = programCell(p)
		}
		pids := make([]string, len(n.Processes))
		for i, p := range n.Processes {
			pids[i] = strconv.Itoa(p)
		}
		t.row(n.Name, n.LB, strings.Join(n.IPCPs, ","), strings.Join(progs, ", "),
			strings.Join(pids, ","), strings.Join(n.BoundIPCPs, ","), strconv.Itoa(n.Accepting))
	}
	return t.flush()
}

// programCell shows a program binding the way it was made:
// "/usr/bin/oecho user 1000 auto -- --listen".
func programCell(p ctrl.ProgramRef) string {
	s := p.Prog
	if p.User != "" {
		s += " user " + p.User
	}
	if p.Group != "" {
		s += " group " + p.Group
	}
	if p.Auto {
		s += " auto"
	}
	if len(p.Args) > 0 {
		s += " -- " + strings.Join(p.Args, " ")
	}
	return s
}

func (l *flowList) print(w io.Writer) error {
	if len(l.Flows) == 0 {
		_, err := fmt.Fprintln(w, "no flows")
		return err
	}
	// By id; should both ends of a flow share one, the allocating end first.
	slices.SortFunc(l.Flows, func(a, b ctrl.FlowStat) int {
		if c := cmp.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return cmp.Compare(sideRank(a.Side), sideRank(b.Side))
	})
	t := newTable(w, "ID", "SIDE", "NAME", "QOS", "LAYER", "IPCP", "OWNER", "AGE",
		"SENT PKTS", "SENT BYTES", "RECV PKTS", "RECV BYTES", "DROPPED", "SEALED", "REJECTED", "PEER")
	for _, f := range l.Flows {
		t.row(strconv.FormatUint(f.ID, 10), f.Side, f.Name, qosCell(f.QoS), f.Layer, f.IPCP,
			ownerCell(f), ageCell(f.AgeMS),
			strconv.FormatUint(f.SentPkts, 10), bytesCell(f.SentBytes),
			strconv.FormatUint(f.RecvPkts, 10), bytesCell(f.RecvBytes),
			strconv.FormatUint(f.Dropped, 10), sealedCell(f), rejectedCell(f), peerCell(f.Peer))
	}
	return t.flush()
}

// sealedCell says whether a flow is encrypted.
func sealedCell(f ctrl.FlowStat) string {
	if f.Encrypted {
		return "yes"
	}
	return "no"
}

// rejectedCell counts the packets that arrived and did not open (forged,
// modified, replayed): as irmd counts them on the flows it opens, as the
// application reports them on its own. Unsealed flows have nothing to
// open: "-".
func rejectedCell(f ctrl.FlowStat) string {
	if !f.Encrypted {
		return "-"
	}
	return strconv.FormatUint(f.Rejected, 10)
}

// peerCell shows what a flow's key exchange proved about the other end:
// the name a trusted CA vouches for, else the start of the fingerprint
// of the certificate it signed with ("fp:3A:5F:C2:19", to compare with
// a pinned one), else "-".
func peerCell(p *ctrl.FlowPeer) string {
	switch {
	case p == nil || p.Fingerprint == "" && p.Name == "":
		return "-"
	case p.Name != "":
		return p.Name
	case len(p.Fingerprint) > len("00:00:00:00"):
		return "fp:" + p.Fingerprint[:len("00:00:00:00")]
	}
	return "fp:" + p.Fingerprint
}

// sideRank orders the allocating end of a flow before the accepting end.
func sideRank(side string) int {
	if side == "alloc" {
		return 0
	}
	return 1
}

// qosCell names a named spec; any other is shown by the cube it maps to,
// because its full field list would not fit a column.
func qosCell(s qos.Spec) string {
	for _, n := range qos.Names {
		if p, _ := qos.Parse(n); p == s {
			return n
		}
	}
	return "custom/" + s.Cube().String()
}

// ownerCell shows who holds a flow end: a process by its pid, or a layered
// IPCP, for its flows over lower layers, as "ipcp NAME".
func ownerCell(f ctrl.FlowStat) string {
	if f.Owner != "" {
		return "ipcp " + f.Owner
	}
	return pidCell(f.PID)
}

func pidCell(pid int) string {
	if pid <= 0 {
		return "-"
	}
	return strconv.Itoa(pid)
}

// ageCell shows an age to the second, with days for long-lived flows.
func ageCell(ms int64) string {
	d := (time.Duration(ms) * time.Millisecond).Truncate(time.Second)
	if d < 24*time.Hour {
		return d.String()
	}
	days := d / (24 * time.Hour)
	return fmt.Sprintf("%dd%s", days, d-days*24*time.Hour)
}

// bytesCell shows a byte count in binary units, one decimal.
func bytesCell(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
