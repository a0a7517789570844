package schema

// The limits irmd puts on flow requests from the layers: the [irmd] keys
// that bound what a stranger's requests make it hold and do, and a name's
// cap on the flows it holds.

// IrmdLimits returns the options of [irmd] that limit arriving flows, in
// this order: max_flows_per_source, kex_rate, kex_rate_per_source.
func IrmdLimits() []Option {
	return []Option{
		{Key: "max_flows_per_source", Kind: Int, Lo: 0, Hi: 1 << 20, Noun: "a number of flows", Default: "1024",
			Help: "flows to one name that one source (an IP address, a MAC, a layer address) holds at once; 0: no cap; the local layer's flows are not capped by source"},
		{Key: "kex_rate", Kind: Int, Lo: 1, Hi: 1 << 20, Noun: "key exchanges a second", Default: "5000",
			Help: "key exchanges irmd runs for arriving flows, per second, all sources together; requests beyond are refused; the local layer's flows have a rate of their own"},
		{Key: "kex_rate_per_source", Kind: Int, Lo: 1, Hi: 1 << 20, Noun: "key exchanges a second", Default: "500",
			Help: "key exchanges irmd runs for one source's arriving flows, per second; requests beyond are refused; the local layer's flows have only their kex_rate"},
	}
}

// MaxFlows is a name's max_flows key: the flows to the name, accepted from
// the layers, that the host holds at once.
func MaxFlows() Option {
	return Option{Key: "max_flows", Kind: Int, Lo: 0, Hi: 1 << 20, Noun: "a number of flows", Default: "0",
		Help: "flows to the name that arrive from the layers and are held at once, all sources together; 0: no cap"}
}
