package schema

// DefaultEthertype is the Ethernet type of an eth-dix layer bootstrapped
// without one.
const DefaultEthertype = 0xA000

func devOption() Option {
	return Option{Key: "dev", Kind: Device, Required: true,
		Arg: "IF", Help: "the Ethernet interface, as ip link names it"}
}

func ethLLCType() Type {
	return Type{Name: EthLLC, Summary: "A layer over Ethernet, with IEEE 802.2 LLC framing.",
		Options: []Option{devOption(), hashOption(), silenceOption()}}
}

func ethDIXType() Type {
	return Type{Name: EthDIX, Summary: "A layer over Ethernet II (DIX) framing.",
		Options: []Option{
			devOption(),
			{Key: "ethertype", Kind: Ethertype, Default: "0xA000",
				Arg: "E", Help: "the Ethernet type of the layer's frames; every member uses the same"},
			hashOption(),
			silenceOption(),
		}}
}
