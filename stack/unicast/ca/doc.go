// Package ca is congestion avoidance for the flows of a unicast layer, and
// the policing of their declared bandwidth.
//
// Congestion is signalled with multi-bit ECN: every output queue on the
// path raises the packet's ECN byte to a level that grows with its depth
// (see dt.Queue). The flow's receiving IPCP smooths those levels into a
// congestion level (Receiver) and sends it back in flow updates; the
// sending IPCP turns the updates into a rate limit per time slot with
// additive increase and multiplicative decrease (Sender):
//
//	source: Sender.Admit ─► wait ─► send ──► queues mark ECN ──► sink: Receiver.Packet
//	        Sender.Update ◄──────────── flow update (ECE) ◄────────────────┘
//
// A Policer enforces a flow's declared bandwidth at the layer's edge.
//
// Nothing here reads the clock: every method takes now, so the owner
// decides what time is and tests run in simulated time.
package ca
