package oap

import "errors"

// Errors of the exchange; test them with errors.Is. Most come wrapped with
// the detail (which field, which limit, the certificate's verify error).
var (
	// ErrVersion: the message is of a protocol version this end does not
	// speak. The peer may retry with an older version.
	ErrVersion = errors.New("unsupported version")
	// ErrMalformed: the message does not decode (bad type, a length out of
	// bounds, truncated, trailing bytes, an invalid key share).
	ErrMalformed = errors.New("malformed message")
	// ErrReplay: the request's id was already seen within the replay window.
	ErrReplay = errors.New("replayed request")
	// ErrReplayCacheFull: the server has as many ids in the replay window as
	// it can remember; rather than forget one and let its replay in, it
	// refuses new requests until the oldest age out.
	ErrReplayCacheFull = errors.New("replay cache full")
	// ErrTimestamp: the request's timestamp is outside the acceptance
	// window (too old, or too far in the future: clocks must be roughly
	// in sync).
	ErrTimestamp = errors.New("request timestamp outside the window")
	// ErrWeakKEX: the client's key exchange ranks below the server's.
	ErrWeakKEX = errors.New("key exchange too weak")
	// ErrNoSuite: the client offers no cipher suite the server allows.
	ErrNoSuite = errors.New("no common cipher suite")
	// ErrNoCert: the peer presented no certificate but one is required.
	ErrNoCert = errors.New("peer certificate required")
	// ErrCertificate: the peer's certificate chain failed verification
	// (unknown CA, expired, wrong name or kind); wraps the verify error.
	ErrCertificate = errors.New("peer certificate refused")
	// ErrSignature: the peer's signature does not verify under its
	// certificate: the message was modified or signed by another key.
	ErrSignature = errors.New("bad signature")
	// ErrMismatch: the response does not answer this request (another id or
	// key exchange, or a suite the client did not offer).
	ErrMismatch = errors.New("response does not match the request")
	// ErrFinished: Finish was already called on this ClientState; its
	// ephemeral keys are gone.
	ErrFinished = errors.New("exchange already finished")
)
