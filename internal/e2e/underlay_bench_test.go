package e2e

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
)

var operfReceived = regexp.MustCompile(`received\s+(\d+) packets, .* ([0-9.]+) Mbit/s, (\d+) pkt/s`)

// BenchmarkE2EUnderlay runs operf (raw QoS) over each underlay between two
// namespaces at 64 and 1400 bytes, and a plain Go UDP sender and receiver
// over the same veth in the same run, and reports our packet rate as a
// ratio of the plain one.
func BenchmarkE2EUnderlay(b *testing.B) {
	const d = 3 * time.Second
	for _, typ := range []string{"udp4", "udp6", "eth-dix", "eth-llc"} {
		for _, size := range []int{64, 1400} {
			b.Run(typ+"/"+strconv.Itoa(size), func(b *testing.B) {
				lab := netlab.New(b, bin)
				na, nb := lab.Node("a"), lab.Node("b")
				l := lab.Link(na, nb).Subnet("10.1.0.0/24", "fd01::/64")
				// The hosts file first: irmd sees the one of when it started.
				if typ == "udp6" {
					na.Hosts(map[string]string{"perf": l.B.IP6().String()})
				} else {
					na.Hosts(map[string]string{"perf": l.B.IP4().String()})
				}
				na.StartIRMd()
				nb.StartIRMd()
				bootUnderlay(b, na, l.A, typ, "ua")
				bootUnderlay(b, nb, l.B, typ, "ub")
				nb.MustRun("irm", "name", "register", "perf", "layer", "net")
				srv := nb.Start("operf", "-l")
				nb.MustRun("irm", "bind", "process", strconv.Itoa(srv.PID()), "name", "perf")
				for b.Loop() {
					out := na.MustRun("operf", "-n", "perf", "-d", fmt.Sprint(d.Seconds()), "-s", strconv.Itoa(size), "-q", "raw")
					m := operfReceived.FindStringSubmatch(out)
					if m == nil {
						b.Fatalf("no result in:\n%s", out)
					}
					ours, _ := strconv.ParseFloat(m[3], 64)
					mbit, _ := strconv.ParseFloat(m[2], 64)
					plain := plainUDP(b, na, nb, l.B.IP4(), size, d)
					b.ReportMetric(ours, "pkt/s")
					b.ReportMetric(mbit, "Mbit/s")
					b.ReportMetric(plain, "plain-pkt/s")
					b.ReportMetric(ours/plain, "ratio")
				}
			})
		}
	}
}

// bootUnderlay bootstraps an IPCP of type typ in layer "net" on end e.
func bootUnderlay(b *testing.B, n *netlab.Node, e *netlab.End, typ, name string) {
	switch typ {
	case "udp4":
		n.MustRun("irm", "ipcp", "bootstrap", "name", name, "layer", "net", "type", typ, "ip", e.IP4().String())
	case "udp6":
		n.MustRun("irm", "ipcp", "bootstrap", "name", name, "layer", "net", "type", typ, "ip", e.IP6().String())
	default:
		n.MustRun("irm", "ipcp", "bootstrap", "name", name, "layer", "net", "type", typ, "dev", e.Name)
	}
}

// plainUDP sends size-byte datagrams from a to b for d, one write per
// datagram, and returns how many b received per second.
func plainUDP(b *testing.B, na, nb *netlab.Node, to netip.Addr, size int, d time.Duration) float64 {
	var got atomic.Uint64
	ready := make(chan *net.UDPConn, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		nb.Do(func() error {
			c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(to, 9999)))
			if err != nil {
				ready <- nil
				return err
			}
			ready <- c
			buf := make([]byte, 2048)
			for {
				if _, err := c.Read(buf); err != nil {
					return nil
				}
				got.Add(1)
			}
		})
	}()
	rc := <-ready
	if rc == nil {
		b.Fatal("plain UDP receiver did not start")
	}
	var start, end time.Time
	na.Do(func() error {
		c, err := net.Dial("udp4", netip.AddrPortFrom(to, 9999).String())
		if err != nil {
			return err
		}
		defer c.Close()
		msg := make([]byte, size)
		start = time.Now()
		for time.Since(start) < d {
			for i := 0; i < 64; i++ {
				c.Write(msg)
			}
		}
		end = time.Now()
		return nil
	})
	time.Sleep(100 * time.Millisecond)
	rc.Close()
	wg.Wait()
	return float64(got.Load()) / end.Sub(start).Seconds()
}
