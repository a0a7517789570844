package eth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		typ  ipcp.Type
		opts map[string]string
		want options
	}{
		{ipcp.EthDIX, map[string]string{"dev": "eth0"}, options{dev: "eth0", ethertype: 0xA000, hash: ipcp.SHA3_256, dead: 15 * time.Second}},
		{ipcp.EthDIX, map[string]string{"dev": "veth-a.10", "ethertype": "0xA007"}, options{dev: "veth-a.10", ethertype: 0xA007, hash: ipcp.SHA3_256, dead: 15 * time.Second}},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "0xa007"}, options{dev: "e", ethertype: 0xA007, hash: ipcp.SHA3_256, dead: 15 * time.Second}},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "0X0600"}, options{dev: "e", ethertype: 0x0600, hash: ipcp.SHA3_256, dead: 15 * time.Second}},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "65534"}, options{dev: "e", ethertype: 0xFFFE, hash: ipcp.SHA3_256, dead: 15 * time.Second}},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "1536"}, options{dev: "e", ethertype: 0x0600, hash: ipcp.SHA3_256, dead: 15 * time.Second}},
		{ipcp.EthDIX, map[string]string{"dev": "e", "hash": "SHA3_512"}, options{dev: "e", ethertype: 0xA000, hash: ipcp.SHA3_512, dead: 15 * time.Second}},
		{ipcp.EthLLC, map[string]string{"dev": "eth0", "hash": "sha3_224"}, options{dev: "eth0", ethertype: 0xA000, hash: ipcp.SHA3_224, dead: 15 * time.Second}},
		{ipcp.EthLLC, map[string]string{"dev": "e", "silence": "4"}, options{dev: "e", ethertype: 0xA000, hash: ipcp.SHA3_256, dead: 4 * time.Second}},
		{ipcp.EthLLC, map[string]string{"dev": "sixteen-bytes-x"}, options{dev: "sixteen-bytes-x", ethertype: 0xA000, hash: ipcp.SHA3_256, dead: 15 * time.Second}},
	}
	for _, tt := range tests {
		got, err := parseOptions("e1", tt.typ, tt.opts)
		if err != nil || got != tt.want {
			t.Errorf("%s %v: got %+v, %v; want %+v", tt.typ, tt.opts, got, err, tt.want)
		}
	}
}

func TestParseOptionsBad(t *testing.T) {
	tests := []struct {
		typ  ipcp.Type
		opts map[string]string
		want string // in the message, after "ipcp e1: "
	}{
		{ipcp.EthDIX, nil, "missing dev: an eth-"},
		{ipcp.EthLLC, map[string]string{"hash": "SHA3_256"}, "missing dev: an eth-"},
		{ipcp.EthDIX, map[string]string{"dev": ""}, `bad dev: "" is not a network interface name`},
		{ipcp.EthDIX, map[string]string{"dev": "sixteen-bytes-xx"}, "not a network interface name"},
		{ipcp.EthDIX, map[string]string{"dev": "a/b"}, "not a network interface name"},
		{ipcp.EthDIX, map[string]string{"dev": "eth0:1"}, "not a network interface name"},
		{ipcp.EthDIX, map[string]string{"dev": "eth 0"}, "not a network interface name"},
		{ipcp.EthDIX, map[string]string{"dev": "."}, "not a network interface name"},
		{ipcp.EthDIX, map[string]string{"dev": ".."}, "not a network interface name"},
		{ipcp.EthDIX, map[string]string{"dev": "éth0"}, "not a network interface name"},
		{ipcp.EthDIX, map[string]string{"dev": "e\x00"}, "not a network interface name"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": ""}, "is not an Ethernet type (0x0600-0xFFFE"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "0x"}, "is not an Ethernet type"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "0x05FF"}, "is not an Ethernet type"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "1535"}, "is not an Ethernet type"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "0xFFFF"}, "is not an Ethernet type"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "0x1A000"}, "is not an Ethernet type"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "A000"}, "is not an Ethernet type"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "0xZZ"}, "is not an Ethernet type"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "-1536"}, "is not an Ethernet type"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "+1536"}, "is not an Ethernet type"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "0xA_000"}, "is not an Ethernet type"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "0o7000"}, "is not an Ethernet type"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "0x0800"}, "is IPv4's Ethernet type"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "0x86DD"}, "is IPv6's Ethernet type"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "2054"}, "is ARP's Ethernet type"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ethertype": "0x8100"}, "VLAN tagging"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "hash": "MD5"}, `bad hash: "MD5" is not one of SHA3_224, SHA3_256, SHA3_384, SHA3_512`},
		{ipcp.EthLLC, map[string]string{"dev": "e", "hash": ""}, "is not one of SHA3_224"},
		{ipcp.EthLLC, map[string]string{"dev": "e", "ethertype": "0xA000"}, "option ethertype does not apply to an eth-llc IPCP; it takes dev, hash"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "ip": "10.0.0.1"}, "option ip does not apply to an eth-dix IPCP; it takes dev, ethertype, hash"},
		{ipcp.EthLLC, map[string]string{"dev": "e", "port": "3435"}, "option port does not apply to an eth-llc IPCP"},
		{ipcp.EthDIX, map[string]string{"dev": "e", "Dev": "e"}, "option Dev does not apply"},
	}
	for _, tt := range tests {
		_, err := parseOptions("e1", tt.typ, tt.opts)
		var ce *ctrl.Error
		if !errors.As(err, &ce) || ce.Code != ctrl.CodeInvalid || !strings.HasPrefix(ce.Msg, "ipcp e1: ") || !strings.Contains(ce.Msg, tt.want) {
			t.Errorf("%s %q: got %v, want an invalid-argument error with %q", tt.typ, tt.opts, err, tt.want)
		}
	}
}

// TestBootstrapOptionsFirst checks that bad options are refused before
// any socket is opened, so without privileges.
func TestBootstrapOptionsFirst(t *testing.T) {
	p := New("e1", ipcp.EthDIX, nil, nil)
	defer p.Close()
	err := p.Bootstrap(t.Context(), "lan", map[string]string{"dev": "eth0", "ethertype": "0x0800"})
	var ce *ctrl.Error
	if !errors.As(err, &ce) || ce.Code != ctrl.CodeInvalid {
		t.Fatalf("got %v", err)
	}
	if info := p.Info(); info.State != ipcp.StateCreated || info.Type != ipcp.EthDIX || info.Detail != "" {
		t.Errorf("info after a failed bootstrap: %+v", info)
	}
	if p.MaxSDU() != 0 || p.Reachable(t.Context(), "x", []byte{1}) {
		t.Error("an IPCP that is not bootstrapped reaches names")
	}
}
