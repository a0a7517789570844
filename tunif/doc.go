// Package tunif gives ovpn its network devices: tun interfaces (IP packets)
// and tap interfaces (Ethernet frames), both behind Device, one small
// batched interface in the manner of wireguard-go's tun.Device.
//
// A tun opened with OpenTUN has the kernel's offloads on (IFF_VNET_HDR with
// TSO and checksum offload, through golang.zx2c4.com/wireguard/tun): one
// read(2) may return a TCP super-packet of up to 64 KiB, which Read splits
// into MTU-sized IP packets, and Write coalesces consecutive segments of one
// TCP (or UDP) flow back into super-packets (GRO) before they reach the
// kernel. Without them TCP through a bare tun-to-tun forwarder here gets
// about a quarter as far (BenchmarkTCPForward: 0.7 against 2.9 Gbit/s).
// OpenPlainTUN gives a tun without offloads, one packet per system call, to
// measure against.
//
// A tap (OpenTAP) moves whole Ethernet frames, one per read(2); Read returns
// as many as are ready without waiting after the first.
//
//	tun, read:   kernel ─► read(2): [virtio hdr | super-packet ≤64K] ─► split ─► bufs[i][offset:offset+sizes[i]] (≤ MTU each)
//	tun, write:  bufs[i][offset:] ─► GRO: coalesce, virtio hdr into bufs[i][offset-10:offset] ─► write(2) per merged packet ─► kernel
//	tap, read:   kernel ─► read(2) ─► bufs[0] ─► read(2) ─► bufs[1] ... until EAGAIN or the batch is full
//	tap, write:  bufs[i][offset:] ─► write(2) per frame ─► kernel
//
// Callers prepend their own (Ouroboros) headers in place: a packet read at
// offset o can be sent on with a header of up to o-Headroom bytes written
// in front of it, and a packet received behind such a header is written to
// the device without moving it, as long as its offset is at least Headroom.
//
// The in-memory doubles in tunif/tuntest honour the same contract, for
// tests of code that uses a Device.
package tunif
