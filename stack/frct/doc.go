// Package frct is the end-to-end protocol of Ouroboros flows, run in the
// application's library: sequencing and in-order delivery, acknowledgements,
// flow control (a receiver window in packets, advertised on the receiver's
// own initiative), retransmission with RTT estimation and selective
// acknowledgements, keepalives and a peer timeout. It needs no handshake:
// sequence runs start delta-t style, with a flagged random sequence number.
// It closes in order in band (FIN, close.go): any other end of the flow's
// path is ErrAborted, never io.EOF, so a flow torn down beneath FRCT is
// not mistaken for a complete one.
//
// What runs depends on the flow's QoS spec: raw flows have no FRCT at all;
// in-order flows (best, video, voice) get sequencing, ordering with a
// bounded wait for gaps, and flow control; reliable flows (loss 0, data) get
// every SDU exactly once, in order, or an error when the peer is gone.
//
// A Conn sits between the application and a Lower (the flow's socket):
//
//	Write ─► window wait ─► header ─► [retransmission ring: reliable] ─► Lower.WriteBatch
//	Read  ◄─ delivery ◄── reorder ring ◄── routineReceive ◄────────────── Lower.ReadBatch
//	                              acks, window updates, retransmissions ─► Lower.TryWriteBatch
//
// One goroutine per Conn (routineReceive) reads the Lower and runs every
// timer: its read deadline is the earliest timer, so there is no timer per
// packet. Acknowledgements and retransmissions never block it.
package frct
