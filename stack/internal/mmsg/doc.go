// Package mmsg is the batched socket I/O the stack's sockets share: the
// message headers, I/O vectors and socket addresses that recvmmsg and
// sendmmsg take, filled in place and reused so that a batch allocates
// nothing, and the calls themselves, run through Go's network poller so
// that deadlines and Close work and no thread blocks.
//
// Its users are the flow sockets (stack/seqpkt, SOCK_SEQPACKET), the udp
// layers (UDP sockets, an address per datagram) and the Ethernet layers
// (AF_PACKET sockets, a frame header in an iovec of its own). All the
// unsafe code of that I/O is here. The package is Linux-only, as
// recvmmsg and sendmmsg are.
package mmsg
