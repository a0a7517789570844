package cert

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// PEM block types.
const (
	pemCert  = "CERTIFICATE"
	pemKey   = "PRIVATE KEY" // PKCS#8
	pemECKey = "EC PRIVATE KEY"
)

// Save writes p to dir/base.crt (PEM: the certificate, then its chain) and
// dir/base.key (PEM PKCS#8, mode 0600), creating dir (mode 0700) if needed.
// It refuses to overwrite either file: a key is not replaced by accident.
func Save(dir, base string, p *Pair) error {
	if base == "" || base == "." || base == ".." || strings.ContainsRune(base, filepath.Separator) {
		return fmt.Errorf("bad file name %q for a certificate and key", base)
	}
	if p == nil || p.Cert == nil || p.Key == nil {
		return errNoPair
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(p.Key)
	if err != nil {
		return fmt.Errorf("encoding the key of %s: %v", label(p.Cert), err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: pemKey, Bytes: keyDER})
	var certPEM []byte
	for _, c := range append([]*x509.Certificate{p.Cert}, p.Chain...) {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: pemCert, Bytes: c.Raw})...)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	crt, key := filepath.Join(dir, base+".crt"), filepath.Join(dir, base+".key")
	// Check both before writing either, so that a refusal changes nothing.
	for _, f := range []string{crt, key} {
		if _, err := os.Lstat(f); err == nil {
			return fmt.Errorf("%s already exists: remove it or choose another name", f)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := writeNew(key, keyPEM, 0o600); err != nil {
		return err
	}
	if err := writeNew(crt, certPEM, 0o644); err != nil {
		os.Remove(key)
		return err
	}
	return nil
}

// writeNew creates file with data; it fails if file exists, which also
// closes the race with another writer between Save's check and the write.
func writeNew(file string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists: remove it or choose another name", file)
		}
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(file)
		return fmt.Errorf("writing %s: %v", file, err)
	}
	return nil
}

// Load reads a pair that Save wrote: the certificate and its chain from
// certFile, the key from keyFile, which must match the certificate.
func Load(certFile, keyFile string) (*Pair, error) {
	certs, err := LoadCerts(certFile)
	if err != nil {
		return nil, err
	}
	key, err := loadKey(keyFile)
	if err != nil {
		return nil, err
	}
	pub, ok := certs[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return nil, fmt.Errorf("%s: the key does not match %s in %s", keyFile, label(certs[0]), certFile)
	}
	p := &Pair{Cert: certs[0], Key: key}
	if len(certs) > 1 {
		p.Chain = certs[1:]
	}
	return p, nil
}

// LoadCerts reads every certificate of a PEM file, in order. Text around the
// PEM blocks is ignored, as in CA bundles; a block that is not a certificate
// is an error.
func LoadCerts(file string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		n := len(certs) + 1
		if b.Type != pemCert {
			return nil, fmt.Errorf("%s: PEM block %d is %q, not %s%s", file, n, b.Type, pemCert, keyHint(b.Type))
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %v", file, n, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: not PEM: no \"-----BEGIN %s-----\" block", file, pemCert)
	}
	return certs, nil
}

// keyHint suggests that a file holding a key was given for a certificate.
func keyHint(typ string) string {
	if strings.Contains(typ, "PRIVATE KEY") {
		return " (is this the .key file?)"
	}
	return ""
}

// loadKey reads the one private key of a PEM file.
func loadKey(file string) (crypto.Signer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	b, rest := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%s: not PEM: no \"-----BEGIN %s-----\" block", file, pemKey)
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, fmt.Errorf("%s: more than one PEM block: want one %s", file, pemKey)
	}
	var k any
	switch b.Type {
	case pemKey:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case pemECKey:
		k, err = x509.ParseECPrivateKey(b.Bytes)
	case pemCert:
		return nil, fmt.Errorf("%s holds a certificate, not a private key (is this the .crt file?)", file)
	default:
		return nil, fmt.Errorf("%s: PEM block is %q, want %s", file, b.Type, pemKey)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read the %s: %v", file, b.Type, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: %T is not a signing key", file, k)
	}
	if err := checkKey(s); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	return s, nil
}

// Pool reads CA bundles into a pool of roots for Verify. Every certificate
// in them must be a CA: a leaf there is a mistake (a name's .crt given for
// the CA's), best reported when the configuration is read.
func Pool(files ...string) (*x509.CertPool, error) {
	if len(files) == 0 {
		return nil, errors.New("no CA file given")
	}
	pool := x509.NewCertPool()
	for _, f := range files {
		certs, err := LoadCerts(f)
		if err != nil {
			return nil, err
		}
		for _, c := range certs {
			if !c.IsCA {
				return nil, fmt.Errorf("%s: %s is not a CA certificate", f, label(c))
			}
			pool.AddCert(c)
		}
	}
	return pool, nil
}
