package flow_test

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/crypt"
	"o7s.dev/ouroboros/stack/crypt/cert"
	"o7s.dev/ouroboros/stack/crypt/oap"
	"o7s.dev/ouroboros/stack/irm"
	"o7s.dev/ouroboros/stack/irm/irmtest"
	"o7s.dev/ouroboros/stack/qos"
)

// exchange writes one SDU each way and checks it arrives.
func exchange(t *testing.T, c, s interface {
	Write([]byte) (int, error)
	Read([]byte) (int, error)
}) {
	t.Helper()
	buf := make([]byte, 2048)
	for _, ends := range [][2]interface {
		Write([]byte) (int, error)
		Read([]byte) (int, error)
	}{{c, s}, {s, c}} {
		if _, err := ends[0].Write([]byte("across")); err != nil {
			t.Fatal(err)
		}
		n, err := ends[1].Read(buf)
		if err != nil || string(buf[:n]) != "across" {
			t.Fatalf("read %q, %v", buf[:n], err)
		}
	}
}

func TestFlowsAreEncryptedByDefault(t *testing.T) {
	h := irmtest.Start(t, irmtest.Options{})
	c, s := pair(t, h, qos.Data)
	if !c.Encrypted() || !s.Encrypted() {
		t.Fatal("a flow is not encrypted by default")
	}
	if c.MaxSDU() != s.MaxSDU() {
		t.Fatalf("max SDU %d at one end, %d at the other", c.MaxSDU(), s.MaxSDU())
	}
	exchange(t, c, s)
}

func TestCryptPolicies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy irm.CryptPolicy
		sealed bool
	}{
		{"plain", irm.CryptPolicy{Plain: true}, false},
		{"chacha20-poly1305", irm.CryptPolicy{Suites: []crypt.Suite{crypt.ChaCha20Poly1305}}, true},
		{"hybrid post-quantum", irm.CryptPolicy{KEX: oap.X25519MLKEM768}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := irmtest.Start(t, irmtest.Options{})
			h.IRM.SetCryptPolicy("srv", tc.policy)
			c, s := pair(t, h, qos.Best)
			if c.Encrypted() != tc.sealed || s.Encrypted() != tc.sealed {
				t.Fatalf("encrypted: %v and %v, want %v", c.Encrypted(), s.Encrypted(), tc.sealed)
			}
			exchange(t, c, s)
		})
	}
}

// pki makes a CA, a certificate for name and one for a host.
func pki(t *testing.T, name string) (roots *x509.CertPool, server, host, ca *cert.Pair) {
	t.Helper()
	now := time.Now()
	ca, err := cert.NewCA("test CA", cert.Ed25519, 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if server, err = ca.Issue(name, cert.KindName, cert.Ed25519, time.Hour, now); err != nil {
		t.Fatal(err)
	}
	if host, err = ca.Issue("laptop", cert.KindName, cert.Ed25519, time.Hour, now); err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(ca.Cert)
	return roots, server, host, ca
}

func TestCertificates(t *testing.T) {
	roots, srvCert, hostCert, ca := pki(t, "srv")
	otherCert, err := ca.Issue("other", cert.KindName, cert.Ed25519, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("server proves its name", func(t *testing.T) {
		h := irmtest.Start(t, irmtest.Options{})
		h.IRM.SetCryptIdentity(roots, hostCert)
		h.IRM.SetCryptPolicy("srv", irm.CryptPolicy{Cert: srvCert, RequireCert: true})
		c, s := pair(t, h, qos.Best)
		exchange(t, c, s)
	})
	t.Run("server with another name's certificate is refused", func(t *testing.T) {
		h := irmtest.Start(t, irmtest.Options{})
		h.IRM.SetCryptIdentity(roots, nil)
		h.IRM.SetCryptPolicy("srv", irm.CryptPolicy{Cert: otherCert})
		if err := allocOnly(t, h); err == nil || !strings.Contains(err.Error(), `is for name "other"`) {
			t.Fatalf("a server showing a certificate for another name: %v", err)
		}
	})
	t.Run("client without a required certificate is refused", func(t *testing.T) {
		h := irmtest.Start(t, irmtest.Options{})
		h.IRM.SetCryptIdentity(roots, nil)
		h.IRM.SetCryptPolicy("srv", irm.CryptPolicy{Cert: srvCert, RequireCert: true})
		if err := allocOnly(t, h); err == nil {
			t.Fatal("a client without a certificate got a flow that requires one")
		}
	})
}

// allocOnly allocates a flow to "srv", which this process serves, and
// returns the allocation's error.
func allocOnly(t *testing.T, h *irmtest.Host) error {
	t.Helper()
	h.Serve(t, "srv")
	srv, cli := attach(t, h), attach(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	go func() {
		if f, err := srv.Accept(ctx); err == nil {
			f.Close()
		}
	}()
	f, err := cli.Alloc(ctx, "srv", qos.Best)
	if err == nil {
		f.Close()
	}
	return err
}
