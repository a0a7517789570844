package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/crypt/cert"
)

// testCA makes a CA and writes its certificate into dir as ca.crt.
func testCA(t *testing.T, dir string) *cert.Pair {
	t.Helper()
	// The CA outlives what issue signs for an hour from a later now: a
	// certificate may not outlive its CA, and the two nows can lie on
	// either side of a second boundary (certificates keep whole seconds).
	ca, err := cert.NewCA("test CA", cert.Ed25519, 2*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.Save(dir, "ca", ca); err != nil {
		t.Fatal(err)
	}
	return ca
}

// issue writes a certificate of kind for name, signed by ca, into dir as
// BASE.crt and BASE.key.
func issue(t *testing.T, dir string, ca *cert.Pair, base string, kind cert.Kind, name string) {
	t.Helper()
	p, err := ca.Issue(name, kind, cert.Ed25519, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.Save(dir, base, p); err != nil {
		t.Fatal(err)
	}
}

// fixture writes a CA, an IPCP certificate for ipcp and a name certificate
// for name into a new directory, and returns it with the path of an
// executable file (the test binary).
func fixture(t *testing.T, ipcp, name string) (dir, exe string) {
	t.Helper()
	dir = t.TempDir()
	ca := testCA(t, dir)
	issue(t, dir, ca, ipcp, cert.KindIPCP, ipcp)
	issue(t, dir, ca, name, cert.KindName, name)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return dir, exe
}

// TestVerifyWhatStartNeeds: --check finds what only start used to: files
// that do not load, certificates for another name, programs that are not
// there, interfaces and addresses this host does not have. Each problem
// names its table and key, as config.Load's do.
func TestVerifyWhatStartNeeds(t *testing.T) {
	dir, exe := fixture(t, "ucx", "other")
	cfg := mustParse(t, `
[irmd]
cert = "`+dir+`/missing.crt"
key = "`+dir+`/missing.key"

[eth-dix.e]
bootstrap = "lan"
dev = "nosuchdev9"

[udp4.u]
bootstrap = "wan"
ip = "192.0.2.77"

[unicast.uc]
bootstrap = "net"
ca = "`+dir+`/ca.crt"
cert = "`+dir+`/ucx.crt"
key = "`+dir+`/ucx.key"

[name.srv]
prog = ["`+exe+`", "/nonexistent/srv"]
cert = "`+dir+`/other.crt"
key = "`+dir+`/other.key"
`)
	err := verify(cfg)
	if err == nil {
		t.Fatal("verify passed a file that cannot start")
	}
	got := err.Error()
	for _, want := range []string{
		"test.conf: [irmd]: cert: ",
		`test.conf: [eth-dix.e] dev: no network interface "nosuchdev9" on this host`,
		"test.conf: [udp4.u] ip: 192.0.2.77 is not an address of this host",
		"test.conf: [unicast.uc]: IPCP uc: " + dir + "/ucx.crt: ",
		`test.conf: [name.srv]: cert: ` + dir + `/other.crt is not a name certificate for "srv"`,
		"test.conf: [name.srv] prog[1]: program /nonexistent/srv does not exist",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("verify lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n") + 1; n != 6 {
		t.Errorf("%d problems, want 6:\n%s", n, got)
	}
	if strings.Contains(got, "prog[0]") {
		t.Errorf("the test binary, an executable, was refused:\n%s", got)
	}
}

// TestVerifyPassesWhatStarts: a file whose files, programs and addresses
// are all there passes.
func TestVerifyPassesWhatStarts(t *testing.T) {
	dir, exe := fixture(t, "uc", "srv")
	cfg := mustParse(t, `
[udp4.u]
bootstrap = "wan"
ip = "127.0.0.1"

[unicast.uc]
bootstrap = "net"
ca = "`+dir+`/ca.crt"
cert = "`+dir+`/uc.crt"
key = "`+dir+`/uc.key"

[name.srv]
prog = ["`+exe+`"]
cert = "`+dir+`/srv.crt"
key = "`+dir+`/srv.key"
`)
	if err := verify(cfg); err != nil {
		t.Fatal(err)
	}
	if got := checkSummary(cfg); got != cfg.File+": ok (2 IPCPs, 1 name)" {
		t.Errorf("summary %q", got)
	}
}

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 names", 1: "1 name", 2: "2 names"} {
		if got := plural(n, "name", "names"); got != want {
			t.Errorf("plural(%d) = %q, want %q", n, got, want)
		}
	}
}
