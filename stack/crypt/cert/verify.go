package cert

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bounds on a chain read from the network: a leaf and its intermediates,
// never the root, which each side has configured.
const (
	MaxChain    = 4       // certificates in a chain
	MaxCertSize = 8 << 10 // bytes of one DER certificate
)

// Reasons Verify refuses a chain, for errors.Is. The error itself says which
// certificate and why, in words fit for a log line.
var (
	ErrExpired     = errors.New("certificate expired")
	ErrNotYetValid = errors.New("certificate not yet valid")
	ErrUntrusted   = errors.New("certificate not signed by a trusted CA")
	ErrWrongKind   = errors.New("certificate of the wrong kind")
	ErrWrongName   = errors.New("certificate for another name")
)

// verifyError is a refusal: a message for people and a reason for programs.
type verifyError struct {
	reason error
	msg    string
}

func (e *verifyError) Error() string { return e.msg }
func (e *verifyError) Unwrap() error { return e.reason }

func refuse(reason error, format string, args ...any) error {
	return &verifyError{reason: reason, msg: fmt.Sprintf(format, args...)}
}

// Verify checks a presented chain, leaf first, against roots at now: every
// certificate in its validity period, each signed by the next and the last
// by one of roots, and the leaf of kind for name. An empty name accepts any
// name, an empty kind any kind. The error says exactly why a chain is
// refused and wraps one of the Err reasons above.
func Verify(chain []*x509.Certificate, roots *x509.CertPool, kind Kind, name string, now time.Time) error {
	switch {
	case len(chain) == 0:
		return refuse(ErrUntrusted, "no certificate presented")
	case len(chain) > MaxChain:
		return refuse(ErrUntrusted, "chain of %d certificates: at most %d are accepted", len(chain), MaxChain)
	case roots == nil:
		return refuse(ErrUntrusted, "no CA configured to verify %s", label(chain[0]))
	}
	if err := checkPeriods(chain, now); err != nil {
		return err
	}
	if err := checkLinks(chain); err != nil {
		return err
	}
	if err := checkRoots(chain, roots, now); err != nil {
		return err
	}
	return checkIdentity(chain[0], kind, name)
}

// checkPeriods refuses a chain with a certificate outside its validity.
func checkPeriods(chain []*x509.Certificate, now time.Time) error {
	for _, c := range chain {
		if now.After(c.NotAfter) {
			return refuse(ErrExpired, "%s expired on %s", label(c), fmtTime(c.NotAfter))
		}
		if now.Before(c.NotBefore) {
			return refuse(ErrNotYetValid, "%s is not yet valid: it is valid from %s", label(c), fmtTime(c.NotBefore))
		}
	}
	return nil
}

// checkLinks checks that each certificate of the chain is signed by the next,
// so that a refusal can name the link that is broken.
func checkLinks(chain []*x509.Certificate) error {
	for i := 0; i+1 < len(chain); i++ {
		child, parent := chain[i], chain[i+1]
		if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
			return refuse(ErrUntrusted, "%s is issued by %q, but the chain continues with %q",
				label(child), child.Issuer.CommonName, parent.Subject.CommonName)
		}
		err := child.CheckSignatureFrom(parent)
		var cv x509.ConstraintViolationError
		switch {
		case errors.As(err, &cv):
			return refuse(ErrUntrusted, "%s is not a CA: it cannot vouch for %s", label(parent), label(child))
		case err != nil:
			return refuse(ErrUntrusted, "%s does not carry a valid signature of %q (tampered or forged): %v",
				label(child), parent.Subject.CommonName, err)
		}
	}
	return nil
}

// checkRoots checks that the top of the chain is signed by one of roots,
// with the standard library's path validation (CA constraints, path length,
// key usage).
func checkRoots(chain []*x509.Certificate, roots *x509.CertPool, now time.Time) error {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err == nil {
		return nil
	}
	top := chain[len(chain)-1]
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		msg := fmt.Sprintf("%s is signed by an unknown CA %q", label(top), top.Issuer.CommonName)
		// The standard library keeps why a configured CA of the right name
		// was passed over only in its message; that reason is what an
		// administrator needs (a forged signature, an expired CA).
		if hint, ok := verifyHint(err); ok {
			msg = fmt.Sprintf("%s is not accepted by the configured CA %q: %s", label(top), top.Issuer.CommonName, hint)
		}
		return refuse(ErrUntrusted, "%s", msg)
	case errors.As(err, &ci) && ci.Reason == x509.Expired && ci.Cert != nil:
		// The presented certificates were checked: this is the root.
		c := ci.Cert
		if now.Before(c.NotBefore) {
			return refuse(ErrNotYetValid, "the configured CA %q is not yet valid: it is valid from %s",
				c.Subject.CommonName, fmtTime(c.NotBefore))
		}
		return refuse(ErrExpired, "the configured CA %q expired on %s", c.Subject.CommonName, fmtTime(c.NotAfter))
	case errors.As(err, &ci):
		return refuse(ErrUntrusted, "%s is refused: %s", label(ci.Cert), ci.Error())
	}
	return refuse(ErrUntrusted, "%s is refused: %v", label(chain[0]), err)
}

// verifyHint extracts from an UnknownAuthorityError's message the reason a
// candidate CA was passed over, if it has one.
func verifyHint(err error) (string, bool) {
	_, hint, ok := strings.Cut(err.Error(), "(possibly because of ")
	if !ok {
		return "", false
	}
	hint, _, _ = strings.Cut(hint, " while trying to verify candidate")
	if uq, err := strconv.Unquote(hint); err == nil {
		hint = uq
	}
	return hint, true
}

// checkIdentity checks that leaf is of kind for name ("" for any).
func checkIdentity(leaf *x509.Certificate, kind Kind, name string) error {
	k, n, err := Identity(leaf)
	if err != nil {
		return &verifyError{reason: ErrWrongKind, msg: err.Error()}
	}
	if kind != "" && k != kind {
		return refuse(ErrWrongKind, "%s is %s, not %s", label(leaf), k.article(), kind.article())
	}
	if name != "" && n != name {
		return refuse(ErrWrongName, "%s is for %s %q, not %q", label(leaf), kindNoun(k), n, name)
	}
	return nil
}

// kindNoun names what a certificate of kind k is for.
func kindNoun(k Kind) string {
	switch k {
	case KindIPCP:
		return "IPCP"
	case KindCA:
		return "CA"
	}
	return "name"
}

// ParseChain reads a chain as it came from the wire, leaf first. It refuses
// more than MaxChain certificates or one longer than MaxCertSize before
// parsing anything, so a peer cannot make it work hard.
func ParseChain(der [][]byte) ([]*x509.Certificate, error) {
	switch {
	case len(der) == 0:
		return nil, errors.New("empty certificate chain")
	case len(der) > MaxChain:
		return nil, fmt.Errorf("chain of %d certificates: at most %d are accepted", len(der), MaxChain)
	}
	for i, d := range der {
		if len(d) > MaxCertSize {
			return nil, fmt.Errorf("certificate %d of %d is %d bytes: at most %d are accepted", i+1, len(der), len(d), MaxCertSize)
		}
	}
	chain := make([]*x509.Certificate, len(der))
	for i, d := range der {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, fmt.Errorf("certificate %d of %d: %v", i+1, len(der), err)
		}
		chain[i] = c
	}
	return chain, nil
}
