package crypt

import (
	"runtime"
	"testing"

	"golang.org/x/sys/cpu"
)

func TestParseSuite(t *testing.T) {
	for _, s := range allSuites() {
		got, err := ParseSuite(s.String())
		if err != nil || got != s {
			t.Errorf("ParseSuite(%q) = %v, %v; want %v", s.String(), got, err, s)
		}
	}
	if got, err := ParseSuite(" AES-256-GCM "); err != nil || got != AES256GCM {
		t.Errorf("ParseSuite is not case- and space-insensitive: %v, %v", got, err)
	}
	for _, bad := range []string{"", "aes-128-gcm", "chacha20", "none"} {
		if _, err := ParseSuite(bad); err == nil {
			t.Errorf("ParseSuite(%q) accepted", bad)
		}
	}
	if s := Suite(9).String(); s != "suite(9)" {
		t.Errorf("unknown suite prints as %q", s)
	}
}

func TestDefaultSuite(t *testing.T) {
	want := ChaCha20Poly1305
	if runtime.GOARCH == "amd64" && cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ && cpu.X86.HasSSE41 && cpu.X86.HasSSSE3 {
		want = AES256GCM
	}
	if runtime.GOARCH == "amd64" || runtime.GOARCH == "386" || runtime.GOARCH == "riscv64" {
		if got := DefaultSuite(); got != want {
			t.Fatalf("DefaultSuite() = %v on %s, want %v", got, runtime.GOARCH, want)
		}
	}
	t.Logf("default suite here: %v", DefaultSuite())
}

func TestUnknownSuite(t *testing.T) {
	if _, err := DeriveKeys(0, testSecret(), testTranscript(), true); err == nil {
		t.Fatal("DeriveKeys accepted suite 0")
	}
	if _, err := (Keys{}).Sealer(); err == nil {
		t.Fatal("zero Keys made a Sealer")
	}
	if _, err := (Keys{}).Opener(); err == nil {
		t.Fatal("zero Keys made an Opener")
	}
}
