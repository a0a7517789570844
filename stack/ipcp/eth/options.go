package eth

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
)

// options are the bootstrap keys of the eth types, as irm sends them.
type options struct {
	dev       string
	ethertype uint16 // eth-dix only
	hash      ipcp.HashAlgo
}

// parseOptions checks the bootstrap options of an IPCP called name of type
// typ. Errors are *ctrl.Error values that name the option.
func parseOptions(name string, typ ipcp.Type, opts map[string]string) (options, error) {
	o := options{ethertype: DefaultEthertype, hash: ipcp.DefaultHash}
	bad := func(k, v, want string) error {
		return ctrl.Errorf(ctrl.CodeInvalid, "ipcp %s: %s %q: %s", name, k, v, want)
	}
	for k, v := range opts {
		switch {
		case k == "dev":
			if !validDev(v) {
				return o, bad(k, v, "not a network interface name (1-15 characters, no '/', ':' or spaces)")
			}
			o.dev = v
		case k == "ethertype" && typ == ipcp.EthDIX:
			t, err := parseEthertype(v)
			if err != nil {
				return o, bad(k, v, err.Error())
			}
			o.ethertype = t
		case k == "hash":
			h, err := ipcp.ParseHash(v)
			if err != nil {
				return o, bad(k, v, "use SHA3_224, SHA3_256, SHA3_384 or SHA3_512")
			}
			o.hash = h
		default:
			return o, ctrl.Errorf(ctrl.CodeInvalid, "ipcp %s: option %q does not apply to an %s IPCP (%s do)", name, k, typ, applicable(typ))
		}
	}
	if o.dev == "" {
		return o, ctrl.Errorf(ctrl.CodeInvalid, "ipcp %s: give the network interface with dev (see 'ip link')", name)
	}
	return o, nil
}

func applicable(typ ipcp.Type) string {
	if typ == ipcp.EthDIX {
		return "dev, ethertype, hash"
	}
	return "dev, hash"
}

// validDev reports whether s can name a network interface, by the kernel's
// rules (dev_valid_name), restricted to printable ASCII.
func validDev(s string) bool {
	if s == "" || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r > '~' || r == '/' || r == ':' {
			return false
		}
	}
	return true
}

// parseEthertype reads 0xHHHH (irm's form) or a decimal number in
// 0x0600..0xFFFE, refusing the types of protocols a host already runs:
// frames of those would reach both stacks.
func parseEthertype(v string) (uint16, error) {
	var n uint64
	var err error
	if h, ok := strings.CutPrefix(strings.ToLower(v), "0x"); ok {
		n, err = strconv.ParseUint(h, 16, 16)
	} else {
		n, err = strconv.ParseUint(v, 10, 16)
	}
	if err != nil || n < minEthertype || n > maxEthertype {
		return 0, errors.New("want an Ethernet type from 0x0600 to 0xFFFE, such as 0xA000")
	}
	if p := knownEthertype(uint16(n)); p != "" {
		return 0, fmt.Errorf("that is %s's Ethernet type: choose an unused one, such as 0xA000", p)
	}
	return uint16(n), nil
}

// knownEthertype names the protocol that owns ethertype t, among those
// that Linux hosts commonly run, or returns "".
func knownEthertype(t uint16) string {
	switch t {
	case 0x0800:
		return "IPv4"
	case 0x0806:
		return "ARP"
	case 0x86DD:
		return "IPv6"
	case 0x8100, 0x88A8:
		return "VLAN tagging"
	case 0x8847, 0x8848:
		return "MPLS"
	case 0x8863, 0x8864:
		return "PPPoE"
	case 0x888E:
		return "802.1X"
	case 0x88CC:
		return "LLDP"
	case 0x88E5:
		return "MACsec"
	case 0x88F7:
		return "PTP"
	}
	return ""
}
