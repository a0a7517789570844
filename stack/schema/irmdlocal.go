package schema

import (
	"fmt"
	"strconv"
	"strings"
)

// The [irmd] keys that bound what local users' processes may hold, so that
// one user cannot starve irmd of descriptors or memory. Root and irmd's own
// user are not bound by them.
const (
	MaxConnsPerUID     = "max_conns_per_uid"
	MaxFlowsPerUID     = "max_flows_per_uid"
	MaxFlowsPerProcess = "max_flows_per_process"
	HelloTimeout       = "hello_timeout"
)

// IrmdLocal returns the [irmd] options that limit local processes, in the
// order of the docs.
func IrmdLocal() []Option {
	return []Option{
		{Key: MaxConnsPerUID, Kind: Int, Lo: 1, Hi: 65536, Default: "256", FileOnly: true,
			Help: "control connections one user's processes may hold at once (root and irmd's user: no limit)"},
		{Key: MaxFlowsPerUID, Kind: Int, Lo: 1, Hi: 1 << 20, Default: "1024", FileOnly: true,
			Help: "flows one user's processes may hold at once (root and irmd's user: no limit)"},
		{Key: MaxFlowsPerProcess, Kind: Int, Lo: 1, Hi: 1 << 20, Default: "512", FileOnly: true,
			Help: "flows one process may hold at once (root's and irmd's user's: no limit)"},
		{Key: HelloTimeout, Kind: Int, Lo: 100, Hi: 60000, Unit: "milliseconds", Default: "3000", FileOnly: true,
			Help: "a new control connection has to say hello in, else irmd closes it"},
	}
}

// IrmdLocalDefault returns the default of the IrmdLocal option key, or 0.
func IrmdLocalDefault(key string) int {
	for _, o := range IrmdLocal() {
		if o.Key == key {
			n, _ := strconv.Atoi(o.Default)
			return n
		}
	}
	return 0
}

// IrmdLocalTable writes the Markdown table of the IrmdLocal options, for
// docs/config.md.
func IrmdLocalTable() string {
	var b strings.Builder
	b.WriteString("| Key | Value | Default |\n|-----|-------|---------|\n")
	for _, o := range IrmdLocal() {
		fmt.Fprintf(&b, "| %s | %s: %s | %s |\n", code(o.Key), o.phrase(), o.tomlValues(""), o.tomlDefault())
	}
	return b.String()
}
