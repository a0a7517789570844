package cert

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"strings"
	"time"
)

// ExpiresSoon reports whether c expires within warn of now (or already has),
// and how long it has left, negative once expired. irmd logs a warning this
// far in advance.
func ExpiresSoon(c *x509.Certificate, now time.Time, warn time.Duration) (bool, time.Duration) {
	left := c.NotAfter.Sub(now)
	return left <= warn, left
}

// Describe returns a summary of c for people, one "field: value" line each:
// subject, kind and name, issuer, algorithm, validity and SHA-256
// fingerprint.
func Describe(c *x509.Certificate) string {
	var b strings.Builder
	line := func(k, v string) { fmt.Fprintf(&b, "%-12s %s\n", k+":", v) }
	line("subject", c.Subject.String())
	line("kind", describeKind(c))
	line("issuer", c.Issuer.String())
	line("algorithm", fmt.Sprintf("%s key, signed with %v", keyAlgo(c.PublicKey), c.SignatureAlgorithm))
	line("valid", fmt.Sprintf("%s to %s", fmtTime(c.NotBefore), fmtTime(c.NotAfter)))
	line("serial", fmt.Sprintf("%X", c.SerialNumber))
	line("fingerprint", "SHA-256 "+Fingerprint(c))
	return b.String()
}

// describeKind says what c is for, or why it is for nothing.
func describeKind(c *x509.Certificate) string {
	kind, name, err := Identity(c)
	switch {
	case err != nil:
		return "none: " + err.Error()
	case kind != KindCA:
		return fmt.Sprintf("%s certificate for %q", kindNoun(kind), name)
	case selfSigned(c):
		return fmt.Sprintf("root CA %q%s", name, pathNote(c))
	}
	return fmt.Sprintf("intermediate CA %q%s", name, pathNote(c))
}

// pathNote says what a CA may issue.
func pathNote(c *x509.Certificate) string {
	switch {
	case c.MaxPathLen == 0:
		return " (issues name and IPCP certificates)"
	case c.MaxPathLen > 0:
		return fmt.Sprintf(" (issues certificates and up to %d level(s) of CAs)", c.MaxPathLen)
	}
	return " (issues certificates and CAs, no depth limit)"
}

// Fingerprint returns the SHA-256 hash of c's DER encoding in colon-separated
// hex, as other tools print it.
func Fingerprint(c *x509.Certificate) string {
	return FormatFingerprint(sha256.Sum256(c.Raw))
}

// FormatFingerprint writes a SHA-256 fingerprint as Fingerprint does.
func FormatFingerprint(sum [sha256.Size]byte) string {
	var b strings.Builder
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// fmtTime formats a certificate time, always in UTC.
func fmtTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// fmtDuration writes a validity in days when it is whole days.
func fmtDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d%day == 0 {
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}
