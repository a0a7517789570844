package udp

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
)

func TestParseOptions(t *testing.T) {
	p := New("u", ipcp.UDP4, nil, nil)
	o, err := p.parse(map[string]string{"ip": "10.0.0.1", "port": "4000", "keepalive": "7",
		"peer.srv": "10.0.0.2", "peer.db": "10.0.0.3:5000"})
	if err != nil {
		t.Fatal(err)
	}
	if o.ip != netip.MustParseAddr("10.0.0.1") || o.port != 4000 || o.keepalive != 7*time.Second {
		t.Fatalf("options %+v", o)
	}
	if o.peers["srv"] != "10.0.0.2:4000" || o.peers["db"] != "10.0.0.3:5000" {
		t.Fatalf("peers %v: a peer without a port takes the layer's", o.peers)
	}
	o, err = p.parse(map[string]string{"ip": "0.0.0.0"})
	if err != nil || o.port != DefaultPort {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
}

func TestParseOptionsBad(t *testing.T) {
	cases := []struct {
		typ  ipcp.Type
		opts map[string]string
		code ctrl.Code
		want string
	}{
		{ipcp.UDP4, map[string]string{}, ctrl.CodeInvalid, "missing ip: a udp4 IPCP needs it (the address to listen on"},
		{ipcp.UDP4, map[string]string{"ip": "fd00::1"}, ctrl.CodeInvalid, "not an IPv4 address"},
		{ipcp.UDP6, map[string]string{"ip": "10.0.0.1"}, ctrl.CodeInvalid, "not an IPv6 address"},
		{ipcp.UDP4, map[string]string{"ip": "10.0.0.1", "port": "0"}, ctrl.CodeInvalid, "not a port number"},
		{ipcp.UDP4, map[string]string{"ip": "10.0.0.1", "port": "70000"}, ctrl.CodeInvalid, "not a port number"},
		{ipcp.UDP4, map[string]string{"ip": "10.0.0.1", "keepalive": "-1"}, ctrl.CodeInvalid, "seconds"},
		// The range irmd.conf and irm have, from the same table.
		{ipcp.UDP4, map[string]string{"ip": "10.0.0.1", "keepalive": "3601"}, ctrl.CodeInvalid, `bad keepalive: "3601" is out of range (1-3600 seconds)`},
		{ipcp.UDP4, map[string]string{"ip": "10.0.0.1", "peer.x": "host_example"}, ctrl.CodeInvalid, "neither an IP address nor a host name"},
		{ipcp.UDP4, map[string]string{"ip": "10.0.0.1", "peer.x": "fd00::2"}, ctrl.CodeInvalid, "not an IPv4 address"},
		{ipcp.UDP4, map[string]string{"ip": "10.0.0.1", "dev": "eth0"}, ctrl.CodeInvalid, "option dev does not apply"},
		{ipcp.UDP4, map[string]string{"ip": "10.0.0.1", "dns": "10.0.0.53"}, ctrl.CodeNotSupported, "not supported yet"},
	}
	for _, c := range cases {
		_, err := New("u", c.typ, nil, nil).parse(c.opts)
		var ce *ctrl.Error
		if !errors.As(err, &ce) || ce.Code != c.code || !strings.Contains(ce.Msg, c.want) {
			t.Errorf("%s %v: %v, want %s mentioning %q", c.typ, c.opts, err, c.code, c.want)
		}
	}
}

func TestResolveOrder(t *testing.T) {
	p := New("u", ipcp.UDP4, nil, nil)
	p.mu.Lock() // as Bootstrap leaves them, without opening a socket
	p.addr = netip.MustParseAddrPort("127.0.0.1:3435")
	p.peers = map[string]string{"srv": "127.0.0.9:1234", "here": "localhost:99"}
	p.mu.Unlock()
	ctx := context.Background()
	if a, err := p.resolveName(ctx, "srv", nil); err != nil || a.String() != "127.0.0.9:1234" {
		t.Fatalf("static peer: %v, %v", a, err)
	}
	// A peer named by host name, as irmd.conf allows, resolves at its port.
	if a, err := p.resolveName(ctx, "here", nil); err != nil || !a.Addr().IsLoopback() || a.Port() != 99 {
		t.Fatalf("static peer by host name: %v, %v", a, err)
	}
	if a, err := p.resolveName(ctx, "127.0.0.7", nil); err != nil || a.String() != "127.0.0.7:3435" {
		t.Fatalf("address literal: %v, %v", a, err)
	}
	if a, err := p.resolveName(ctx, "localhost", nil); err != nil || !a.Addr().IsLoopback() {
		t.Fatalf("system resolver (/etc/hosts): %v, %v", a, err)
	}
	if _, err := p.resolveName(ctx, "no-such-name.invalid", nil); err == nil {
		t.Fatal("an unknown name resolved")
	}
}
