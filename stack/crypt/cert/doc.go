// Package cert is the certificate toolkit of Ouroboros: it creates CAs,
// issues certificates for names and IPC processes, stores them as PEM files
// and verifies the chains peers present.
//
// Certificates are plain X.509 (crypto/x509), signed with Ed25519 by default
// or ECDSA P-256. What a certificate is for is written into it as a URI
// subject alternative name, so that one kind cannot pass for another:
//
//	ouroboros:name:NAME   a name's certificate (a server, or a client)
//	ouroboros:ipcp:NAME   an IPC process's certificate, for its layer
//
// A CA carries no such URI: it is recognised by its basic constraints. A
// root may issue one level of intermediate CAs, so a presented chain is a
// leaf and at most a few intermediates, never the root, which each side
// takes from its own configuration (Pool).
//
// Nothing here keeps state; every function that depends on the clock takes
// now, so that callers decide and tests can travel in time.
package cert
