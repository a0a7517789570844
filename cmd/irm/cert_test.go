package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/crypt/cert"
	"o7s.dev/ouroboros/stack/ctrl"
)

// certIRM runs an irm cert command with no irmd to reach, so that any
// attempt to contact one fails: these commands must work offline.
func certIRM(t *testing.T, args string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv(ctrl.EnvRunDir, t.TempDir())
	return runIRM(t.Context(), strings.Fields(args)...)
}

// dateRE matches a date as irm cert prints it.
const dateRE = `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC`

func wantOK(t *testing.T, args, stdoutRE string) string {
	t.Helper()
	code, out, errOut := certIRM(t, args)
	if code != exitOK || errOut != "" {
		t.Fatalf("irm %s: exit %d, stderr %q", args, code, errOut)
	}
	if !regexp.MustCompile(stdoutRE).MatchString(out) {
		t.Errorf("irm %s: stdout %q\ndoes not match %q", args, out, stdoutRE)
	}
	return out
}

func wantFail(t *testing.T, args, stderr string) {
	t.Helper()
	code, out, errOut := certIRM(t, args)
	if code != exitError || out != "" {
		t.Errorf("irm %s: exit %d, stdout %q", args, code, out)
	}
	if want := "irm: " + stderr + "\n"; errOut != want {
		t.Errorf("irm %s: stderr %q\nwant   %q", args, errOut, want)
	}
}

// TestCertWorkflow runs the commands as an administrator would: a CA, an
// intermediate, certificates for a name and an IPCP, then show and verify.
func TestCertWorkflow(t *testing.T) {
	d := t.TempDir()
	wantOK(t, "cert ca name ex.ca dir "+d+"/ca",
		`^wrote `+d+`/ca/ex\.ca\.crt and `+d+`/ca/ex\.ca\.key: root CA "ex\.ca", valid until `+dateRE+"\n$")
	wantOK(t, "c i n inter ca "+d+"/ca/ex.ca k ca a p256 da 400 di "+d+"/ca",
		`^wrote .*/ca/inter\.crt and .*/ca/inter\.key: intermediate CA "inter", issued by "ex\.ca", valid until `)
	wantOK(t, "cert issue name oping ca "+d+"/ca/ex.ca dir "+d+"/certs",
		`: name certificate "oping", issued by "ex\.ca", valid until `)
	wantOK(t, "cert issue name net.a ca "+d+"/ca/inter kind ipcp algo p256 days 20 dir "+d+"/certs",
		`: IPCP certificate "net\.a", issued by "inter", valid until `)

	for _, f := range []string{"ca/ex.ca.key", "ca/inter.key", "certs/oping.key", "certs/net.a.key"} {
		fi, err := os.Stat(filepath.Join(d, f))
		if err != nil || fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: %v, mode %v", f, err, fi.Mode())
		}
	}
	p, err := cert.Load(d+"/certs/net.a.crt", d+"/certs/net.a.key")
	if err != nil || len(p.Chain) != 1 || p.Chain[0].Subject.CommonName != "inter" {
		t.Fatalf("net.a: %v, chain %v", err, p.Chain)
	}
	if got := p.Cert.NotAfter.Sub(p.Cert.NotBefore); got < 20*day || got > 20*day+time.Hour {
		t.Errorf("net.a is valid for %v, want 20 days", got)
	}

	out := wantOK(t, "cert show file "+d+"/certs/net.a.crt", `(?s)^`+d+`/certs/net\.a\.crt: certificate 1 of 2
subject: +CN=net\.a
kind: +IPCP certificate for "net\.a"
.*algorithm: +ECDSA P-256 key.*
`+d+`/certs/net\.a\.crt: certificate 2 of 2
subject: +CN=inter
kind: +intermediate CA "inter"`)
	if strings.Count(out, "fingerprint: SHA-256 ") != 2 {
		t.Errorf("show:\n%s", out)
	}
	wantOK(t, "c s f "+d+"/certs/oping.crt", `^subject: +CN=oping\n`)

	ca := d + "/ca/ex.ca.crt"
	wantOK(t, "cert verify file "+d+"/certs/oping.crt ca "+ca+" kind name name oping",
		`^`+d+`/certs/oping\.crt: valid for name oping until `+dateRE+"\n$")
	wantOK(t, "cert verify file "+d+"/certs/oping.crt ca "+ca, `: valid for name oping until `)
	wantOK(t, "c v f "+d+"/certs/net.a.crt ca "+ca+" k ipcp n net.a",
		`: valid for IPCP net\.a until `+dateRE+` \(in \d+ days: renew it\)\n$`)
	wantOK(t, "cert verify file "+d+"/ca/inter.crt ca "+ca+" kind ca", `: valid as CA inter until `)

	wantFail(t, "cert verify file "+d+"/certs/oping.crt ca "+ca+" name web",
		d+`/certs/oping.crt: certificate "oping" is for name "oping", not "web"`)
	wantFail(t, "cert verify file "+d+"/certs/oping.crt ca "+ca+" kind ipcp",
		d+`/certs/oping.crt: certificate "oping" is a name certificate, not an IPCP certificate`)
	wantFail(t, "cert verify file "+d+"/certs/net.a.crt ca "+ca+" kind name",
		d+`/certs/net.a.crt: certificate "net.a" is an IPCP certificate, not a name certificate`)
	// The intermediate alone is not a root.
	wantFail(t, "cert verify file "+d+"/certs/oping.crt ca "+d+"/ca/inter.crt",
		d+`/certs/oping.crt: certificate "oping" is signed by an unknown CA "ex.ca"`)
	// Several bundles: one of them is enough.
	wantOK(t, "cert verify file "+d+"/certs/oping.crt ca "+d+"/ca/inter.crt ca "+ca, `valid for name oping`)
}

// TestCertFileErrors: what goes wrong with files is reported with the file.
func TestCertFileErrors(t *testing.T) {
	d := t.TempDir()
	wantOK(t, "cert ca name ca dir "+d, "^wrote ")
	wantOK(t, "cert issue name srv ca "+d+"/ca dir "+d, "^wrote ")
	other := t.TempDir()
	wantOK(t, "cert ca name ca dir "+other, "^wrote ")

	wantFail(t, "cert ca name ca dir "+d, d+"/ca.crt already exists: remove it or choose another name")
	wantFail(t, "cert issue name srv ca "+d+"/ca dir "+d, d+"/srv.crt already exists: remove it or choose another name")
	wantFail(t, "cert issue name x ca "+d+"/nope dir "+d, "open "+d+"/nope.crt: no such file or directory")
	wantFail(t, "cert issue name x ca "+d+"/srv dir "+d, d+`/srv.crt: certificate "srv" is not a CA: it cannot issue certificates`)
	wantFail(t, "cert issue name srv2 ca "+d+"/srv kind ca dir "+d, d+`/srv.crt: certificate "srv" is not a CA: it cannot issue certificates`)
	wantFail(t, "cert show file "+d+"/srv.key", d+`/srv.key: PEM block 1 is "PRIVATE KEY", not CERTIFICATE (is this the .key file?)`)
	wantFail(t, "cert show file "+d+"/none.crt", "open "+d+"/none.crt: no such file or directory")
	wantFail(t, "cert verify file "+d+"/srv.crt ca "+d+"/srv.crt", d+`/srv.crt: certificate "srv" is not a CA certificate`)
	wantFail(t, "cert verify file "+d+"/srv.crt ca "+other+"/ca.crt",
		d+`/srv.crt: certificate "srv" is not accepted by the configured CA "ca": x509: Ed25519 verification failure`)

	// A key that belongs to another certificate.
	if err := os.Rename(other+"/ca.key", d+"/mixed.key"); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(d+"/ca.crt", d+"/mixed.crt"); err != nil {
		t.Fatal(err)
	}
	wantFail(t, "cert issue name y ca "+d+"/mixed dir "+d, d+`/mixed.key: the key does not match certificate "ca" in `+d+"/mixed.crt")
}

// TestCertValidity: issued certificates stay within their CA, and verify
// tells an expired certificate by its date.
func TestCertValidity(t *testing.T) {
	d := t.TempDir()
	now := time.Now()
	// A CA made 200 days ago for 300 days has about 100 left.
	ca, err := cert.NewCA("old.ca", cert.Ed25519, 300*day, now.Add(-200*day))
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.Save(d, "old.ca", ca); err != nil {
		t.Fatal(err)
	}
	expires := fmtDate(ca.Cert.NotAfter)
	wantFail(t, "cert issue name srv ca "+d+"/old.ca dir "+d,
		`days 365 (the default) is too long: the CA "old.ca" expires on `+expires+", in 99 days: give days 99 or fewer")
	wantFail(t, "cert issue name srv ca "+d+"/old.ca dir "+d+" days 100",
		`days 100 is too long: the CA "old.ca" expires on `+expires+", in 99 days: give days 99 or fewer")
	wantOK(t, "cert issue name srv ca "+d+"/old.ca dir "+d+" days 99", "^wrote ")

	// A certificate that expired yesterday.
	old, err := ca.Issue("gone", cert.KindName, cert.P256, 100*day, now.Add(-101*day))
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.Save(d, "gone", old); err != nil {
		t.Fatal(err)
	}
	wantFail(t, "cert verify file "+d+"/gone.crt ca "+d+"/old.ca.crt",
		d+`/gone.crt: certificate "gone" expired on `+fmtDate(old.Cert.NotAfter))
	// A CA past its end issues nothing.
	dead, err := cert.NewCA("dead.ca", cert.Ed25519, day, now.Add(-2*day))
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.Save(d, "dead.ca", dead); err != nil {
		t.Fatal(err)
	}
	wantFail(t, "cert issue name x ca "+d+"/dead.ca dir "+d+" days 1",
		d+`/dead.ca.crt: CA "dead.ca" expired on `+fmtDate(dead.Cert.NotAfter))
}

// TestCertUsage: mistakes on the command line are usage errors that name
// the keyword, and nothing is written.
func TestCertUsage(t *testing.T) {
	d := t.TempDir()
	cases := []struct{ args, want string }{
		{"cert ca dir " + d, "missing name N"},
		{"cert ca name x", "missing dir D"},
		{"cert ca name x dir " + d + " algo rsa", `bad algo "rsa": want one of ed25519, p256`},
		{"cert ca name x dir " + d + " days 0", `bad days "0": want a number from 1 to 36500`},
		{"cert ca name x dir " + d + " days 36501", `bad days "36501"`},
		{"cert ca name x dir " + d + " days 1y", `bad days "1y"`},
		{"cert ca name x dir " + d + " kind ca", `unknown keyword "kind": want one of name, dir, algo, days`},
		{"cert ca name a/b dir " + d, `bad name "a/b": it names the files N.crt and N.key, so it cannot contain "/"`},
		{"cert ca name .. dir " + d, `bad name ".."`},
		{"cert issue name x dir " + d, "missing ca CA"},
		{"cert issue name x ca c d " + d, `ambiguous keyword "d": could be dir, days`},
		{"cert issue name x ca c dir " + d + " kind user", `bad kind "user": want one of name, ipcp, ca`},
		{"cert issue name x ca c dir " + d + " kind", "missing value after kind"},
		{"cert issue name x ca  dir " + d, "empty value for ca"},
		{"cert show", "missing file F"},
		{"cert show file", "missing value after file"},
		{"cert show file a file b", "file is given more than once"},
		{"cert verify file f", "missing ca CAFILE"},
		{"cert verify ca c", "missing file F"},
		{"cert verify file f ca c kind leaf", `bad kind "leaf"`},
		{"cert verify file f ca c ca  name n", "empty value for ca"},
		{"cert verify file f ca c name ", "empty value for name"},
		{"cert frob", `unknown command "frob": want one of ca, issue, show, verify`},
	}
	for _, c := range cases {
		t.Run(c.args, func(t *testing.T) {
			t.Setenv(ctrl.EnvRunDir, t.TempDir())
			code, out, errOut := runIRM(t.Context(), strings.Split(c.args, " ")...)
			if code != exitUsage || out != "" {
				t.Errorf("exit %d, stdout %q", code, out)
			}
			if !strings.HasPrefix(errOut, "irm: "+c.want) || !strings.Contains(errOut, "\nusage: irm cert ") {
				t.Errorf("stderr %q\nwant %q and the usage", errOut, c.want)
			}
		})
	}
	if entries, _ := os.ReadDir(d); len(entries) != 0 {
		t.Errorf("a refused command wrote %d files", len(entries))
	}
	// A bare "irm cert" shows the group's help as its usage.
	code, _, errOut := certIRM(t, "cert")
	if code != exitUsage || !strings.Contains(errOut, "Commands:\n  irm cert ca name N dir D") {
		t.Errorf("irm cert: exit %d\n%s", code, errOut)
	}
}

// TestCertHelp: the group's help lists its commands, and the root's too.
func TestCertHelp(t *testing.T) {
	for _, args := range []string{"help cert", "cert --help", "help c v"} {
		code, out, _ := certIRM(t, args)
		if code != exitOK || !strings.HasPrefix(out, "usage: irm cert") {
			t.Errorf("irm %s: exit %d\n%s", args, code, out)
		}
	}
	_, out, _ := certIRM(t, "help")
	for _, want := range []string{"irm cert ca name N", "irm cert issue name N", "irm cert show file F", "irm cert verify file F"} {
		if !strings.Contains(out, "  "+want) {
			t.Errorf("root help lacks %q", want)
		}
	}
}
