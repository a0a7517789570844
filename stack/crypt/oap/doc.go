// Package oap is the Ouroboros Allocation Protocol: the key exchange that
// rides in a flow allocation request and its reply, so that a flow is
// encrypted after that one round trip.
//
//	client (irmd)                                       server (irmd)
//	NewRequest(cfg, name) ──► request ── allocation ──► Server.Respond(src, name, req)
//	                                                      checks, key share, keys
//	ClientState.Finish(resp) ◄── response ◄── reply ◄──
//	keys (initiator)                                    keys (responder)
//
// The request carries a fresh id and a timestamp against replay, the
// client's cipher suites, its ephemeral X25519 public key (and ML-KEM-768
// encapsulation key for the hybrid exchange) and, optionally, its
// certificate chain and signature. The response carries the chosen suite,
// the server's ephemeral key share and, optionally, its chain and
// signature. Both ends then derive the flow's keys with crypt.DeriveKeys
// from the shared secret and the hash of both messages.
//
// Every key is ephemeral, so recorded flows stay secret when a host's
// certificate key leaks later (forward secrecy); certificates only
// authenticate. The wire format is in wire.go.
//
// What it fixes from the reference implementation's OAP: a key per
// direction instead of one for both; the client's choice of suite and key
// exchange is in what the server signs, and the server's answer in what the
// keys are derived from, so neither can be downgraded silently; a party
// can require the other's certificate instead of authentication being only
// opportunistic; a server certificate is checked for its Ouroboros name,
// not its common name; signatures carry a context label, so one made for
// a request never verifies as a response or for another name; and every
// length is bounded and checked before use.
package oap
