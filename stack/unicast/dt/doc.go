// Package dt is the data-transfer part of a unicast layer: the header every
// SDU carries across the layer (Header, Codec), the forwarding tables routing
// fills and every hop reads (Table, one per QoS cube), and the output scheduler in front
// of each data-transfer flow to a neighbour (Queue).
//
// A packet's path through one IPCP:
//
//	source:  SDU ─► Codec.Put ─► Table[cube].Lookup(dst) ─► Queue(next hop).Enqueue ─► lower flow
//	transit: lower flow ─► Codec.Parse ─► TTL-1, ECN ─► Table[cube].Lookup ─► Queue(next hop).Enqueue ─► lower flow
//	sink:    lower flow ─► Codec.Parse ─► dst is us ─► deliver to EID
//
// The forwarding tables are read lock-free by every forwarding goroutine and
// replaced whole when routing recomputes. The queues serve voice before
// video before best effort and mark congestion in the ECN byte by queue
// depth, which package ca turns into a sending rate at the source.
package dt
