// Package crypt is the per-packet protection of an encrypted Ouroboros flow:
// the key schedule that turns the flow allocation's key exchange into one key
// per direction, and the framing that seals every SDU with an AEAD, rejects
// replays and rekeys without a message.
//
// One flow end holds a Sealer for what it sends and an Opener for what it
// receives, both made from the Keys that DeriveKeys returns:
//
//	shared secret, transcript hash ─► DeriveKeys ─► Keys{send, recv}
//	                                                  │        │
//	SDU ─► Sealer.Seal: rekey if due ─► header ─► AEAD seal ─► packet
//	packet ─► Opener.Open: epoch ─► replay check ─► AEAD open ─► window update ─► SDU
//
// The wire format is in frame.go and the key schedule in keys.go, both
// written precisely enough for a second implementation.
//
// Forward secrecy rests on erasing: a rekey overwrites the old epoch's key
// in place, the Opener erases the previous epoch's after its grace, and
// Erase wipes everything when the flow ends. It is best effort: the
// expanded key schedule inside the standard library's AEAD cannot be
// wiped, only dropped for the garbage collector.
//
// Neither Sealer nor Opener is safe for concurrent use: a flow has one
// writer and one reader, and each owns its half.
package crypt
