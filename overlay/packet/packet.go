// Package packet reads and rewrites the few IP header fields the ovpn engine
// needs: addresses, ICMP "too big" answers and TCP MSS clamping.
package packet

// Skeleton of the contract; the implementation replaces the bodies.

import "net/netip"

// Addrs returns an IPv4 or IPv6 packet's source and destination; ok is false
// for anything too short or of another version.
func Addrs(pkt []byte) (src, dst netip.Addr, ok bool) { return }

// TooBig writes into dst (appending to dst[:0]) the ICMP "fragmentation
// needed" (IPv4, only if DF is set) or ICMPv6 "packet too big" answer to
// pkt, from the address from, announcing mtu, and returns it; nil if pkt
// gets no answer (IPv4 without DF, ICMP errors, multicast sources, ...).
func TooBig(dst, pkt []byte, from netip.Addr, mtu int) []byte { return nil }

// Unreachable is like TooBig for "destination unreachable" (no route).
func Unreachable(dst, pkt []byte, from netip.Addr) []byte { return nil }

// ClampMSS lowers the MSS option of a TCP SYN in pkt (IPv4 or IPv6) to at
// most what fits mtu, fixing the checksum; it reports whether it changed pkt.
func ClampMSS(pkt []byte, mtu int) bool { return false }
