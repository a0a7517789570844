package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"time"

	"o7s.dev/ouroboros/stack/crypt/oap"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
)

// The shim's management messages (stack/ipcp/shim/wire.go,
// docs/protocol.md), written here from the spec.
const (
	shimVersion   = 2
	codeFlowReq   = 1
	codeFlowReply = 2
	codeDealloc   = 3
	codeCookie    = 7
	qosLen        = 30
	secretLen     = 16 // a teardown secret, its commit, a cookie
)

// The OAP request's header: version, type, kex, flags, id (16), timestamp.
const (
	oapIDAt = 4
	oapTSAt = 20
)

// writer builds the flood's FLOW_REQs. It is not safe for concurrent use:
// each goroutine that sends takes its own clone.
type writer struct {
	hash []byte
	kex  []byte // the OAP request; its id and timestamp change per request
	seed *[32]byte
	pkt  []byte
}

func newWriter(name string) (*writer, error) {
	kex, _, err := oap.NewRequest(oap.Config{}, name)
	if err != nil {
		return nil, err
	}
	seed := new([32]byte)
	rand.Read(seed[:])
	return &writer{hash: ipcp.DefaultHash.Sum(name), kex: kex, seed: seed}, nil
}

// clone returns a writer of the same key and credentials, with buffers
// of its own.
func (w *writer) clone() *writer {
	return &writer{hash: w.hash, kex: append([]byte(nil), w.kex...), seed: w.seed}
}

// creds returns the token and the teardown secret of the request from eid
// src: derived from the seed, so that neither the sender nor the reader of
// replies keeps a table of them.
func (w *writer) creds(src uint32) (token uint64, secret [secretLen]byte) {
	h := sha256.Sum256(binary.BigEndian.AppendUint32(w.seed[:], src))
	return binary.BigEndian.Uint64(h[secretLen:]), [secretLen]byte(h[:secretLen])
}

// request returns a FLOW_REQ from eid src carrying cookie (none if nil)
// and the key exchange with a fresh id and the current time. The packet
// is valid until the next call.
func (w *writer) request(src uint32, cookie []byte) []byte {
	rand.Read(w.kex[oapIDAt : oapIDAt+16])
	binary.BigEndian.PutUint64(w.kex[oapTSAt:], uint64(time.Now().UnixNano()))
	token, secret := w.creds(src)
	commit := sha256.Sum256(secret[:])
	b := append(w.pkt[:0], 0, 0, 0, 0, shimVersion, codeFlowReq)
	b = binary.BigEndian.AppendUint32(b, src)
	b = binary.BigEndian.AppendUint64(b, token)
	b = append(b, commit[:secretLen]...)
	b = append(b, byte(len(cookie)))
	b = append(b, cookie...)
	b = appendQoS(b, qos.Raw)
	b = append(b, byte(len(w.hash)))
	b = append(b, w.hash...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(w.kex)))
	w.pkt = append(b, w.kex...)
	return w.pkt
}

// dealloc returns the DEALLOC that ends the flow the request from eid src
// was granted, the server's end being eid dst: it reveals src's secret.
func (w *writer) dealloc(src, dst uint32) []byte {
	_, secret := w.creds(src)
	b := append(w.pkt[:0], 0, 0, 0, 0, shimVersion, codeDealloc)
	b = binary.BigEndian.AppendUint32(b, dst)
	w.pkt = append(b, secret[:]...)
	return w.pkt
}

func appendQoS(b []byte, q qos.Spec) []byte {
	var w [qosLen]byte
	binary.BigEndian.PutUint32(w[0:], q.Delay)
	binary.BigEndian.PutUint64(w[4:], q.Bandwidth)
	w[12] = q.Availability
	binary.BigEndian.PutUint32(w[13:], q.Loss)
	binary.BigEndian.PutUint32(w[17:], q.BER)
	if q.InOrder {
		w[21] = 1
	}
	binary.BigEndian.PutUint32(w[22:], q.MaxGap)
	binary.BigEndian.PutUint32(w[26:], q.Timeout)
	return append(b, w[:]...)
}
