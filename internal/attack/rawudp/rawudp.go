// Package rawudp sends IPv4 UDP datagrams from any address, through a raw
// socket that takes the IP header from its caller (root only): what the
// attacking tools use to claim another host's address.
package rawudp

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Conn is a raw IPv4 socket.
type Conn struct {
	fd  int
	pkt []byte
}

// Open opens a raw socket (IPPROTO_RAW implies IP_HDRINCL).
func Open() (*Conn, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
	if err != nil {
		return nil, fmt.Errorf("raw socket (spoofing needs root): %v", err)
	}
	return &Conn{fd: fd}, nil
}

// Close closes the socket.
func (c *Conn) Close() error { return unix.Close(c.fd) }

// Send writes payload in a UDP datagram from from to to. The kernel fills
// the IP checksum and length; a zero UDP checksum means none (IPv4).
func (c *Conn) Send(from, to netip.AddrPort, payload []byte) error {
	src, dst := from.Addr().As4(), to.Addr().As4()
	p := append(c.pkt[:0], 0x45, 0, 0, 0, 0, 0, 0, 0, 64, unix.IPPROTO_UDP, 0, 0)
	p = append(p, src[:]...)
	p = append(p, dst[:]...)
	p = binary.BigEndian.AppendUint16(p, from.Port())
	p = binary.BigEndian.AppendUint16(p, to.Port())
	p = binary.BigEndian.AppendUint16(p, uint16(8+len(payload)))
	p = append(p, 0, 0)
	p = append(p, payload...)
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	c.pkt = p
	return unix.Sendto(c.fd, p, 0, &unix.SockaddrInet4{Addr: dst})
}
