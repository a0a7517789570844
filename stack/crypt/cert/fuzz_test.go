package cert

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// splitChain cuts fuzz input into certificates, each prefixed by its length
// in two bytes, so that one input can carry a chain.
func splitChain(data []byte) [][]byte {
	var out [][]byte
	for len(data) >= 2 {
		n := int(binary.BigEndian.Uint16(data))
		data = data[2:]
		n = min(n, len(data))
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

// joinChain is the inverse of splitChain, for seeds.
func joinChain(der [][]byte) []byte {
	var out []byte
	for _, d := range der {
		out = binary.BigEndian.AppendUint16(out, uint16(len(d)))
		out = append(out, d...)
	}
	return out
}

// FuzzParseChain feeds arbitrary bytes to ParseChain. It must never panic,
// and what it accepts must be exactly what it was given, fit to describe
// and to verify.
func FuzzParseChain(f *testing.F) {
	root := mustCA(f, "root", Ed25519)
	inter := mustIssue(f, root, "inter", KindCA, P256, year)
	leaf := mustIssue(f, inter, "srv", KindName, Ed25519, day)
	ipcp := mustIssue(f, root, "net.a", KindIPCP, P256, day)
	f.Add(joinChain(leaf.ChainDER()))
	f.Add(joinChain(ipcp.ChainDER()))
	f.Add(joinChain([][]byte{root.Cert.Raw}))
	f.Add(joinChain([][]byte{leaf.Cert.Raw[:100]}))
	f.Add([]byte{})
	roots := poolOf(root.Cert)
	f.Fuzz(func(t *testing.T, data []byte) {
		der := splitChain(data)
		chain, err := ParseChain(der)
		if err != nil {
			return
		}
		if len(chain) != len(der) {
			t.Fatalf("%d certificates from %d", len(chain), len(der))
		}
		for i, c := range chain {
			if !bytes.Equal(c.Raw, der[i]) {
				t.Fatalf("certificate %d: Raw differs from the input", i)
			}
			Describe(c)
			Identity(c)
		}
		Verify(chain, roots, "", "", t0)
	})
}
