package flow_test

import (
	"testing"

	"o7s.dev/ouroboros/stack/crypt"
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
