package irm

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/crypt"
	"o7s.dev/ouroboros/stack/crypt/cert"
	"o7s.dev/ouroboros/stack/crypt/oap"
	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/qos"
)

// layerPKI is a layer's CA and the directory its files are in.
type layerPKI struct {
	dir    string
	ca     *cert.Pair
	issued map[string]*ctrl.IPCPIdentity
}

func newLayerPKI(t *testing.T, name string) *layerPKI {
	t.Helper()
	ca, err := cert.NewCA(name, cert.Ed25519, 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p := &layerPKI{dir: t.TempDir(), ca: ca, issued: map[string]*ctrl.IPCPIdentity{}}
	if err := cert.Save(p.dir, "ca", ca); err != nil {
		t.Fatal(err)
	}
	return p
}

// identity issues an IPCP certificate for ipcpName and returns the files.
func (p *layerPKI) identity(t *testing.T, ipcpName string, kind cert.Kind) *ctrl.IPCPIdentity {
	t.Helper()
	base := fmt.Sprintf("%s-%s", kind, ipcpName)
	if id, ok := p.issued[base]; ok {
		return id
	}
	c, err := p.ca.Issue(ipcpName, kind, cert.Ed25519, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.Save(p.dir, base, c); err != nil {
		t.Fatal(err)
	}
	p.issued[base] = &ctrl.IPCPIdentity{CA: []string{filepath.Join(p.dir, "ca.crt")},
		Cert: filepath.Join(p.dir, base+".crt"), Key: filepath.Join(p.dir, base+".key")}
	return p.issued[base]
}

// revoking returns the set that revokes the certificate in file.
func revoking(t *testing.T, file string) cert.Revoked {
	t.Helper()
	leaf, err := cert.LoadCerts(file)
	if err != nil {
		t.Fatal(err)
	}
	r, err := cert.ParseRevoked([]string{cert.Fingerprint(leaf[0])})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// freeUDP returns a UDP port free on ip.
func freeUDP(t *testing.T, ip string) string {
	t.Helper()
	c, err := net.ListenPacket("udp4", ip+":0")
	if err != nil {
		t.Fatalf("a UDP port on %s: %v", ip, err)
	}
	defer c.Close()
	return fmt.Sprint(c.LocalAddr().(*net.UDPAddr).Port)
}

// udpHost is an IRM whose udp4 IPCP "wan" is bound to ip, reaching the
// names in peers (name -> ip:port), with real unicast IPCPs above it.
func udpHost(t *testing.T, ip, port string, peers map[string]string) *IRM {
	t.Helper()
	m := New(Config{BindGrace: 200 * time.Millisecond, AllocTimeout: 5 * time.Second})
	t.Cleanup(func() { m.Close() })
	opts := map[string]string{"ip": ip, "port": port}
	for n, a := range peers {
		opts["peer."+n] = a
	}
	err := m.Bootstrap(context.Background(), ctrl.IPCPBootstrap{Name: "wan." + ip, Layer: "wan", Type: "udp4", Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// memberLab is a member "net.b" of layer "net" on 127.0.0.3, bootstrapped
// with identity (nil: an open layer), and a host on 127.0.0.2 whose udp
// layer reaches it by both names.
func memberLab(t *testing.T, identity *ctrl.IPCPIdentity) (joiner, member *IRM) {
	t.Helper()
	pb := freeUDP(t, "127.0.0.3")
	b := udpHost(t, "127.0.0.3", pb, nil)
	ctx := context.Background()
	err := b.Bootstrap(ctx, ctrl.IPCPBootstrap{Name: "net.b", Layer: "net", Type: "unicast", Autobind: true, Identity: identity})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"net", "net.b"} {
		if err := b.RegisterName(ctrl.NameRegister{Name: n, IPCPs: []string{"wan.127.0.0.3"}}); err != nil {
			t.Fatal(err)
		}
	}
	at := "127.0.0.3:" + pb
	return udpHost(t, "127.0.0.2", freeUDP(t, "127.0.0.2"), map[string]string{"net": at, "net.b": at}), b
}

// TestAuthenticatedLayer: in a layer bootstrapped with a CA, an IPCP with
// a certificate from it enrolls and connects over encrypted member flows;
// one without a certificate, with one from another CA, or with a name
// certificate cannot, and the error says why.
func TestAuthenticatedLayer(t *testing.T) {
	layer, other := newLayerPKI(t, "net CA"), newLayerPKI(t, "other CA")
	ctx := context.Background()
	for _, c := range []struct {
		what string
		id   *ctrl.IPCPIdentity
		want string
	}{
		{"no certificate", nil, "admits only members with a certificate"},
		{"another CA's", other.identity(t, "net.x", cert.KindIPCP), "unknown CA"},
	} {
		t.Run(c.what, func(t *testing.T) {
			a, _ := memberLab(t, layer.identity(t, "net.b", cert.KindIPCP))
			err := a.Enroll(ctx, ctrl.IPCPEnroll{Name: "net.x", Layer: "net", Identity: c.id})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("enroll: %v; want an error saying %q", err, c.want)
			}
		})
	}
	t.Run("a name certificate", func(t *testing.T) {
		a, _ := memberLab(t, layer.identity(t, "net.b", cert.KindIPCP))
		err := a.Enroll(ctx, ctrl.IPCPEnroll{Name: "net.x", Layer: "net", Identity: layer.identity(t, "net.x", cert.KindName)})
		if err == nil || !strings.Contains(err.Error(), "not an IPCP certificate") && !strings.Contains(err.Error(), "wrong kind") && !strings.Contains(err.Error(), "is a name certificate") {
			t.Fatalf("enroll with a name certificate: %v", err)
		}
	})
	t.Run("a revoked certificate", func(t *testing.T) {
		a, b := memberLab(t, layer.identity(t, "net.b", cert.KindIPCP))
		id := layer.identity(t, "net.r", cert.KindIPCP)
		b.SetRevoked(revoking(t, id.Cert))
		err := a.Enroll(ctx, ctrl.IPCPEnroll{Name: "net.r", Layer: "net", Identity: id})
		if err == nil || !strings.Contains(err.Error(), "is revoked") {
			t.Fatalf("enroll with a revoked certificate: %v", err)
		}
	})
	t.Run("a member, then revoked", func(t *testing.T) {
		a, b := memberLab(t, layer.identity(t, "net.b", cert.KindIPCP))
		id := layer.identity(t, "net.a", cert.KindIPCP)
		if err := a.Enroll(ctx, ctrl.IPCPEnroll{Name: "net.a", Layer: "net", Identity: id}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Connect(ctx, ctrl.IPCPConnect{Name: "net.a", Dst: "net.b"}); err != nil {
			t.Fatal(err)
		}
		flows := a.lowerStats()
		if len(flows) != 2 {
			t.Fatalf("lower flows after connect: %+v", flows)
		}
		for _, f := range flows {
			if !f.Encrypted {
				t.Errorf("member flow %+v is not encrypted", f)
			}
		}
		// Revoking net.a's certificate at net.b ends both its flows there.
		if ended := b.SetRevoked(revoking(t, id.Cert)); ended != 2 {
			t.Errorf("revoking net.a ended %d flows at net.b, want 2", ended)
		}
		if flows := b.lowerStats(); len(flows) != 0 {
			t.Errorf("net.b's lower flows after the revocation: %+v", flows)
		}
	})
}

// TestOpenLayerEncryptsMemberFlows: a layer without a CA admits anyone,
// over encrypted member flows all the same; an IPCP that brings a CA of
// its own refuses a member that cannot show a certificate from it.
func TestOpenLayerEncryptsMemberFlows(t *testing.T) {
	ctx := context.Background()
	a, _ := memberLab(t, nil)
	if err := a.Enroll(ctx, ctrl.IPCPEnroll{Name: "net.a", Layer: "net"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Connect(ctx, ctrl.IPCPConnect{Name: "net.a", Dst: "net.b", Component: "mgmt"}); err != nil {
		t.Fatal(err)
	}
	flows := a.lowerStats()
	if len(flows) != 1 || !flows[0].Encrypted {
		t.Fatalf("lower flows: %+v", flows)
	}
	own := newLayerPKI(t, "own CA")
	b, _ := memberLab(t, nil)
	err := b.Enroll(ctx, ctrl.IPCPEnroll{Name: "net.c", Layer: "net", Identity: own.identity(t, "net.c", cert.KindIPCP)})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("enrolling with a CA through an open member: %v", err)
	}
}

// TestIdentityChecked: an identity that does not fit together is refused
// when given, naming the problem.
func TestIdentityChecked(t *testing.T) {
	layer, other := newLayerPKI(t, "net CA"), newLayerPKI(t, "other CA")
	good := layer.identity(t, "net.a", cert.KindIPCP)
	foreign := other.identity(t, "net.a", cert.KindIPCP)
	for _, c := range []struct {
		id   ctrl.IPCPIdentity
		want string
	}{
		{ctrl.IPCPIdentity{Cert: good.Cert, Key: good.Key}, "needs ca"},
		{ctrl.IPCPIdentity{CA: good.CA}, "needs cert and key"},
		{ctrl.IPCPIdentity{CA: good.CA, Cert: foreign.Cert, Key: foreign.Key}, "unknown CA"},
		{ctrl.IPCPIdentity{CA: good.CA, Cert: good.Cert, Key: foreign.Key}, "key"},
		{ctrl.IPCPIdentity{CA: []string{"/nonexistent/ca.crt"}, Cert: good.Cert, Key: good.Key}, "/nonexistent/ca.crt"},
	} {
		_, err := loadIdentity("net.a", &c.id, time.Now())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want an error saying %q", c.id, err, c.want)
		}
	}
	if _, err := loadIdentity("net.z", good, time.Now()); err == nil || !strings.Contains(err.Error(), "net.z") {
		t.Errorf("a certificate for another IPCP: %v", err)
	}
	if _, err := loadIdentity("net.a", good, time.Now()); err != nil {
		t.Fatal(err)
	}
	m := New(Config{})
	defer m.Close()
	err := m.Bootstrap(context.Background(), ctrl.IPCPBootstrap{Name: "lo", Layer: "local", Type: "local", Identity: good})
	if err == nil || !strings.Contains(err.Error(), "apply to unicast") {
		t.Errorf("identity on a local IPCP: %v", err)
	}
}

// TestMemberFlowRejectsForgeries: what reaches a sealed member flow's owner
// is only what the peer sealed: junk, a modified packet and a replayed one
// are dropped and counted.
func TestMemberFlowRejectsForgeries(t *testing.T) {
	m := New(Config{})
	defer m.Close()
	up, down, err := m.newLowerFlow("peer", qos.Raw, "u", nil, sideAlloc)
	if err != nil {
		t.Fatal(err)
	}
	mine, peers := memberKeys(t)
	if err := up.seal(&mine, nil); err != nil {
		t.Fatal(err)
	}
	peer, err := peers.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	good, err := peer.Seal(nil, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	modified := append([]byte(nil), good...)
	modified[len(modified)-1] ^= 1
	for _, pkt := range [][]byte{[]byte("junk that is long enough to look sealed"), modified, good, good} {
		if _, err := down.WriteBatch([][]byte{pkt}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	time.AfterFunc(5*time.Second, func() {
		select {
		case <-done:
		default:
			up.Down(ctrl.ReasonDown)
		}
	})
	bufs, lens := [][]byte{make([]byte, 2048), make([]byte, 2048)}, []int{0, 0}
	n, err := up.ReadBatch(bufs, lens)
	close(done)
	if err != nil || n != 1 || string(bufs[0][:lens[0]]) != "hello" {
		t.Fatalf("read %d, %v: %q", n, err, bufs[0][:lens[0]])
	}
	// What the owner writes leaves sealed, and opens with the peer's keys.
	if _, err := up.WriteBatch([][]byte{[]byte("back")}); err != nil {
		t.Fatal(err)
	}
	if _, err := down.ReadBatch(bufs[:1], lens[:1]); err != nil {
		t.Fatal(err)
	}
	open, err := peers.Opener()
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := open.Open(nil, bufs[0][:lens[0]]); err != nil || string(pt) != "back" {
		t.Fatalf("the peer opens %q, %v", pt, err)
	}
	if !up.f.encrypted.Load() || up.f.rejected.Load() != 3 {
		t.Fatalf("encrypted %v, %d rejected: want encrypted, 3 rejected", up.f.encrypted.Load(), up.f.rejected.Load())
	}
}

// memberKeys runs an anonymous exchange and returns both ends' keys.
func memberKeys(t testing.TB) (client, server crypt.Keys) {
	t.Helper()
	s := oap.NewServer(func(string) (oap.Config, error) { return oap.Config{}, nil })
	req, st, err := oap.NewRequest(oap.Config{}, "peer")
	if err != nil {
		t.Fatal(err)
	}
	resp, server, _, _, err := s.Respond("test", "peer", req)
	if err != nil {
		t.Fatal(err)
	}
	client, _, _, err = st.Finish(resp)
	if err != nil {
		t.Fatal(err)
	}
	return client, server
}
