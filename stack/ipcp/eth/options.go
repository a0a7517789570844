package eth

import (
	"strconv"
	"strings"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/schema"
)

// options are the bootstrap keys of the eth types, as irm sends them.
type options struct {
	dev       string
	ethertype uint16 // eth-dix only
	hash      ipcp.HashAlgo
	dead      time.Duration
}

// parseOptions checks the bootstrap options of an IPCP called name of type
// typ against the type's table in stack/schema, as irm and irmd.conf do.
// Errors are *ctrl.Error values that name the option.
func parseOptions(name string, typ ipcp.Type, opts map[string]string) (options, error) {
	vals, err := schema.Lookup(string(typ)).Parse(opts)
	if err != nil {
		return options{}, ctrl.Errorf(ctrl.CodeInvalid, "ipcp %s: %v", name, err)
	}
	dead, _ := strconv.ParseUint(vals["silence"], 10, 32) // the schema checked its range
	o := options{dev: vals["dev"], ethertype: DefaultEthertype, hash: ipcp.HashAlgo(vals["hash"]), dead: time.Duration(dead) * time.Second}
	if v, ok := vals["ethertype"]; ok {
		// The schema wrote it as 0xHHHH, within 0x0600-0xFFFE.
		n, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 16)
		if err != nil {
			return options{}, ctrl.Errorf(ctrl.CodeInvalid, "ipcp %s: ethertype %q: %v", name, v, err)
		}
		o.ethertype = uint16(n)
	}
	return o, nil
}
