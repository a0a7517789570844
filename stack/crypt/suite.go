package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/sys/cpu"
)

// Suite is an AEAD choice. Both suites take a 32-byte key and a 12-byte
// nonce and add a 16-byte tag; its value is also bound into the key
// derivation, so the two ends must agree on it.
type Suite uint8

// The suites. The values are wire values: the allocation messages carry
// them, and DeriveKeys mixes them into the keys.
const (
	AES256GCM        Suite = 1 // AES-256 in Galois/Counter Mode
	ChaCha20Poly1305 Suite = 2 // ChaCha20-Poly1305 (RFC 8439)
)

// ParseSuite returns the suite a configuration names, "aes-256-gcm" or
// "chacha20-poly1305" (in any case).
func ParseSuite(s string) (Suite, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "aes-256-gcm":
		return AES256GCM, nil
	case "chacha20-poly1305":
		return ChaCha20Poly1305, nil
	}
	return 0, fmt.Errorf("crypt: unknown cipher %q (want aes-256-gcm or chacha20-poly1305)", s)
}

// String returns the name ParseSuite takes, or "suite(N)" for an unknown one.
func (s Suite) String() string {
	switch s {
	case AES256GCM:
		return "aes-256-gcm"
	case ChaCha20Poly1305:
		return "chacha20-poly1305"
	}
	return fmt.Sprintf("suite(%d)", uint8(s))
}

func (s Suite) valid() bool { return s == AES256GCM || s == ChaCha20Poly1305 }

// DefaultSuite returns AES-256-GCM where the CPU runs it in hardware (AES
// rounds and carry-less multiplication for GHASH), and ChaCha20-Poly1305
// elsewhere: software AES is slower than ChaCha20 and, without constant-time
// table lookups, leaks timing.
func DefaultSuite() Suite {
	if aesGCMHardware() {
		return AES256GCM
	}
	return ChaCha20Poly1305
}

// aesGCMHardware mirrors the conditions under which the standard library
// takes its assembly AES-GCM path; on other architectures it has none.
func aesGCMHardware() bool {
	switch runtime.GOARCH {
	case "amd64":
		x := cpu.X86
		return x.HasAES && x.HasPCLMULQDQ && x.HasSSE41 && x.HasSSSE3
	case "arm64":
		return cpu.ARM64.HasAES && cpu.ARM64.HasPMULL
	case "s390x":
		return cpu.S390X.HasAES && cpu.S390X.HasAESGCM
	case "ppc64", "ppc64le":
		return cpu.PPC64.IsPOWER8
	}
	return false
}

// newAEAD returns the suite's AEAD under key.
func newAEAD(s Suite, key *[KeySize]byte) (cipher.AEAD, error) {
	switch s {
	case AES256GCM:
		b, err := aes.NewCipher(key[:])
		if err != nil {
			return nil, fmt.Errorf("crypt: aes: %w", err)
		}
		a, err := cipher.NewGCM(b)
		if err != nil {
			return nil, fmt.Errorf("crypt: gcm: %w", err)
		}
		return a, nil
	case ChaCha20Poly1305:
		a, err := chacha20poly1305.New(key[:])
		if err != nil {
			return nil, fmt.Errorf("crypt: chacha20-poly1305: %w", err)
		}
		return a, nil
	}
	return nil, fmt.Errorf("crypt: unknown cipher %v", s)
}
