package cert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSaveLoad(t *testing.T) {
	for _, algo := range algos {
		t.Run(string(algo), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "new", "dir")
			root := mustCA(t, "root", algo)
			inter := mustIssue(t, root, "inter", KindCA, algo, year)
			leaf := mustIssue(t, inter, "srv", KindName, algo, day)
			if err := Save(dir, "srv", leaf); err != nil {
				t.Fatal(err)
			}
			got, err := Load(filepath.Join(dir, "srv.crt"), filepath.Join(dir, "srv.key"))
			if err != nil {
				t.Fatal(err)
			}
			if !got.Cert.Equal(leaf.Cert) || len(got.Chain) != 1 || !got.Chain[0].Equal(inter.Cert) {
				t.Errorf("loaded %q with chain of %d", got.Cert.Subject.CommonName, len(got.Chain))
			}
			if !got.Key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(leaf.Key.Public()) {
				t.Error("loaded key differs")
			}
			// The loaded key signs: the pair can issue after a round trip.
			if err := Save(dir, "root", root); err != nil {
				t.Fatal(err)
			}
			ca, err := Load(filepath.Join(dir, "root.crt"), filepath.Join(dir, "root.key"))
			if err != nil || ca.Chain != nil {
				t.Fatalf("root: %v, chain %d", err, len(ca.Chain))
			}
			if _, err := ca.Issue("x", KindIPCP, algo, day, t0); err != nil {
				t.Error(err)
			}
			checkMode(t, filepath.Join(dir, "srv.key"), 0o600)
			checkMode(t, filepath.Join(dir, "srv.crt"), 0o644)
			checkMode(t, dir, fs.ModeDir|0o700)
		})
	}
}

func checkMode(t *testing.T, file string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	// The umask may take bits away, never add them.
	if fi.Mode()&^want != 0 || fi.Mode()&fs.ModeType != want&fs.ModeType {
		t.Errorf("%s: mode %v, want at most %v", file, fi.Mode(), want)
	}
}

func TestSaveRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	root := mustCA(t, "root", Ed25519)
	if err := Save(dir, "root", root); err != nil {
		t.Fatal(err)
	}
	other := mustCA(t, "root", Ed25519)
	for _, remove := range []string{"", "root.crt", "root.key"} {
		if remove != "" {
			// One of the two left: still no write, and the other file stays.
			os.Remove(filepath.Join(dir, remove))
		}
		err := Save(dir, "root", other)
		if err == nil || !strings.Contains(err.Error(), "already exists: remove it or choose another name") {
			t.Fatalf("after removing %q: Save over an existing pair: %v", remove, err)
		}
		if remove != "" {
			if _, err := os.Stat(filepath.Join(dir, remove)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Save refused yet wrote %s", remove)
			}
			break
		}
		got, err := Load(filepath.Join(dir, "root.crt"), filepath.Join(dir, "root.key"))
		if err != nil || !got.Cert.Equal(root.Cert) {
			t.Fatalf("the first pair changed: %v", err)
		}
	}
	for _, base := range []string{"", ".", "..", "a/b"} {
		if err := Save(dir, base, root); err == nil || !strings.Contains(err.Error(), "bad file name") {
			t.Errorf("Save(%q) = %v", base, err)
		}
	}
	if err := Save(dir, "x", &Pair{Cert: root.Cert}); err == nil {
		t.Error("Save of a pair without a key succeeded")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	root := mustCA(t, "root", Ed25519)
	srv := mustIssue(t, root, "srv", KindName, P256, day)
	for _, p := range []struct {
		base string
		pair *Pair
	}{{"root", root}, {"srv", srv}} {
		if err := Save(dir, p.base, p.pair); err != nil {
			t.Fatal(err)
		}
	}
	f := func(name string) string { return filepath.Join(dir, name) }
	write := func(name, data string) string {
		if err := os.WriteFile(f(name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return f(name)
	}
	keyPEM, _ := os.ReadFile(f("srv.key"))
	crtPEM, _ := os.ReadFile(f("srv.crt"))
	rsaKey := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte{1}}))
	cases := []struct {
		crt, key string
		want     string
	}{
		{f("srv.crt"), f("root.key"), f("root.key") + `: the key does not match certificate "srv" in ` + f("srv.crt")},
		{f("srv.key"), f("srv.key"), f("srv.key") + `: PEM block 1 is "PRIVATE KEY", not CERTIFICATE (is this the .key file?)`},
		{f("srv.crt"), f("srv.crt"), f("srv.crt") + " holds a certificate, not a private key (is this the .crt file?)"},
		{write("text.crt", "hello\n"), f("srv.key"), f("text.crt") + `: not PEM: no "-----BEGIN CERTIFICATE-----" block`},
		{f("srv.crt"), write("text.key", "hello\n"), f("text.key") + `: not PEM: no "-----BEGIN PRIVATE KEY-----" block`},
		{f("srv.crt"), write("rsa.key", rsaKey), f("rsa.key") + `: PEM block is "RSA PRIVATE KEY", want PRIVATE KEY`},
		{f("srv.crt"), write("two.key", string(keyPEM)+string(keyPEM)), f("two.key") + ": more than one PEM block"},
		{f("srv.crt"), write("bad.key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2}}))),
			f("bad.key") + ": cannot read the PRIVATE KEY: "},
		{write("bad.crt", string(crtPEM)+string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}))),
			f("srv.key"), f("bad.crt") + ": certificate 2: x509:"},
		{f("none.crt"), f("srv.key"), "open " + f("none.crt") + ": no such file"},
		{f("srv.crt"), f("none.key"), "open " + f("none.key") + ": no such file"},
	}
	for _, c := range cases {
		_, err := Load(c.crt, c.key)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Load(%s, %s) = %v\nwant %q", filepath.Base(c.crt), filepath.Base(c.key), err, c.want)
		}
	}
}

func TestPool(t *testing.T) {
	dir := t.TempDir()
	a, b := mustCA(t, "a", Ed25519), mustCA(t, "b", P256)
	srv := mustIssue(t, b, "srv", KindName, Ed25519, day)
	for _, p := range []*Pair{a, b, srv} {
		if err := Save(dir, p.Cert.Subject.CommonName, p); err != nil {
			t.Fatal(err)
		}
	}
	// Two bundles, one of them with text around its block, as bundles have.
	bundle := filepath.Join(dir, "bundle.pem")
	aPEM, _ := os.ReadFile(filepath.Join(dir, "a.crt"))
	if err := os.WriteFile(bundle, append([]byte("# CA a\n"), append(aPEM, "# end\n"...)...), 0o644); err != nil {
		t.Fatal(err)
	}
	pool, err := Pool(bundle, filepath.Join(dir, "b.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(chainOf(srv), pool, KindName, "srv", t0); err != nil {
		t.Errorf("verify against the pool: %v", err)
	}
	leafFile := filepath.Join(dir, "srv.crt")
	if _, err := Pool(bundle, leafFile); err == nil || err.Error() != leafFile+`: certificate "srv" is not a CA certificate` {
		t.Errorf("Pool with a leaf: %v", err)
	}
	if _, err := Pool(); err == nil {
		t.Error("Pool() with no file succeeded")
	}
}

// TestLoadKeyForms: a P-256 key in SEC 1 form loads too; a key of an
// algorithm this package does not issue is refused by name.
func TestLoadKeyForms(t *testing.T) {
	dir := t.TempDir()
	srv := mustIssue(t, mustCA(t, "root", Ed25519), "srv", KindName, P256, day)
	if err := Save(dir, "srv", srv); err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(srv.Key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	ecFile := filepath.Join(dir, "ec.key")
	os.WriteFile(ecFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), 0o600)
	if _, err := Load(filepath.Join(dir, "srv.crt"), ecFile); err != nil {
		t.Errorf("SEC 1 key: %v", err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(p384)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "p384.key")
	os.WriteFile(bad, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	if _, err := Load(filepath.Join(dir, "srv.crt"), bad); err == nil ||
		err.Error() != bad+": ECDSA key on curve P-384: want ed25519 or p256" {
		t.Errorf("P-384 key: %v", err)
	}
}
