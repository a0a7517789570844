package schema

// The IPCP types, spelt as in irm and as the table names of irmd.conf.
const (
	Local     = "local"
	EthLLC    = "eth-llc"
	EthDIX    = "eth-dix"
	UDP4      = "udp4"
	UDP6      = "udp6"
	Broadcast = "broadcast"
	Unicast   = "unicast"
)

// Kind is the kind of value an option takes; it decides how Check reads it.
type Kind int

const (
	// Word is one of Option.Words (or of its Aliases).
	Word Kind = iota
	// Int is a whole number from Lo to Hi in Unit, or one of Words if set.
	Int
	// BindAddr is an IP address of the type's version to listen on; the
	// wildcard (0.0.0.0 or ::) listens on all.
	BindAddr
	// HostAddr is the IP address of another host, of the type's version.
	HostAddr
	// Device is a network interface name.
	Device
	// Ethertype is an Ethernet II type, 0x0600 to 0xFFFE.
	Ethertype
	// Peers is a table of peer name = "host[:port]"; each peer reaches the
	// IPCP as the option "Flag.NAME".
	Peers
)

// Option is one bootstrap option of an IPCP type.
type Option struct {
	Key   string // the key in irmd.conf
	Alias string // another spelling irmd.conf accepts (the reference's), or ""
	// Flag is irm's keyword for the option and its key in the options
	// irmd hands the IPCP; "" means the same as Key.
	Flag string
	Kind Kind

	Words   []string          // Word, Int: the values allowed
	Aliases map[string]string // Word: other spellings, to the word they mean
	Fold    bool              // Word: accepted in any case, as irm always did for capitals
	Lo, Hi  int64             // Int: the range
	Unit    string            // Int: "seconds", "milliseconds", or "" for a plain number
	Noun    string            // Int: what the number is, if not "a whole number": "a port number"

	Default  string // as the IPCP receives it; "" for none
	Required bool   // the IPCP cannot bootstrap without it
	FileOnly bool   // irm ipcp bootstrap has no keyword for it (only irmd.conf sets it)
	NotYet   string // set when this release refuses the option at bootstrap: what it would do

	Arg  string // the value's placeholder in irm's help: "S", "IF"
	Help string // what the option sets, a phrase
}

// Name returns the option's irm keyword and key in the IPCP's options.
func (o *Option) Name() string {
	if o.Flag != "" {
		return o.Flag
	}
	return o.Key
}

// Type is one IPCP type: what its IPCPs can do and their options.
type Type struct {
	Name    string
	Summary string // one sentence for the docs
	Layered bool   // can enrol, and autobind (unicast and broadcast)
	Connect bool   // connects to neighbours (unicast)
	Auth    bool   // authenticates its members with certificates (unicast)
	Options []Option
	// Complete, if set, fills in the options that depend on others, once
	// the defaults are in.
	Complete func(opts map[string]string)
	// Rules check options against each other, once the defaults are in.
	Rules []Rule
}

// Rule checks options against each other. opts holds every option with
// the defaults filled in; given reports whether an option was set rather
// than defaulted. It returns "" or the option to blame (its Name) and what
// is wrong.
type Rule func(opts map[string]string, given func(name string) bool) (name, problem string)

// order is the IPCP types in the order their IPCPs come up: a layer
// before the layers that may run over it. It is never written.
var order = [...]string{Local, EthLLC, EthDIX, UDP4, UDP6, Broadcast, Unicast}

// Types returns the IPCP types in the order their IPCPs come up: a layer
// before the layers that may run over it. The caller may modify the result.
func Types() []Type {
	out := make([]Type, len(order))
	for i, n := range order {
		out[i] = *Lookup(n)
	}
	return out
}

// Names returns the names of the IPCP types, in the order of Types.
func Names() []string { return append([]string(nil), order[:]...) }

// Rank returns the place of type name in the order of Types, or the
// number of types for an unknown one. It does not allocate, for sorting.
func Rank(name string) int {
	for i, n := range order {
		if n == name {
			return i
		}
	}
	return len(order)
}

// Lookup returns the type called name, or nil.
func Lookup(name string) *Type {
	var t Type
	switch name {
	case Local:
		t = localType()
	case EthLLC:
		t = ethLLCType()
	case EthDIX:
		t = ethDIXType()
	case UDP4, UDP6:
		t = udpType(name)
	case Broadcast:
		t = broadcastType()
	case Unicast:
		t = unicastType()
	default:
		return nil
	}
	return &t
}

// Option returns t's option with irm keyword name, or nil.
func (t *Type) Option(name string) *Option {
	for i := range t.Options {
		if t.Options[i].Name() == name {
			return &t.Options[i]
		}
	}
	return nil
}

// Flags returns t's irm keywords, in table order.
func (t *Type) Flags() []string {
	var out []string
	for i := range t.Options {
		if !t.Options[i].FileOnly {
			out = append(out, t.Options[i].Name())
		}
	}
	return out
}
