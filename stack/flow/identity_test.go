package flow_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/crypt/cert"
	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/stack/irm"
	"o7s.dev/ouroboros/stack/irm/irmtest"
	"o7s.dev/ouroboros/stack/qos"
)

// pairFrom allocates a flow to "srv", which this process serves, from the
// name from (bound first), and returns both ends.
func pairFrom(t *testing.T, h *irmtest.Host, from string) (client, server *flow.Flow) {
	t.Helper()
	c, s := pairBy(t, h, func(ctx context.Context, cli *flow.Process) (*flow.Flow, error) {
		if err := cli.Bind(ctx, from); err != nil {
			return nil, err
		}
		return cli.AllocFrom(ctx, "srv", from, qos.Raw)
	})
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// aliceCert is a certificate for the name laptop.alice from ca.
func aliceCert(t *testing.T, ca *cert.Pair) *cert.Pair {
	t.Helper()
	c, err := ca.Issue("laptop.alice", cert.KindName, cert.Ed25519, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantPeer fails the test unless got is want.
func wantPeer(t *testing.T, end string, got, want flow.Peer) {
	t.Helper()
	if got != want {
		t.Errorf("%s sees %+v, want %+v", end, got, want)
	}
}

// TestAllocFromProvesTheName checks that AllocFrom presents the from
// name's certificate, not the host's: with a CA the acceptor sees the
// from name proven, and the allocator the destination's.
func TestAllocFromProvesTheName(t *testing.T) {
	roots, srvCert, hostCert, ca := pki(t, "srv")
	alice := aliceCert(t, ca)
	h := irmtest.Start(t, irmtest.Options{})
	h.IRM.SetCryptIdentity(roots, hostCert)
	h.IRM.SetCryptPolicy("srv", irm.CryptPolicy{Cert: srvCert})
	h.IRM.SetCryptPolicy("laptop.alice", irm.CryptPolicy{Cert: alice})
	c, s := pairFrom(t, h, "laptop.alice")
	exchange(t, c, s)
	wantPeer(t, "acceptor", s.Peer(), flow.Peer{Name: "laptop.alice", Fingerprint: cert.Fingerprint(alice.Cert), CertName: "laptop.alice"})
	wantPeer(t, "allocator", c.Peer(), flow.Peer{Name: "srv", Fingerprint: cert.Fingerprint(srvCert.Cert), CertName: "srv"})

	// Alloc presents the host's certificate, as before.
	c2, s2 := pair(t, h, qos.Raw)
	defer c2.Close()
	defer s2.Close()
	wantPeer(t, "acceptor of Alloc", s2.Peer(), flow.Peer{Name: "laptop", Fingerprint: cert.Fingerprint(hostCert.Cert), CertName: "laptop"})

	// The flow list shows what was proven, for 'irm flow list'.
	var shown []string
	for _, st := range h.IRM.ListFlows() {
		if st.Peer != nil && st.ID == s.ID() {
			shown = append(shown, st.Peer.Name)
		}
	}
	if !slices.Equal(shown, []string{"laptop.alice"}) {
		t.Errorf("flow list shows the acceptor's peer as %q, want laptop.alice", shown)
	}
}

// TestAllocFromPinnable checks that without a CA the acceptor still
// learns the fingerprint of the certificate the dialler proved it holds,
// and its name unverified, and so does the allocator of the acceptor's.
func TestAllocFromPinnable(t *testing.T) {
	_, srvCert, _, ca := pki(t, "srv")
	alice := aliceCert(t, ca)
	h := irmtest.Start(t, irmtest.Options{})
	h.IRM.SetCryptPolicy("srv", irm.CryptPolicy{Cert: srvCert})
	h.IRM.SetCryptPolicy("laptop.alice", irm.CryptPolicy{Cert: alice})
	c, s := pairFrom(t, h, "laptop.alice")
	wantPeer(t, "acceptor", s.Peer(), flow.Peer{Fingerprint: cert.Fingerprint(alice.Cert), CertName: "laptop.alice"})
	wantPeer(t, "allocator", c.Peer(), flow.Peer{Fingerprint: cert.Fingerprint(srvCert.Cert), CertName: "srv"})
}

// TestAllocFromWithoutCertIsAlloc checks that AllocFrom a name without a
// certificate presents none (no host certificate either): the peer is
// anonymous, as with Alloc.
func TestAllocFromWithoutCertIsAlloc(t *testing.T) {
	h := irmtest.Start(t, irmtest.Options{})
	c, s := pairFrom(t, h, "laptop.bob")
	exchange(t, c, s)
	wantPeer(t, "acceptor", s.Peer(), flow.Peer{})
	wantPeer(t, "allocator", c.Peer(), flow.Peer{})
}

// TestAllocFromUnboundIsRefused checks that a process may not allocate
// from a name it is not bound to, whether the name exists or not: irmd
// would present that name's certificate for it.
func TestAllocFromUnboundIsRefused(t *testing.T) {
	_, _, _, ca := pki(t, "srv")
	alice := aliceCert(t, ca)
	h := irmtest.Start(t, irmtest.Options{})
	h.IRM.SetCryptPolicy("laptop.alice", irm.CryptPolicy{Cert: alice})
	h.Serve(t, "srv")
	p := attach(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Register(ctx, "laptop.alice", "local"); err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{"laptop.alice", "nobody"} {
		_, err := p.AllocFrom(ctx, "srv", from, qos.Raw)
		if !errors.Is(err, flow.ErrNotAllowed) || !strings.Contains(err.Error(), "is not bound to "+from+": bind it first") {
			t.Errorf("AllocFrom %s unbound: %v, want refused", from, err)
		}
	}
}

// TestRegisterBindRoundTrip checks the name operations a process does
// without irm: registered and bound, its name takes flows; unbound and
// unregistered, it takes none; and irmd's refusals come back in words.
func TestRegisterBindRoundTrip(t *testing.T) {
	h := irmtest.Start(t, irmtest.Options{})
	srv, cli := attach(t, h), attach(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Register(ctx, "echo", "local"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Bind(ctx, "echo"); err != nil {
		t.Fatal(err)
	}
	if names, err := srv.Names(ctx); err != nil || !slices.Contains(names, "echo") {
		t.Fatalf("bound to %q (%v), want echo", names, err)
	}
	go func() {
		if f, err := srv.Accept(ctx); err == nil {
			f.Close()
		}
	}()
	f, err := cli.Alloc(ctx, "echo", qos.Raw)
	if err != nil {
		t.Fatalf("alloc to a registered, bound name: %v", err)
	}
	f.Close()

	if err := srv.Unbind(ctx, "echo"); err != nil {
		t.Fatal(err)
	}
	if names, _ := srv.Names(ctx); slices.Contains(names, "echo") {
		t.Fatalf("still bound to echo after Unbind: %q", names)
	}
	if err := srv.Unbind(ctx, "echo"); err == nil || !strings.Contains(err.Error(), "is not bound to") {
		t.Errorf("second Unbind: %v, want irmd's refusal", err)
	}
	if err := srv.Unregister(ctx, "echo", "local"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Alloc(ctx, "echo", qos.Raw); !errors.Is(err, flow.ErrUnreachable) {
		t.Errorf("alloc to an unregistered name: %v, want ErrUnreachable", err)
	}
	if err := srv.Register(ctx, "echo", "no-such-layer"); err == nil || !strings.Contains(err.Error(), "no-such-layer") {
		t.Errorf("register in a missing layer: %v, want irmd's message naming it", err)
	}
}

// TestRevokedPinnedCertEndsFlow checks that revoking a certificate no CA
// vouched for ends the flows whose peer signed with it: a pinned
// certificate can be withdrawn as a CA-issued one can.
func TestRevokedPinnedCertEndsFlow(t *testing.T) {
	_, _, _, ca := pki(t, "srv")
	alice := aliceCert(t, ca)
	h := irmtest.Start(t, irmtest.Options{})
	h.IRM.SetCryptPolicy("laptop.alice", irm.CryptPolicy{Cert: alice})
	_, s := pairFrom(t, h, "laptop.alice")
	r, err := cert.ParseRevoked([]string{cert.Fingerprint(alice.Cert)})
	if err != nil {
		t.Fatal(err)
	}
	if n := h.IRM.SetRevoked(r); n != 1 {
		t.Fatalf("revocation ended %d flow ends, want the acceptor's", n)
	}
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := s.Read(make([]byte, 64)); !errors.Is(err, flow.ErrFlowDown) {
		t.Errorf("read on the revoked peer's flow: %v, want ErrFlowDown", err)
	}
}
