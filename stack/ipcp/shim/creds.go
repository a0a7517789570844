package shim

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
)

// creds are one side's proof material for a flow, chosen at random when
// the flow is requested or accepted: the token and the commit (a hash of
// the secret) travel in FLOW_REQ or FLOW_REPLY; the peer echoes the token
// in its KEEPALIVEs, and the side reveals the secret in its DEALLOC.
//
// Endpoint ids travel in every data packet, so they prove nothing. A
// stranger off the path sees neither token nor commit; one on the path sees
// both but not the secret, which leaves the host only in the DEALLOC that
// ends the flow: so nobody but the peer can end a flow, and an on-path
// attacker can at most drop packets (the flow then ends by silence).
type creds struct {
	token  uint64
	secret [secretLen]byte
}

func newCreds() creds {
	var b [tokenLen + secretLen]byte
	rand.Read(b[:])
	c := creds{token: binary.BigEndian.Uint64(b[:])}
	copy(c.secret[:], b[tokenLen:])
	return c
}

// commit is what the peer checks a DEALLOC's secret against.
func (c *creds) commit() [secretLen]byte {
	return commitOf(c.secret)
}

func commitOf(secret [secretLen]byte) [secretLen]byte {
	h := sha256.Sum256(secret[:])
	return [secretLen]byte(h[:secretLen])
}

// opens reports whether secret is the one behind commit.
func opens(commit, secret [secretLen]byte) bool {
	c := commitOf(secret)
	return subtle.ConstantTimeCompare(c[:], commit[:]) == 1
}
