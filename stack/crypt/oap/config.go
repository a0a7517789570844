package oap

import (
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"o7s.dev/ouroboros/stack/crypt"
	"o7s.dev/ouroboros/stack/crypt/cert"
)

// Config is one end's policy for an exchange: the client's for the name it
// allocates a flow to, the server's for the name it answers for.
type Config struct {
	// KEX is the client's key exchange, and the server's minimum: the
	// server accepts a client's KEX that ranks at least as high (X25519
	// below X25519MLKEM768) and refuses a weaker one (ErrWeakKEX).
	// 0 means X25519.
	KEX KEX
	// Suites are the AEADs this end allows, in the client's preference
	// order; the server picks the first of the client's list it also
	// allows. Empty means both, crypt.DefaultSuite first.
	Suites []crypt.Suite
	// Cert, if set, is presented and signs this end's message.
	Cert *cert.Pair
	// Roots are the CAs a peer's certificate must chain to. With them a
	// certificate that fails is refused, and one that passes names the
	// peer. Without them a peer's chain is not checked and the peer stays
	// unnamed; a certificate it presents is still refused unless its key
	// signed the peer's message, and is then reported as Peer.Signed.
	Roots *x509.CertPool
	// RequirePeerCert refuses a peer without a valid certificate
	// (ErrNoCert): a server then admits only clients with one, a client
	// only a server with one for the destination name. It needs Roots.
	RequirePeerCert bool
	// PeerKind is the kind a peer's certificate must be; empty means
	// cert.KindName. IPCPs authenticating each other set cert.KindIPCP.
	PeerKind cert.Kind
	// Revoked refuses a peer whose chain holds a certificate it lists
	// (ErrCertificate wrapping cert.ErrRevoked), even one Roots vouch for.
	Revoked cert.Revoked
	// Pool supplies ephemeral keys generated ahead of time; nil generates
	// them per exchange. The Server uses its own and ignores this one.
	Pool *KeyPool
	// Now is the clock for timestamps and certificate validity; nil means
	// time.Now.
	Now func() time.Time
}

// Peer is what an exchange learnt about the other end.
type Peer struct {
	// Cert is the peer's verified leaf certificate, nil if it presented
	// none (or this end has no Roots to check it against).
	Cert *x509.Certificate
	// Name is the name the certificate was verified for: on the client the
	// destination name, on the server the name in the client's
	// certificate. Empty for an anonymous peer.
	Name string
	// Chain is the verified chain the peer presented, Cert first: what a
	// revocation decided later is checked against.
	Chain []*x509.Certificate
	// Signed is the leaf certificate whose key signed the peer's message,
	// whether or not a CA vouches for it (it is Cert when one does); nil
	// if the peer presented none. The signature proves the peer holds
	// its key; without Roots nothing else about it was checked (issuer,
	// validity, name), so it identifies the peer only by comparing its
	// fingerprint with one pinned ahead of time.
	Signed *x509.Certificate
}

// withDefaults fills the zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.KEX == 0 {
		c.KEX = X25519
	}
	if c.KEX.rank() == 0 {
		return c, fmt.Errorf("config: unknown key exchange %v", c.KEX)
	}
	if len(c.Suites) == 0 {
		c.Suites = defaultSuites()
	}
	if len(c.Suites) > MaxSuites {
		return c, fmt.Errorf("config: %d suites, at most %d", len(c.Suites), MaxSuites)
	}
	for _, s := range c.Suites {
		if !knownSuite(s) {
			return c, fmt.Errorf("config: unknown cipher %v", s)
		}
	}
	if c.Cert != nil {
		if c.Cert.Cert == nil {
			return c, fmt.Errorf("config: certificate pair without a certificate")
		}
		if err := checkSigner(c.Cert.Key); err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
	}
	if c.RequirePeerCert && c.Roots == nil {
		return c, fmt.Errorf("config: a peer certificate is required but no CAs are configured to check it")
	}
	if c.PeerKind == "" {
		c.PeerKind = cert.KindName
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// defaultSuites returns both suites, the one this machine runs fastest
// first.
func defaultSuites() []crypt.Suite {
	if crypt.DefaultSuite() == crypt.AES256GCM {
		return []crypt.Suite{crypt.AES256GCM, crypt.ChaCha20Poly1305}
	}
	return []crypt.Suite{crypt.ChaCha20Poly1305, crypt.AES256GCM}
}

// knownSuite reports whether crypt knows s: its name parses back to it.
// Asking crypt keeps this package right when a suite is added there.
func knownSuite(s crypt.Suite) bool {
	p, err := crypt.ParseSuite(s.String())
	return err == nil && p == s
}

// chooseSuite returns the first of the offered suites (wire values, the
// client's order) that allowed contains.
func chooseSuite(offered []byte, allowed []crypt.Suite) (crypt.Suite, error) {
	for _, b := range offered {
		if slices.Contains(allowed, crypt.Suite(b)) {
			return crypt.Suite(b), nil
		}
	}
	return 0, fmt.Errorf("%w: client offers %v, server allows %v", ErrNoSuite, wireSuites(offered), allowed)
}

// wireSuites converts offered suites for an error message.
func wireSuites(b []byte) []crypt.Suite {
	s := make([]crypt.Suite, len(b))
	for i, v := range b {
		s[i] = crypt.Suite(v)
	}
	return s
}

// chainDER returns the DER chain this end presents, nil without a
// certificate.
func (c *Config) chainDER() ([][]byte, error) {
	if c.Cert == nil {
		return nil, nil
	}
	chain := c.Cert.ChainDER()
	if err := checkChainOut(chain); err != nil {
		return nil, err
	}
	return chain, nil
}
