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

// BenchmarkE2EUnderlayUDP runs operf over a udp4 layer between two
// namespaces at 64 and 1400 bytes, and a plain Go UDP sender and receiver
// over the same veth in the same run, and reports our rate as a ratio of
// the plain one.
func BenchmarkE2EUnderlayUDP(b *testing.B) {
	const d = 3 * time.Second
	for _, size := range []int{64, 1400} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			lab := netlab.New(b, bin)
			na, nb := lab.Node("a"), lab.Node("b")
			l := lab.Link(na, nb).Subnet("10.1.0.0/24")
			na.Hosts(map[string]string{"perf": l.B.IP4().String()})
			na.StartIRMd()
			nb.StartIRMd()
			na.MustRun("irm", "ipcp", "bootstrap", "name", "ua", "layer", "wan", "type", "udp4", "ip", l.A.IP4().String())
			nb.MustRun("irm", "ipcp", "bootstrap", "name", "ub", "layer", "wan", "type", "udp4", "ip", l.B.IP4().String())
			nb.MustRun("irm", "name", "register", "perf", "layer", "wan")
			srv := nb.Start("operf", "-l")
			nb.MustRun("irm", "bind", "process", strconv.Itoa(srv.PID()), "name", "perf")
			for b.Loop() {
				out := na.MustRun("operf", "-n", "perf", "-d", fmt.Sprint(d.Seconds()), "-s", strconv.Itoa(size), "-q", "raw")
				m := operfReceived.FindStringSubmatch(out)
				if m == nil {
					b.Fatalf("no result in:\n%s", out)
				}
				ours, _ := strconv.ParseFloat(m[3], 64)
				plain := plainUDP(b, na, nb, l.B.IP4(), size, d)
				mbit, _ := strconv.ParseFloat(m[2], 64)
				b.ReportMetric(ours, "pkt/s")
				b.ReportMetric(mbit, "Mbit/s")
				b.ReportMetric(plain, "plain-pkt/s")
				b.ReportMetric(ours/plain, "ratio")
			}
		})
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
