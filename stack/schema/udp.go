package schema

import (
	"strconv"
	"strings"
)

// DefaultPort is the UDP port of a udp layer bootstrapped without one.
const DefaultPort = 3435

func udpType(name string) Type {
	return Type{Name: name, Summary: "A layer over UDP, on IPv4 (udp4) or IPv6 (udp6).",
		Options: []Option{
			{Key: "ip", Kind: BindAddr, Required: true,
				Arg: "A", Help: "the address to listen on; 0.0.0.0 or :: listens on all"},
			{Key: "port", Kind: Int, Lo: 1, Hi: 65535, Noun: "a port number", Default: strconv.Itoa(DefaultPort),
				Arg: "P", Help: "the UDP port; every member of the layer uses the same"},
			{Key: "dns", Kind: HostAddr, NotYet: "dynamic DNS updates",
				Arg: "D", Help: "a dynamic DNS server through which the layer publishes and resolves names"},
			{Key: "peers", Flag: "peer", Kind: Peers, FileOnly: true,
				Help: "peer names and their host[:port]; without a port, a peer gets the layer's"},
			{Key: "keepalive", Kind: Int, Lo: 1, Hi: 3600, Unit: "seconds", Default: "5",
				Arg: "S", Help: "at most between keepalives of idle flows (and at most silence/3), which keep NAT mappings open and tell the peer this end is alive"},
			silenceOption(),
		},
		Complete: peerPorts,
	}
}

// peerPorts gives the peers without a port the port of the IPCP, since the
// members of a UDP layer all listen on the same one.
func peerPorts(opts map[string]string) {
	for k, ep := range opts {
		if !strings.HasPrefix(k, "peer.") {
			continue
		}
		// Host names and IPv4 addresses have no ':' of their own, and
		// Check writes IPv6 addresses in brackets.
		if i := strings.LastIndexByte(ep, ':'); i < 0 || strings.HasSuffix(ep, "]") {
			opts[k] = ep + ":" + opts["port"]
		}
	}
}

// silenceOption is the shim layers' liveness timeout.
func silenceOption() Option {
	return Option{Key: "silence", Kind: Int, Lo: 3, Hi: 3600, Unit: "seconds", Default: "15",
		Arg: "S", Help: "of silence from a flow's peer (no data, no keepalive) after which the flow ends"}
}
