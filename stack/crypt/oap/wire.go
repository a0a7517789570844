package oap

// Wire format of OAP version 1, for docs/protocol.md.
//
// Both messages travel as opaque blobs: the request inside the flow
// allocation request, the response inside its reply. All integers are
// unsigned and big-endian (network byte order). A message is at most
// 16384 bytes; a receiver refuses a longer one, a length field that runs
// past the end, and any byte after the last field.
//
// Request, client to server:
//
//	offset size  field
//	0      1     version: 1. A receiver refuses any other (ErrVersion).
//	1      1     type: 1 = request
//	2      1     kex: 1 = X25519, 2 = X25519 + ML-KEM-768 (hybrid)
//	3      1     flags: 0; reserved, refused if not 0
//	4      16    id: random, fresh per request
//	20     8     timestamp: nanoseconds since 1970-01-01T00:00:00Z (< 2^63)
//	28     1     n: number of offered suites, 1..8
//	29     n     suites, the client's preference first: 1 = AES-256-GCM,
//	             2 = ChaCha20-Poly1305; the server skips values it does not know
//	29+n   2     k: key share length, exactly 32 (X25519) or 1216 (hybrid)
//	31+n   k     key share: the client's ephemeral X25519 public key (32);
//	             for the hybrid followed by its ML-KEM-768 encapsulation key (1184)
//	       1     c: number of certificates, 0..4
//	       c ×   certificate: 2 bytes length (1..8192), then the X.509 DER;
//	             the leaf first, then intermediates towards the CA
//	       2     s: signature length: 0 if c = 0, else 1..128
//	       s     signature
//
// Response, server to client:
//
//	offset size  field
//	0      1     version: 1
//	1      1     type: 2 = response
//	2      1     kex: the request's
//	3      1     flags: 0
//	4      16    id: the request's
//	20     1     suite: the one chosen, from the request's list
//	21     2     k: key share length, exactly 32 (X25519) or 1120 (hybrid)
//	23     k     key share: the server's ephemeral X25519 public key (32); for
//	             the hybrid followed by the ML-KEM-768 ciphertext (1088)
//	             encapsulated to the client's key
//	       1     c: number of certificates, 0..4, as in the request
//	       2     s: signature length, as in the request
//	       s     signature
//
// Shared secret: the 32-byte X25519 output (an all-zero one is refused),
// for the hybrid followed by the 32-byte ML-KEM-768 shared secret.
//
// Signatures. A party with a certificate signs; the key of its leaf
// certificate is Ed25519 (a pure Ed25519 signature, 64 bytes, of M) or ECDSA
// P-256 (an ASN.1 DER ECDSA signature of SHA-256(M)). M is:
//
//	request:  "o7s/oap/v1 request" 0x00 || SHA-256(destination name) || the request up to, not including, its signature length field
//	response: "o7s/oap/v1 response" 0x00 || SHA-256(request) || the response up to, not including, its signature length field
//
// where "request" is the whole request as received, signature included.
// The destination name binds a client's signature to the name it asked
// for; the request hash binds the server's to the one request it answers.
//
// Receiving a request, a server refuses it (and sends no response) if:
// a field is out of the bounds above; the timestamp is more than 5 s ahead
// of its clock or more than 30 s behind; the kex ranks below the one it
// requires (X25519 < hybrid); none of the suites is one it allows (else it
// takes the first that is); the id was already accepted with a timestamp
// still inside the window; or it carries a certificate whose leaf does not
// parse or whose key did not make the signature (whether or not the server
// checks chains: a certificate is only ever reported with its key's
// signature), or, when it checks chains, one that does not verify (to its
// CAs, as a name certificate). Receiving a response, a client refuses one
// whose id or kex differs from its request's or whose suite it did not
// offer, and one whose signature, or chain when it checks chains (which
// must be for the destination name), does not verify.
//
// Keys. transcript = SHA-256(request || response), the two whole messages
// as sent, signatures included; both ends then run
// crypt.DeriveKeys(suite, secret, transcript, initiator), the client being
// the initiator. See package crypt for the key schedule.

import (
	"encoding/binary"
	"fmt"
	"math"

	"o7s.dev/ouroboros/stack/crypt"
)

// Version is the protocol version this package speaks.
const Version = 1

// Bounds of the wire format.
const (
	MaxMessage  = 16384 // bytes of a whole message
	MaxCerts    = 4     // certificates in a chain
	MaxCertSize = 8192  // bytes of one DER certificate
	MaxSuites   = 8     // suites a request offers
	maxSig      = 128   // bytes of a signature: Ed25519 64, ECDSA P-256 at most 72
	idSize      = 16
)

// Message types.
const (
	typeRequest  = 1
	typeResponse = 2
)

// headerSize is the part common to both messages: version, type, kex,
// flags, id.
const headerSize = 4 + idSize

// request is a decoded request. Its slices point into the message.
type request struct {
	kex    KEX
	id     [idSize]byte
	ts     uint64
	suites []byte
	share  []byte
	certs  [][]byte
	sig    []byte
	signed int // bytes covered by the signature: up to the signature length
}

// response is a decoded response. Its slices point into the message.
type response struct {
	kex    KEX
	id     [idSize]byte
	suite  crypt.Suite
	share  []byte
	certs  [][]byte
	sig    []byte
	signed int
}

// appendHeader appends the common header.
func appendHeader(b []byte, typ byte, k KEX, id *[idSize]byte) []byte {
	b = append(b, Version, typ, byte(k), 0)
	return append(b, id[:]...)
}

// appendRequestBody appends a request's fields after the header, up to and
// not including the signature length.
func appendRequestBody(b []byte, ts uint64, suites []crypt.Suite, share []byte, chain [][]byte) []byte {
	b = binary.BigEndian.AppendUint64(b, ts)
	b = append(b, byte(len(suites)))
	for _, s := range suites {
		b = append(b, byte(s))
	}
	b = appendShare(b, share)
	return appendChain(b, chain)
}

// appendShare appends a length-prefixed key share.
func appendShare(b, share []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(share)))
	return append(b, share...)
}

// appendChain appends the certificate count and the certificates.
func appendChain(b []byte, chain [][]byte) []byte {
	b = append(b, byte(len(chain)))
	for _, c := range chain {
		b = binary.BigEndian.AppendUint16(b, uint16(len(c)))
		b = append(b, c...)
	}
	return b
}

// appendSig appends the length-prefixed signature, which ends the message.
func appendSig(b, sig []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(sig)))
	return append(b, sig...)
}

// checkChainOut checks that a chain we are about to send fits the bounds a
// receiver enforces, so that a bad configuration fails here, clearly.
func checkChainOut(chain [][]byte) error {
	if len(chain) > MaxCerts {
		return fmt.Errorf("certificate chain of %d certificates, at most %d fit", len(chain), MaxCerts)
	}
	for i, c := range chain {
		if len(c) == 0 || len(c) > MaxCertSize {
			return fmt.Errorf("certificate %d of %d bytes, want 1..%d", i, len(c), MaxCertSize)
		}
	}
	return nil
}

// parseRequest decodes a request.
func parseRequest(msg []byte) (request, error) {
	var q request
	r, err := newReader(msg, typeRequest)
	if err != nil {
		return q, err
	}
	q.kex, q.id = r.kex, r.id
	q.ts = r.u64()
	if q.ts > math.MaxInt64 {
		r.fail("timestamp out of range")
	}
	n := int(r.u8())
	if n < 1 || n > MaxSuites {
		r.fail(fmt.Sprintf("%d suites, want 1..%d", n, MaxSuites))
	}
	q.suites = r.bytes(n)
	cs, _ := q.kex.shareSizes()
	q.share = r.share(cs)
	q.certs = r.chain()
	q.signed = r.off
	q.sig = r.sig(len(q.certs) > 0)
	return q, r.end()
}

// parseResponse decodes a response.
func parseResponse(msg []byte) (response, error) {
	var p response
	r, err := newReader(msg, typeResponse)
	if err != nil {
		return p, err
	}
	p.kex, p.id = r.kex, r.id
	p.suite = crypt.Suite(r.u8())
	_, ss := p.kex.shareSizes()
	p.share = r.share(ss)
	p.certs = r.chain()
	p.signed = r.off
	p.sig = r.sig(len(p.certs) > 0)
	return p, r.end()
}
