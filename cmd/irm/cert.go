package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"time"

	"o7s.dev/ouroboros/stack/crypt/cert"
)

// Defaults and bounds of "irm cert".
const (
	caDays      = 3650  // a CA's validity, by default
	leafDays    = 365   // an issued certificate's, by default
	maxDays     = 36500 // a hundred years: beyond is a typing mistake
	expiryNotes = 30    // verify mentions an expiry this many days ahead
)

var (
	certAlgos = []string{string(cert.Ed25519), string(cert.P256)}
	certKinds = []string{string(cert.KindName), string(cert.KindIPCP), string(cert.KindCA)}
)

func certNode() *node {
	return &node{
		name:    "cert",
		usage:   []string{"irm cert COMMAND [ARGS]..."},
		summary: "Create CAs; issue, show and verify certificates (offline).",
		text: `Certificates authenticate names (a server, or a client that must show one)
and IPCPs (members of an authenticated layer). A name certificate cannot be
used as an IPCP certificate, nor the other way round. These commands work
on files only: irmd need not run. Keys are Ed25519 unless algo p256 asks
for ECDSA P-256; a key file is written with mode 0600 and never
overwritten. Point irmd.conf at the CA's .crt file and at each name's or
IPCP's .crt and .key; "irm ipcp bootstrap" and "irm ipcp enroll" take an
IPCP's as ca, cert and key.`,
		example: []string{
			"irm cert ca name example.ca dir /etc/ouroboros/ca",
			"irm cert issue name oping ca /etc/ouroboros/ca/example.ca dir /etc/ouroboros/certs",
		},
		subs: []*node{
			{
				name:    "ca",
				usage:   []string{"irm cert ca name N dir D [algo ed25519|p256] [days DAYS]"},
				summary: "Create a root CA: a self-signed certificate and its key.",
				text: `Creates a root CA named N with a new key, as D/N.crt and D/N.key. D is
created if needed (mode 0700). The CA is valid for DAYS days (default
3650) and may issue certificates and one level of intermediate CAs. Keep
N.key offline if you can: whoever holds it admits anyone.`,
				example: []string{"irm cert ca name example.ca dir /etc/ouroboros/ca days 7300"},
				parse:   parseCertCA,
			},
			{
				name: "issue",
				usage: []string{
					"irm cert issue name N ca CA dir D [kind name|ipcp|ca] [algo ed25519|p256] [days DAYS]",
				},
				summary: "Issue a certificate for a name, an IPCP or an intermediate CA.",
				text: `Issues a certificate for N with a new key, as D/N.crt and D/N.key. CA is
the issuing pair without its extension: CA.crt and CA.key, as "irm cert
ca" or "irm cert issue kind ca" wrote them. kind is what the certificate
is for: name (the default) for an application name, ipcp for an IPCP of
an authenticated layer (N is the IPCP's name), ca for an intermediate CA
(which issues names and IPCPs only). It is valid for DAYS days (default
365), at most as long as CA. D/N.crt holds the certificate followed by
the intermediate CAs above it, which peers need to verify it.`,
				example: []string{
					"irm cert issue name oping ca /etc/ouroboros/ca/example.ca dir /etc/ouroboros/certs",
					"irm cert issue name net.a ca ca/example.ca kind ipcp algo p256 days 90 dir certs",
				},
				parse: parseCertIssue,
			},
			{
				name:    "show",
				usage:   []string{"irm cert show file F"},
				summary: "Describe the certificates in a file.",
				text: `Shows each certificate in F: its subject, what it is for (kind and name),
issuer, algorithm, validity, serial number and SHA-256 fingerprint.`,
				example: []string{"irm cert show file /etc/ouroboros/certs/oping.crt"},
				parse:   parseCertShow,
			},
			{
				name:    "verify",
				usage:   []string{"irm cert verify file F ca CAFILE [kind name|ipcp|ca] [name N]"},
				summary: "Check a certificate against CAs, as a peer would.",
				text: `Checks the certificate in F (followed by its intermediate CAs, as "irm
cert issue" writes it) as a peer would: each certificate within its
validity, each signed by the next and the last by a CA in CAFILE, and,
when given, that it is of kind for name N. Repeat "ca CAFILE" to trust
several bundles. Prints "F: valid for name N until DATE", or says why it
is refused and exits with status 1.`,
				example: []string{
					"irm cert verify file /etc/ouroboros/certs/oping.crt ca /etc/ouroboros/ca/example.ca.crt name oping",
				},
				parse: parseCertVerify,
			},
		},
	}
}

func parseCertCA(args []string) (*command, error) {
	m, err := scanArgs(args, grammar{values: []string{"name", "dir", "algo", "days"}})
	if err != nil {
		return nil, err
	}
	name, dir, err := nameAndDir(m)
	if err != nil {
		return nil, err
	}
	algo, err := certAlgo(m)
	if err != nil {
		return nil, err
	}
	days, err := certDays(m, caDays)
	if err != nil {
		return nil, err
	}
	return &command{local: func(w io.Writer) error {
		return certCA(w, name, dir, algo, days, time.Now())
	}}, nil
}

func parseCertIssue(args []string) (*command, error) {
	m, err := scanArgs(args, grammar{values: []string{"name", "ca", "dir", "kind", "algo", "days"}})
	if err != nil {
		return nil, err
	}
	name, dir, err := nameAndDir(m)
	if err != nil {
		return nil, err
	}
	ca, err := m.need("ca", "CA")
	if err != nil {
		return nil, err
	}
	kind := cert.KindName
	if m.has("kind") {
		if err := oneOf("kind", m.get("kind"), certKinds); err != nil {
			return nil, err
		}
		kind = cert.Kind(m.get("kind"))
	}
	algo, err := certAlgo(m)
	if err != nil {
		return nil, err
	}
	days, err := certDays(m, leafDays)
	if err != nil {
		return nil, err
	}
	return &command{local: func(w io.Writer) error {
		return certIssue(w, issueArgs{name, kind, algo, days, m.has("days"), ca, dir}, time.Now())
	}}, nil
}

func parseCertShow(args []string) (*command, error) {
	m, err := scanArgs(args, grammar{values: []string{"file"}})
	if err != nil {
		return nil, err
	}
	file, err := m.need("file", "F")
	if err != nil {
		return nil, err
	}
	return &command{local: func(w io.Writer) error { return certShow(w, file) }}, nil
}

func parseCertVerify(args []string) (*command, error) {
	g := grammar{values: []string{"file", "ca", "kind", "name"}, repeat: []string{"ca"}}
	m, err := scanArgs(args, g)
	if err != nil {
		return nil, err
	}
	file, err := m.need("file", "F")
	if err != nil {
		return nil, err
	}
	if _, err := m.need("ca", "CAFILE"); err != nil {
		return nil, err
	}
	for _, f := range m["ca"] {
		if f == "" {
			return nil, errors.New("empty value for ca")
		}
	}
	var kind cert.Kind
	if m.has("kind") {
		if err := oneOf("kind", m.get("kind"), certKinds); err != nil {
			return nil, err
		}
		kind = cert.Kind(m.get("kind"))
	}
	if m.has("name") && m.get("name") == "" {
		return nil, errors.New("empty value for name")
	}
	cas, name := m["ca"], m.get("name")
	return &command{local: func(w io.Writer) error {
		return certVerify(w, file, cas, kind, name, time.Now())
	}}, nil
}

// nameAndDir reads the name N and directory D that ca and issue share.
func nameAndDir(m argMap) (name, dir string, err error) {
	if name, err = m.need("name", "N"); err != nil {
		return "", "", err
	}
	if dir, err = m.need("dir", "D"); err != nil {
		return "", "", err
	}
	// N names the files N.crt and N.key: refuse now what Save would refuse.
	switch {
	case name == "." || name == "..":
		return "", "", fmt.Errorf("bad name %q: it names the files N.crt and N.key", name)
	case filepath.Base(name) != name:
		return "", "", fmt.Errorf("bad name %q: it names the files N.crt and N.key, so it cannot contain %q",
			name, string(filepath.Separator))
	}
	return name, dir, nil
}

// certAlgo reads the algo keyword, Ed25519 by default.
func certAlgo(m argMap) (cert.Algo, error) {
	if !m.has("algo") {
		return cert.Ed25519, nil
	}
	if err := oneOf("algo", m.get("algo"), certAlgos); err != nil {
		return "", err
	}
	return cert.Algo(m.get("algo")), nil
}

// certDays reads the days keyword, def by default.
func certDays(m argMap, def int) (int, error) {
	if !m.has("days") {
		return def, nil
	}
	v := m.get("days")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxDays {
		return 0, fmt.Errorf("bad days %q: want a number from 1 to %d", v, maxDays)
	}
	return n, nil
}
