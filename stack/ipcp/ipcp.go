// Package ipcp defines what the IRM asks of an IPC process (IPCP) and what an
// IPCP asks of the IRM. Each IPCP type lives in its own sub-package (local,
// and later udp, eth, unicast, broadcast); all of them run inside irmd.
//
// A flow between an application and a layer enters the IPCP as a Port: the
// IRM's end of the application's flow socket. The IPCP moves SDUs between the
// port and its network (for the local layer, straight to another port).
package ipcp

import (
	"context"
	"crypto/sha3"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/qos"
	"o7s.dev/ouroboros/stack/schema"
)

// Type is an IPCP type, spelled as in the irm grammar.
type Type string

// IPCP types, in the order the IRM asks them to reach a name.
const (
	Local     Type = schema.Local
	EthLLC    Type = schema.EthLLC
	EthDIX    Type = schema.EthDIX
	UDP4      Type = schema.UDP4
	UDP6      Type = schema.UDP6
	Broadcast Type = schema.Broadcast
	Unicast   Type = schema.Unicast
)

// Types lists every type in query order: stack/schema's order, lower
// layers first.
func Types() []Type {
	var out []Type
	for _, n := range schema.Names() {
		out = append(out, Type(n))
	}
	return out
}

// ParseType checks that s names an IPCP type.
func ParseType(s string) (Type, error) {
	if schema.Lookup(s) != nil {
		return Type(s), nil
	}
	return "", fmt.Errorf("unknown IPCP type %q: use one of %s", s, strings.Join(schema.Names(), ", "))
}

// Rank orders types for name queries: lower first.
func (t Type) Rank() int { return schema.Rank(string(t)) }

// HashAlgo is a layer's directory hash: names are known to a layer by their hash.
type HashAlgo string

// Hash algorithms.
const (
	SHA3_224 HashAlgo = "SHA3_224"
	SHA3_256 HashAlgo = "SHA3_256"
	SHA3_384 HashAlgo = "SHA3_384"
	SHA3_512 HashAlgo = "SHA3_512"
)

// DefaultHash is the hash of a layer bootstrapped without one.
const DefaultHash HashAlgo = schema.DefaultHash

// Sum hashes a name.
func (h HashAlgo) Sum(name string) []byte {
	var d hash.Hash
	switch h {
	case SHA3_224:
		d = sha3.New224()
	case SHA3_384:
		d = sha3.New384()
	case SHA3_512:
		d = sha3.New512()
	default:
		d = sha3.New256()
	}
	d.Write([]byte(name))
	return d.Sum(nil)
}

// State is an IPCP's life-cycle state.
type State string

// States.
const (
	StateCreated      State = "created"
	StateBootstrapped State = "bootstrapped"
	StateEnrolled     State = "enrolled"
)

// Info describes an IPCP for listings.
type Info struct {
	Name     string
	Type     Type
	Layer    string
	State    State
	Hash     HashAlgo
	Flows    int
	Detail   string            // type-specific: the bound address, the interface
	Counters map[string]uint64 // drops by cause, for network layers
	// Neighbours lists a layered IPCP's adjacencies, each as the peer's
	// name with its components, e.g. "ucB (dt, mgmt)".
	Neighbours []string
	// Intents are a layered IPCP's intended adjacencies (Connect), with
	// their state, by neighbour and component.
	Intents []Intent
}

// Intent states.
const (
	IntentUp         = "up"         // a member flow serves it
	IntentConnecting = "connecting" // the first attempt, or again after the flow ended
	IntentRetrying   = "retrying"   // attempts failed; the next is at Next
)

// Intent is an intended adjacency: one that Connect made, kept up until
// Disconnect.
type Intent struct {
	Dst       string
	Component string // "dt" or "mgmt"
	State     string // IntentUp, IntentConnecting or IntentRetrying
	Since     time.Time
	Attempts  int       // failed attempts since it was last up
	LastErr   string    // why the last attempt failed
	Next      time.Time // the next attempt, when retrying
}

// ConnectResult says what Connect did, when it succeeded.
type ConnectResult struct {
	// Already: every component asked for was connected before the call;
	// the call changed nothing but to keep them up.
	Already bool
	// Pending, when not nil, is why an adjacency asked for with persist
	// is not up yet: it is kept and retried in the background.
	Pending error
}

// IPCP is an IPC process hosted by irmd. Methods may be called concurrently.
type IPCP interface {
	// Info returns the IPCP's current description.
	Info() Info
	// Bootstrap makes the IPCP the first member of a new layer, with the
	// type-specific options of the irm grammar. It fails with a *ctrl.Error
	// naming the bad option, or CodeNotSupported for options not built yet.
	Bootstrap(ctx context.Context, layer string, opts map[string]string) error
	// Register makes the name with this hash reachable through the IPCP.
	Register(hash []byte) error
	// Unregister withdraws a registered hash; unknown hashes are ignored.
	Unregister(hash []byte) error
	// Reachable reports whether the IPCP can allocate a flow to the name
	// (known to the layer by its hash). It may look the name up (for
	// example in DNS), bounded by ctx.
	Reachable(ctx context.Context, name string, hash []byte) bool
	// Alloc allocates a flow to the name for the application behind port,
	// returning once the other end has accepted it. From then on the IPCP
	// owns the port: it moves SDUs both ways, and when either end goes away
	// it tells the other (Port.Down) and releases the port. data rides in
	// the request to the other end's Host.Arrived, whose answer Alloc
	// returns: the flow's key exchange travels that way (at most
	// MaxAllocData bytes each way, and what the layer's management messages
	// carry).
	Alloc(ctx context.Context, name string, hash []byte, q qos.Spec, data []byte, port Port) (reply []byte, err error)
	// MaxSDU returns the largest SDU the IPCP carries for its users.
	MaxSDU() int
	// Close ends every flow of the IPCP (reported down to their users) and
	// releases its resources.
	Close() error
}

// ErrNoName is wrapped by Looker.Lookup's error when the layer's directory
// says the name is not registered in the layer.
var ErrNoName = errors.New("name not registered in the layer")

// Looker is an IPCP whose directory can fail to answer, as a DHT can: it
// tells a name the layer does not have from a lookup that could not say.
// Lookup is Reachable with the reason: nil when the name is reachable, an
// error wrapping ErrNoName when the directory says it is not registered,
// another error (a timeout, a layer still joining) when it could not say.
type Looker interface {
	Lookup(ctx context.Context, name string, hash []byte) error
}

// Host is what an IPCP needs from the IRM that hosts it.
type Host interface {
	// Arrived is called when a peer asks the IPCP for a flow to a hash it
	// registered, with the data the requester's Alloc carried. It finds a
	// process accepting flows for that name and returns its port and the
	// data to carry back, or an error (a *ctrl.Error) to refuse the flow.
	// src names the requester as the IPCP sees it (a UDP address, a MAC, a
	// layer address), for per-source limits and logs: a shim layer cannot
	// vouch for it, a unicast layer's member flows can.
	Arrived(ctx context.Context, from IPCP, src string, hash []byte, q qos.Spec, data []byte) (Port, []byte, error)
}

// Port is the IRM's end of one application flow. ReadBatch returns the SDUs
// the application wrote, and io.EOF once it has deallocated the flow and
// everything it sent has been read; WriteBatch delivers SDUs to it, blocking
// while it does not keep up. One goroutine may read while another writes.
type Port interface {
	ID() uint64
	ReadBatch(bufs [][]byte, lens []int) (int, error)
	WriteBatch(bufs [][]byte) (int, error)
	// TryWriteBatch delivers what fits without blocking and returns how
	// many SDUs it delivered; network layers drop the rest (and count it),
	// so that one slow application never stalls the others.
	TryWriteBatch(bufs [][]byte) (int, error)
	// Down tells the application the flow ended, and why, unless it ended
	// the flow itself; then releases the port. Safe to call more than once
	// and concurrently with reads and writes, which then fail.
	Down(reason ctrl.Reason)
}

// MaxAllocData bounds the data an allocation carries each way.
const MaxAllocData = 4096

// Lower is what a layered IPCP (unicast, broadcast) asks of the IRM to reach
// its neighbours: flows over the layers below it.
type Lower interface {
	// AllocLower allocates a flow to name for the IPCP from, through an IPCP
	// of another layer that reaches the name. The returned Port is from's
	// end of the flow: ReadBatch returns what the peer sent (io.EOF once
	// the flow is gone), WriteBatch and TryWriteBatch send, Down releases it.
	AllocLower(ctx context.Context, from IPCP, name string, q qos.Spec) (Port, error)
}

// Acceptor is an IPCP that accepts flows for names bound to it (its own
// name and its layer's, for enrollment and adjacencies).
type Acceptor interface {
	// AcceptLower hands the IPCP a flow that arrived for name. On success
	// the IPCP owns port; on error the IRM releases it.
	AcceptLower(name string, q qos.Spec, port Port) error
}

// Layered is an IPCP type that joins existing layers and connects to
// neighbours in them.
type Layered interface {
	IPCP
	// Enroll joins the layer through the member reached by the name dst
	// (a member IPCP's name or the layer's), taking the layer's
	// configuration from it.
	Enroll(ctx context.Context, layer, dst string) error
	// Connect makes an intended adjacency with the member named dst over a
	// lower layer, component "dt" (data transfer), "mgmt" (routing), or ""
	// for both, and keeps it up (it is set up again whenever its flow
	// ends) until Disconnect. q is the QoS of the data transfer flow. It
	// returns once the adjacency is up. When it cannot be set up now, it
	// fails with the reason and keeps no intent, unless persist: then it
	// succeeds with the reason in ConnectResult.Pending and keeps
	// retrying.
	Connect(ctx context.Context, dst, component string, q qos.Spec, persist bool) (ConnectResult, error)
	// Disconnect removes the intended adjacency, whether it is up or
	// not, and takes its flows down. It fails with CodeNotFound only when
	// there was neither an intent nor an adjacency.
	Disconnect(ctx context.Context, dst, component string) error
}
