package main

import (
	"crypto/x509"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"o7s.dev/ouroboros/stack/crypt/cert"
)

// This file runs the "irm cert" commands. They work on files only, so they
// run in irm itself; now is passed in so that tests can choose it.

const day = 24 * time.Hour

// certCA creates a root CA in dir.
func certCA(w io.Writer, name, dir string, algo cert.Algo, days int, now time.Time) error {
	ca, err := cert.NewCA(name, algo, time.Duration(days)*day, now)
	if err != nil {
		return err
	}
	if err := cert.Save(dir, name, ca); err != nil {
		return err
	}
	return wrote(w, dir, name, fmt.Sprintf("root CA %q", name), ca.Cert)
}

// issueArgs are the arguments of "irm cert issue".
type issueArgs struct {
	name    string
	kind    cert.Kind
	algo    cert.Algo
	days    int
	daysSet bool   // days was given, not the default
	ca, dir string // the issuing pair's base path; where the new pair goes
}

// certIssue issues a certificate with the CA at a.ca into a.dir.
func certIssue(w io.Writer, a issueArgs, now time.Time) error {
	ca, err := cert.Load(a.ca+".crt", a.ca+".key")
	if err != nil {
		return err
	}
	if err := fitsCA(ca.Cert, a, now); err != nil {
		return err
	}
	p, err := ca.Issue(a.name, a.kind, a.algo, time.Duration(a.days)*day, now)
	if err != nil {
		return fmt.Errorf("%s: %v", a.ca+".crt", err)
	}
	if err := cert.Save(a.dir, a.name, p); err != nil {
		return err
	}
	what := fmt.Sprintf("intermediate CA %q", a.name)
	if a.kind != cert.KindCA {
		what = fmt.Sprintf("%s certificate %q", kindWord(a.kind), a.name)
	}
	return wrote(w, a.dir, a.name, fmt.Sprintf("%s, issued by %q", what, ca.Cert.Subject.CommonName), p.Cert)
}

// fitsCA says, in the terms of the command line, why the validity asked
// for does not fit in the CA's: days, or the default, must be lowered.
func fitsCA(ca *x509.Certificate, a issueArgs, now time.Time) error {
	left := int(ca.NotAfter.Sub(now) / day)
	if a.days <= left || !ca.IsCA || !now.Before(ca.NotAfter) {
		return nil // not a CA, or expired: for Issue to report
	}
	dflt := ""
	if !a.daysSet {
		dflt = " (the default)"
	}
	return fmt.Errorf("days %d%s is too long: the CA %q expires on %s, in %d days: give days %d or fewer",
		a.days, dflt, ca.Subject.CommonName, fmtDate(ca.NotAfter), left, left)
}

// wrote reports the files a pair was saved to.
func wrote(w io.Writer, dir, name, what string, c *x509.Certificate) error {
	_, err := fmt.Fprintf(w, "wrote %s and %s: %s, valid until %s\n",
		filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key"), what, fmtDate(c.NotAfter))
	return err
}

// certShow describes every certificate in file.
func certShow(w io.Writer, file string) error {
	certs, err := cert.LoadCerts(file)
	if err != nil {
		return err
	}
	for i, c := range certs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if len(certs) > 1 {
			fmt.Fprintf(w, "%s: certificate %d of %d\n", file, i+1, len(certs))
		}
		if _, err := io.WriteString(w, cert.Describe(c)); err != nil {
			return err
		}
	}
	return nil
}

// certVerify checks the chain in file against the CAs in cas.
func certVerify(w io.Writer, file string, cas []string, kind cert.Kind, name string, now time.Time) error {
	chain, err := cert.LoadCerts(file)
	if err != nil {
		return err
	}
	roots, err := cert.Pool(cas...)
	if err != nil {
		return err
	}
	if err := cert.Verify(chain, roots, kind, name, now); err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	k, n, _ := cert.Identity(chain[0]) // Verify has checked it
	// The chain is as good as its first certificate to expire.
	until := chain[0]
	for _, c := range chain[1:] {
		if c.NotAfter.Before(until.NotAfter) {
			until = c
		}
	}
	note := ""
	if soon, left := cert.ExpiresSoon(until, now, expiryNotes*day); soon {
		note = fmt.Sprintf(" (in %d days: renew it)", int(left/day))
	}
	_, err = fmt.Fprintf(w, "%s: valid %s %s until %s%s\n", file, validFor(k), n, fmtDate(until.NotAfter), note)
	return err
}

// validFor says what a certificate of kind k is valid for.
func validFor(k cert.Kind) string {
	if k == cert.KindCA {
		return "as CA"
	}
	return "for " + kindWord(k)
}

// kindWord names a kind of certificate in output.
func kindWord(k cert.Kind) string {
	if k == cert.KindIPCP {
		return "IPCP"
	}
	return string(k)
}

// fmtDate formats a certificate time as the cert package does.
func fmtDate(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
