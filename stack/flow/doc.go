// Package flow is the application's interface to Ouroboros: ask for a flow to
// a name with a QoS spec and get a bidirectional channel of SDUs, or accept
// the flows that others ask for names this process is bound to.
//
// A process first attaches to the irmd of its host:
//
//	p, err := flow.Attach(ctx, flow.Config{})
//	defer p.Close()
//
// A client allocates a flow to a name; a server accepts:
//
//	f, err := p.Alloc(ctx, "echo", qos.Data)
//	f, err := p.Accept(ctx)
//
// Each Write sends one SDU and each Read returns one SDU. Reads and writes
// honour deadlines (SetReadDeadline, SetWriteDeadline); a deadline in the
// past makes them non-blocking. Close deallocates the flow, and the peer's
// next Read fails with ErrPeerGone at once. On every QoS but raw that is the
// only way to ErrPeerGone: a flow that ends otherwise (irmd or the layer
// tore it down, the peer crashed or went silent for the QoS timeout, 15 s
// by default) fails with ErrAborted, which says how much had arrived.
//
// irmd encrypts flows and runs their key exchange; Peer tells what it
// proved about the other end (a name a trusted CA vouches for, or the
// fingerprint of the certificate it signed with, for pinning). A process
// bound to a name with a certificate of its own proves that name rather
// than the host's by allocating as it:
//
//	err = p.Register(ctx, "laptop.alice", "corp") // 'irm name register'
//	err = p.Bind(ctx, "laptop.alice")             // 'irm bind process'
//	f, err := p.AllocFrom(ctx, "gw.site-a", "laptop.alice", qos.Raw)
//	who := f.Peer()
//
// To wait on many flows from one goroutine, put them in an EventSet and call
// Wait; it reports the flows that have an SDU to read or have gone down.
//
// Each flow is a file descriptor shared with irmd (a SOCK_SEQPACKET socket),
// so ReadBatch and WriteBatch move many SDUs per system call. The end-to-end
// protocol (FRCT) runs in this library, between the application and that
// socket; flows with the raw QoS carry the application's SDUs untouched.
package flow
