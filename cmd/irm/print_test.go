package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/qos"
)

func render(t *testing.T, p printer) string {
	t.Helper()
	var b strings.Builder
	if err := p.print(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestPrintEmpty(t *testing.T) {
	cases := []struct {
		p    printer
		want string
	}{
		{&ipcpList{}, "no IPCPs\n"},
		{&nameList{}, "no names\n"},
		{&flowList{}, "no flows\n"},
	}
	for _, c := range cases {
		if got := render(t, c.p); got != c.want {
			t.Errorf("%T: %q, want %q", c.p, got, c.want)
		}
	}
}

func TestPrintIPCPs(t *testing.T) {
	l := &ipcpList{IPCPs: []ctrl.IPCPInfo{
		{Name: "udp.a", Type: "udp4", Layer: "wan", State: "bootstrapped", Hash: "SHA3_256", Detail: "10.0.0.1:3435",
			Counters: map[string]uint64{"malformed": 2, "unknown-eid": 0, "wrong-source": 1}},
		{Name: "local.a", Type: "local", Layer: "local", State: "bootstrapped", Hash: "SHA3_256",
			Names: []string{"oping", "oecho"}, Flows: 2},
	}}
	want := `NAME     TYPE   LAYER  STATE         HASH      FLOWS  NAMES        ADDRESS        DROPPED
local.a  local  local  bootstrapped  SHA3_256  2      oping,oecho  -              -
udp.a    udp4   wan    bootstrapped  SHA3_256  0      -            10.0.0.1:3435  3 (malformed 2, wrong-source 1)
`
	if got := render(t, l); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestPrintIPCPsNeighbours: the NEIGHBOURS column appears when an IPCP
// has neighbours, with "-" for those that have none.
func TestPrintIPCPsNeighbours(t *testing.T) {
	l := &ipcpList{IPCPs: []ctrl.IPCPInfo{
		{Name: "ucA", Type: "unicast", Layer: "net", State: "bootstrapped", Hash: "SHA3_256", Detail: "0x1a2b3c4d",
			Names: []string{"ucA", "net"}, Flows: 1, Neighbours: []string{"ucB (dt, mgmt)", "ucC (mgmt)"}, Admits: "CA net.ca"},
		{Name: "eth.a", Type: "eth-dix", Layer: "eth", State: "bootstrapped", Hash: "SHA3_256", Detail: "veth0"},
	}}
	want := `NAME   TYPE     LAYER  STATE         HASH      FLOWS  NAMES    ADDRESS     DROPPED  ADMITS     NEIGHBOURS
eth.a  eth-dix  eth    bootstrapped  SHA3_256  0      -        veth0       -        -          -
ucA    unicast  net    bootstrapped  SHA3_256  1      ucA,net  0x1a2b3c4d  -        CA net.ca  ucB (dt, mgmt), ucC (mgmt)
`
	if got := render(t, l); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestPrintIntents: intents that are not up show in NEIGHBOURS with
// their state; irm ipcp show lists every intent and the enrolment.
func TestPrintIntents(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := ctrl.IPCPInfo{Name: "ucC", Type: "unicast", Layer: "net", State: "enrolled", Hash: "SHA3_256",
		Detail: "0x0c", Neighbours: []string{"ucA (dt, mgmt)"},
		Intents: []ctrl.Intent{
			{Dst: "ucA", Component: "dt", State: "up", Since: now.Add(-5 * time.Minute)},
			{Dst: "ucA", Component: "mgmt", State: "up", Since: now.Add(-5 * time.Minute)},
			{Dst: "ucB", Component: "dt", State: "retrying", Since: now.Add(-12 * time.Second), Attempts: 4,
				LastErr: "unreachable: no answer", Next: now.Add(3 * time.Second)},
			{Dst: "ucB", Component: "mgmt", State: "connecting", Since: now.Add(-time.Second)},
		}}
	want := `NAME  TYPE     LAYER  STATE     HASH      FLOWS  NAMES  ADDRESS  DROPPED  NEIGHBOURS
ucC   unicast  net    enrolled  SHA3_256  0      -      0x0c     -        ucA (dt, mgmt), ucB (dt: retrying, mgmt: connecting)
`
	if got := render(t, &ipcpList{IPCPs: []ctrl.IPCPInfo{p}}); got != want {
		t.Errorf("list got:\n%s\nwant:\n%s", got, want)
	}
	p.Enrolment = &ctrl.Enrolment{Dst: "ucA", State: "retrying", Since: now.Add(-2 * time.Second), Attempts: 2,
		LastErr: "unreachable: no answer from 10.0.0.1:3435", Next: now.Add(2 * time.Second), Then: []string{"ucA", "ucB"}}
	want = `name        ucC
type        unicast
layer       net
state       enrolled
hash        SHA3_256
flows       0
names       -
address     0x0c
dropped     -
neighbours  ucA (dt, mgmt)
enrolment   through ucA: retrying for 2s, 2 failed attempts, next in 2s: unreachable: no answer from 10.0.0.1:3435; then connects to ucA, ucB
intent      ucA dt: up for 5m0s
intent      ucA mgmt: up for 5m0s
intent      ucB dt: retrying for 12s, 4 failed attempts, next in 3s: unreachable: no answer
intent      ucB mgmt: connecting for 1s
`
	show := &ipcpShow{IPCPList: ctrl.IPCPList{IPCPs: []ctrl.IPCPInfo{p}}, name: "ucC", now: now}
	if got := render(t, show); got != want {
		t.Errorf("show got:\n%s\nwant:\n%s", got, want)
	}
	if err := (&ipcpShow{name: "ghost"}).print(io.Discard); err == nil || !strings.Contains(err.Error(), `no IPCP "ghost"`) {
		t.Errorf("show of no IPCP: %v", err)
	}
	for _, c := range []struct {
		rep  connectReply
		want string
	}{
		{connectReply{Status: ctrl.ConnectUp}, "connected\n"},
		{connectReply{Status: ctrl.ConnectAlready}, "already connected\n"},
		{connectReply{Status: ctrl.ConnectRetrying, Reason: "dt to ucB: unreachable: no answer"},
			"not up yet: dt to ucB: unreachable: no answer; retrying in the background (persist)\n"},
	} {
		if got := render(t, &c.rep); got != c.want {
			t.Errorf("connect reply %+v: %q, want %q", c.rep, got, c.want)
		}
	}
}

func TestPrintNames(t *testing.T) {
	l := &nameList{Names: []ctrl.NameInfo{
		{Name: "oping", LB: "spillover", IPCPs: []string{"local.a"}, Processes: []int{42, 43}, Accepting: 1},
		{Name: "oecho", LB: "round-robin", IPCPs: []string{"local.a", "local.b"},
			Programs:   []ctrl.ProgramRef{{Prog: "/usr/bin/oecho", Auto: true, Args: []string{"-l"}}, {Prog: "/bin/x", User: "1000", Group: "50"}},
			BoundIPCPs: []string{"net.a"}},
	}}
	want := `NAME   LB           REGISTERED IN    PROGRAMS                                              PROCESSES  IPCPS  ACCEPTING
oecho  round-robin  local.a,local.b  /usr/bin/oecho auto -- -l, /bin/x user 1000 group 50  -          net.a  0
oping  spillover    local.a          -                                                     42,43      -      1
`
	if got := render(t, l); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestPrintFlows(t *testing.T) {
	custom := qos.Best
	custom.Delay = 10
	l := &flowList{Flows: []ctrl.FlowStat{
		{ID: 7, Side: "alloc", Name: "oecho", QoS: custom, Layer: "local", IPCP: "local.a", PID: 100,
			AgeMS: 90061_000, SentPkts: 3, SentBytes: 3 << 20, RecvPkts: 1, RecvBytes: 512, Dropped: 2},
		{ID: 3, Side: "accept", Name: "oping", QoS: qos.Raw, Layer: "local", IPCP: "local.a", PID: 201,
			AgeMS: 1500, SentPkts: 1, SentBytes: 1536, Encrypted: true,
			Peer: &ctrl.FlowPeer{Fingerprint: "3A:5F:C2:19:00:11", CertName: "laptop.alice"}},
		{ID: 3, Side: "alloc", Name: "oping", QoS: qos.Raw, Layer: "local", IPCP: "local.a", PID: 200,
			AgeMS: 1500, RecvPkts: 1, RecvBytes: 1536, Encrypted: true,
			Peer: &ctrl.FlowPeer{Name: "oping", Fingerprint: "AA:BB", CertName: "oping"}},
		{ID: 9, Side: "alloc", Name: "ucB", QoS: qos.Raw, Layer: "eth", IPCP: "eth.b", Owner: "ucA",
			AgeMS: 5000, SentPkts: 2, SentBytes: 100, RecvPkts: 1, RecvBytes: 50, Encrypted: true, Rejected: 4},
	}}
	want := `ID  SIDE    NAME   QOS                 LAYER  IPCP     OWNER     AGE       SENT PKTS  SENT BYTES  RECV PKTS  RECV BYTES  DROPPED  SEALED  REJECTED  PEER
3   alloc   oping  raw                 local  local.a  200       1s        0          0 B         1          1.5 KiB     0        yes     0         oping
3   accept  oping  raw                 local  local.a  201       1s        1          1.5 KiB     0          0 B         0        yes     0         fp:3A:5F:C2:19
7   alloc   oecho  custom/best-effort  local  local.a  100       1d1h1m1s  3          3.0 MiB     1          512 B       2        no      -         -
9   alloc   ucB    raw                 eth    eth.b    ipcp ucA  5s        2          100 B       1          50 B        0        yes     4         -
`
	if got := render(t, l); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestCells(t *testing.T) {
	bytes := []struct {
		n    uint64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"},
		{5 << 30, "5.0 GiB"}, {1 << 60, "1.0 EiB"}, {^uint64(0), "16.0 EiB"},
	}
	for _, c := range bytes {
		if got := bytesCell(c.n); got != c.want {
			t.Errorf("bytesCell(%d) = %q, want %q", c.n, got, c.want)
		}
	}
	ages := []struct {
		ms   int64
		want string
	}{
		{0, "0s"}, {999, "0s"}, {61_000, "1m1s"}, {86_400_000, "1d0s"}, {3*86_400_000 + 7_200_000, "3d2h0m0s"},
	}
	for _, c := range ages {
		if got := ageCell(c.ms); got != c.want {
			t.Errorf("ageCell(%d) = %q, want %q", c.ms, got, c.want)
		}
	}
	if got := pidCell(0); got != "-" {
		t.Errorf("pidCell(0) = %q", got)
	}
	for _, n := range qos.Names {
		s, _ := qos.Parse(n)
		if got := qosCell(s); got != n {
			t.Errorf("qosCell(%s) = %q", n, got)
		}
	}
}

// TestStateCell: one failed attempt is singular, and an attempt under way
// is not shown as due "in 0s".
func TestStateCell(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		attempts int
		next     time.Time
		want     string
	}{
		{1, now.Add(2 * time.Second), "retrying for 5s, 1 failed attempt, next in 2s: down"},
		{3, now.Add(-time.Second), "retrying for 5s, 3 failed attempts, trying again now: down"},
		{0, time.Time{}, "retrying for 5s: down"},
	} {
		if got := stateCell("retrying", now.Add(-5*time.Second), c.attempts, c.next, "down", now); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}
