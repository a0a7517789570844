package cert

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is what a certificate is for.
type Kind string

// The kinds of certificate. A name certificate authenticates an application
// name (a server, or a client that must present one); an IPCP certificate
// admits an IPC process to a layer; a CA certificate issues the others.
const (
	KindCA   Kind = "ca"
	KindName Kind = "name"
	KindIPCP Kind = "ipcp"
)

// uriScheme is the scheme of the URI that carries a leaf's kind and name.
const uriScheme = "ouroboros"

// maxName is the longest name in bytes, as irmd allows for names and IPCPs.
const maxName = 255

// ParseKind returns the kind s names, spelled as the constants are.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case KindCA, KindName, KindIPCP:
		return k, nil
	}
	return "", fmt.Errorf("unknown kind %q: want %s, %s or %s", s, KindName, KindIPCP, KindCA)
}

// article returns the kind with its indefinite article, for messages.
func (k Kind) article() string {
	switch k {
	case KindCA:
		return "a CA certificate"
	case KindName:
		return "a name certificate"
	case KindIPCP:
		return "an IPCP certificate"
	}
	return fmt.Sprintf("a %q certificate", string(k))
}

// CheckName rejects a name that cannot be an Ouroboros name or that would
// read misleadingly in a certificate: what a name certificate can be
// issued for. ovpn's configuration checks its names with it.
func CheckName(name string) error { return checkName(name) }

// checkName rejects a name that cannot be an Ouroboros name or that would
// read misleadingly in a certificate.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("name is empty")
	case len(name) > maxName:
		return fmt.Errorf("name is %d bytes long, at most %d are allowed", len(name), maxName)
	case !utf8.ValidString(name):
		return fmt.Errorf("name %q is not valid UTF-8", name)
	case strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Errorf("name %q contains a control character", name)
	}
	return nil
}

// identityURI returns the URI that marks a leaf as being for kind and name.
// The name is escaped so that '?', '#' and '%' survive the URI parser.
func identityURI(kind Kind, name string) *url.URL {
	return &url.URL{Scheme: uriScheme, Opaque: string(kind) + ":" + url.PathEscape(name)}
}

// Identity returns what c is for: KindCA and its common name for a CA,
// otherwise the kind and name of its single ouroboros URI. A leaf without
// one, or with more than one, has no identity: it could otherwise serve as
// two kinds at once.
func Identity(c *x509.Certificate) (Kind, string, error) {
	if c.IsCA {
		return KindCA, c.Subject.CommonName, nil
	}
	var found []*url.URL
	for _, u := range c.URIs {
		if strings.EqualFold(u.Scheme, uriScheme) {
			found = append(found, u)
		}
	}
	switch len(found) {
	case 0:
		return "", "", fmt.Errorf("%s is not an Ouroboros certificate: it has no %s: URI", label(c), uriScheme)
	case 1:
	default:
		return "", "", fmt.Errorf("%s has %d %s: URIs, want one", label(c), len(found), uriScheme)
	}
	return parseIdentity(c, found[0])
}

// parseIdentity reads the kind and name of an ouroboros URI.
func parseIdentity(c *x509.Certificate, u *url.URL) (Kind, string, error) {
	k, esc, ok := strings.Cut(u.Opaque, ":")
	kind := Kind(k)
	if !ok || (kind != KindName && kind != KindIPCP) {
		return "", "", fmt.Errorf("%s has a malformed identity %q: want %s:name:NAME or %s:ipcp:NAME",
			label(c), u.String(), uriScheme, uriScheme)
	}
	name, err := url.PathUnescape(esc)
	if err == nil {
		err = checkName(name)
	}
	if err != nil {
		return "", "", fmt.Errorf("%s has a malformed identity %q: %v", label(c), u.String(), err)
	}
	return kind, name, nil
}

// label names a certificate in messages by its common name.
func label(c *x509.Certificate) string {
	return fmt.Sprintf("certificate %q", c.Subject.CommonName)
}
