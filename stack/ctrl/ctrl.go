// Package ctrl is the control protocol between irmd and the programs that
// talk to it: applications (through stack/flow), the irm tool and the other
// tools. It runs over a Unix SOCK_SEQPACKET socket in the run directory; each
// message is one JSON-encoded Msg, and a message may carry one file
// descriptor (the application's end of a new flow).
//
// The protocol is request/response with caller-chosen IDs, so one connection
// carries many concurrent calls. Messages with ID 0 are notifications from
// irmd (for example FlowDown).
//
// A process keeps its connection open for as long as it lives: irmd learns
// the process's pid from the socket's credentials, and the end of the
// connection is how it learns that the process is gone.
package ctrl

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"o7s.dev/ouroboros/stack/qos"
)

// EnvRunDir names the environment variable that overrides DefaultRunDir.
const EnvRunDir = "OUROBOROS_RUNDIR"

// DefaultRunDir is where irmd keeps its socket when EnvRunDir is unset.
const DefaultRunDir = "/run/ouroboros"

// SocketName is the control socket's file name in the run directory.
const SocketName = "irmd.sock"

// MaxMsg is the largest control message, in bytes.
const MaxMsg = 1 << 20

// RunDir returns the run directory: $OUROBOROS_RUNDIR, else DefaultRunDir.
func RunDir() string {
	if d := os.Getenv(EnvRunDir); d != "" {
		return d
	}
	return DefaultRunDir
}

// SocketPath returns the control socket's path in runDir ("" = RunDir()).
func SocketPath(runDir string) string {
	if runDir == "" {
		runDir = RunDir()
	}
	return filepath.Join(runDir, SocketName)
}

// Op names a request or notification.
type Op string

// Requests and notifications.
const (
	OpHello Op = "hello" // Hello → HelloReply

	OpFlowAlloc  Op = "flow.alloc"  // FlowAlloc → FlowInfo + fd
	OpFlowAccept Op = "flow.accept" // FlowAccept → FlowInfo + fd
	OpFlowList   Op = "flow.list"   // (none) → FlowList
	OpFlowDown   Op = "flow.down"   // notification: FlowDown
	OpFlowReport Op = "flow.report" // FlowReport → (none)

	OpIPCPCreate     Op = "ipcp.create"     // IPCPCreate
	OpIPCPDestroy    Op = "ipcp.destroy"    // IPCPRef
	OpIPCPBootstrap  Op = "ipcp.bootstrap"  // IPCPBootstrap
	OpIPCPEnroll     Op = "ipcp.enroll"     // IPCPEnroll
	OpIPCPConnect    Op = "ipcp.connect"    // IPCPConnect → IPCPConnectReply
	OpIPCPDisconnect Op = "ipcp.disconnect" // IPCPConnect
	OpIPCPList       Op = "ipcp.list"       // IPCPFilter → IPCPList

	OpNameCreate     Op = "name.create"     // NameCreate
	OpNameDestroy    Op = "name.destroy"    // NameRef
	OpNameRegister   Op = "name.register"   // NameRegister
	OpNameUnregister Op = "name.unregister" // NameRegister
	OpNameList       Op = "name.list"       // NameFilter → NameList

	OpBindProgram   Op = "bind.program"   // BindProgram
	OpUnbindProgram Op = "unbind.program" // BindProgram (Name "" = all names)
	OpBindProcess   Op = "bind.process"   // BindProcess
	OpUnbindProcess Op = "unbind.process" // BindProcess
	OpBindIPCP      Op = "bind.ipcp"      // BindIPCP
	OpUnbindIPCP    Op = "unbind.ipcp"    // BindIPCP
)

// Msg is one control message.
type Msg struct {
	ID   uint64          `json:"id,omitempty"`
	Op   Op              `json:"op"`
	Code Code            `json:"code,omitempty"` // set on error replies
	Err  string          `json:"err,omitempty"`  // human-readable reason
	Body json.RawMessage `json:"body,omitempty"`
}

// Code classifies an error reply so that clients can map it to typed errors.
type Code string

// Error codes.
const (
	CodeInvalid      Code = "invalid"       // malformed or bad arguments
	CodeNotFound     Code = "not-found"     // no such name, IPCP, layer, binding or process
	CodeExists       Code = "exists"        // already there
	CodeNotSupported Code = "not-supported" // valid, but not built yet
	CodeNotAllowed   Code = "not-allowed"   // refused by policy or permissions
	CodeTimeout      Code = "timeout"       // the deadline passed
	CodeUnreachable  Code = "unreachable"   // no layer reaches the name, or nobody accepts
	CodeNoName       Code = "no-name"       // no layer of the host has the name: its directory says so
	CodeMsgSize      Code = "msg-size"      // too large
	CodeDown         Code = "down"          // irmd or the layer is going down
	CodeInternal     Code = "internal"      // a bug or a system error in irmd
)

// Error is an error reply from irmd.
type Error struct {
	Op   Op
	Code Code
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Errorf builds an Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Role says what a connecting program is.
type Role string

// Roles.
const (
	RoleApp  Role = "app"  // an application: may own flows and bindings
	RoleMgmt Role = "mgmt" // a management client such as irm
)

// Hello is the first message of every connection.
type Hello struct {
	Role Role `json:"role"`
	// Prog is the absolute path of the executable, for the log: irmd
	// reads the program from the kernel and never trusts this.
	Prog string `json:"prog"`
	Name string `json:"name"` // argv[0]'s base name
}

// HelloReply answers Hello.
type HelloReply struct {
	PID     int    `json:"pid"` // the pid irmd sees for this connection
	Version string `json:"version"`
}

// FlowAlloc asks for a flow to a name.
type FlowAlloc struct {
	Name string `json:"name"`
	// From, if set, is a name the process is bound to that it allocates
	// as: irmd presents from's certificate in the key exchange instead of
	// the host's, so that the accepting end can prove who dialled.
	From string `json:"from,omitempty"`
	// Layer, if set, restricts the allocation to the IPCPs in that
	// layer: no other layer is asked for the name (a udp layer would ask
	// the system's DNS), and the flow runs in that layer or not at all.
	Layer     string   `json:"layer,omitempty"`
	QoS       qos.Spec `json:"qos"`
	TimeoutMS int64    `json:"timeout_ms,omitempty"` // 0: irmd's default
}

// FlowAccept waits for a flow to one of the names bound to the process.
type FlowAccept struct {
	TimeoutMS int64 `json:"timeout_ms,omitempty"` // 0: no limit
}

// FlowInfo describes a newly allocated flow; the reply carries its fd.
type FlowInfo struct {
	ID     uint64   `json:"id"`
	Name   string   `json:"name"`  // the name the flow was allocated to
	QoS    qos.Spec `json:"qos"`   // the spec the flow runs with
	Layer  string   `json:"layer"` // the layer that carries it
	MaxSDU int      `json:"max_sdu"`
	// Keys are this end's keys for sealing and opening the flow's packets
	// (crypt.Keys, encoded); empty for an unencrypted flow.
	Keys []byte `json:"keys,omitempty"`
	// Peer is what the key exchange proved about the other end; nil when
	// it presented no certificate (or the flow is unencrypted).
	Peer *FlowPeer `json:"peer,omitempty"`
}

// FlowPeer is what a flow's key exchange proved about the other end: the
// certificate whose key signed its half of the exchange.
type FlowPeer struct {
	// Name is the name a CA irmd trusts vouches for: on the allocating
	// side the destination name, on the accepting side the name in the
	// dialler's certificate. Empty: no CA vouches for the peer.
	Name string `json:"name,omitempty"`
	// Fingerprint is the SHA-256 fingerprint of that certificate, as
	// 'irm cert show' prints it, whether or not a CA vouches for it.
	Fingerprint string `json:"fingerprint"`
	// CertName is the name in that certificate, verified or not.
	CertName string `json:"cert_name,omitempty"`
}

// FlowDown tells a process that one of its flows has ended.
type FlowDown struct {
	ID     uint64 `json:"id"`
	Reason Reason `json:"reason"`
}

// Reason says why a flow ended.
type Reason string

// Reasons.
const (
	ReasonPeer Reason = "peer" // the peer deallocated or exited
	ReasonDown Reason = "down" // irmd or the layer went down
)

// FlowStat is one row of the flow list: one end of a flow, held by a
// process of this host. A flow between two processes of the host has two rows.
type FlowStat struct {
	ID    uint64   `json:"id"`
	Name  string   `json:"name"`
	QoS   qos.Spec `json:"qos"`
	Layer string   `json:"layer"`
	IPCP  string   `json:"ipcp"`
	PID   int      `json:"pid"`  // the process holding this end, or 0
	Side  string   `json:"side"` // "alloc" (it asked) or "accept"
	// Owner is the IPCP holding this end when a layered IPCP holds it: a
	// flow to a neighbour over a lower layer, carried by IPCP. PID is
	// then 0.
	Owner string `json:"owner,omitempty"`
	AgeMS int64  `json:"age_ms"`
	// Counters as seen by irmd: SDUs the process sent, and SDUs delivered
	// to it that it accepted: those that did not open there (Rejected)
	// are not counted as received.
	SentPkts  uint64 `json:"sent_pkts"`
	SentBytes uint64 `json:"sent_bytes"`
	RecvPkts  uint64 `json:"recv_pkts"`
	RecvBytes uint64 `json:"recv_bytes"`
	// Encrypted says whether the flow's packets are sealed; Rejected
	// counts those that arrived and did not open (forged, modified,
	// replayed) and were dropped: for the flows irmd opens (those of
	// layered IPCPs) as irmd counts them, for an application's flows as
	// the application last reported them (OpFlowReport, about a second
	// behind). RejectedBytes is their size, for applications' flows.
	Encrypted     bool   `json:"encrypted,omitempty"`
	Rejected      uint64 `json:"rejected,omitempty"`
	RejectedBytes uint64 `json:"rejected_bytes,omitempty"`
	// Peer is what the key exchange proved about the other end, for an
	// application's flow; nil when it presented no certificate.
	Peer *FlowPeer `json:"peer,omitempty"`
	// Dropped counts the SDUs irmd dropped on their way to this end
	// because its queue was full: a network layer's packets for a process
	// (or, on a lower flow, an upper IPCP) that did not read them in time.
	// A local-layer flow drops nothing.
	Dropped uint64 `json:"dropped,omitempty"`
}

// FlowReport carries counters of a process's flows that only the process
// knows, for the flow list. A process sends it when they change, at most
// about once a second, and only for its own flows; irmd ignores the rest.
type FlowReport struct {
	Flows []FlowCounters `json:"flows"`
}

// MaxFlowReport bounds the entries of one FlowReport.
const MaxFlowReport = 1024

// FlowCounters are one flow's counters in a FlowReport, each the total
// since the flow began.
type FlowCounters struct {
	ID uint64 `json:"id"`
	// Rejected counts packets that arrived on the flow and did not open
	// (forged, modified or replayed); RejectedBytes is their size.
	Rejected      uint64 `json:"rejected"`
	RejectedBytes uint64 `json:"rejected_bytes"`
}

// FlowList answers OpFlowList.
type FlowList struct {
	Flows []FlowStat `json:"flows"`
}

// IPCPCreate creates an IPCP.
type IPCPCreate struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// IPCPRef names an IPCP.
type IPCPRef struct {
	Name string `json:"name"`
}

// IPCPBootstrap bootstraps an IPCP into a new layer, creating it if needed.
// Options holds the type-specific keys of the irm grammar (for example
// "hash", "ip", "port"), validated by irmd.
type IPCPBootstrap struct {
	Name     string            `json:"name"`
	Layer    string            `json:"layer"`
	Type     string            `json:"type,omitempty"`
	Autobind bool              `json:"autobind,omitempty"`
	Options  map[string]string `json:"options,omitempty"`
	// Identity, if set, authenticates the IPCP's layer: the layer admits
	// only members with a certificate from Identity.CA.
	Identity *IPCPIdentity `json:"identity,omitempty"`
}

// IPCPIdentity is what authenticates a layered IPCP to the other members of
// its layer: the layer's CA certificates, which every member's certificate
// must chain to, and the IPCP's own certificate (an IPCP certificate, see
// irm cert) and private key. Each is the absolute path of a PEM file that
// irmd reads.
type IPCPIdentity struct {
	CA   []string `json:"ca,omitempty"`
	Cert string   `json:"cert,omitempty"`
	Key  string   `json:"key,omitempty"`
}

// IPCPEnroll enrolls an IPCP in an existing layer through a member.
type IPCPEnroll struct {
	Name     string `json:"name"`
	Layer    string `json:"layer,omitempty"`
	Dst      string `json:"dst,omitempty"`
	Type     string `json:"type,omitempty"`
	Autobind bool   `json:"autobind,omitempty"`
	// Identity, if set, is the IPCP's certificate and the layer's CAs:
	// needed to join a layer that authenticates its members.
	Identity *IPCPIdentity `json:"identity,omitempty"`
}

// IPCPConnect connects (or disconnects) an IPCP's component to a neighbour.
// Connecting makes an intended adjacency, kept up until disconnected.
type IPCPConnect struct {
	Name      string `json:"name"`
	Dst       string `json:"dst"`
	Component string `json:"component,omitempty"` // "dt", "mgmt" or "" for both
	QoS       string `json:"qos,omitempty"`
	// Persist keeps the intent when the adjacency cannot be set up now:
	// the reply is then ConnectRetrying, and it is retried in the
	// background. Without it, such a connect fails and keeps nothing.
	Persist bool `json:"persist,omitempty"`
}

// Connect outcomes.
const (
	ConnectUp       = "connected"         // the adjacency came up
	ConnectAlready  = "already connected" // it was up before: nothing changed
	ConnectRetrying = "retrying"          // persist: not up yet, kept and retried
)

// IPCPConnectReply answers OpIPCPConnect.
type IPCPConnectReply struct {
	Status string `json:"status"`           // ConnectUp, ConnectAlready or ConnectRetrying
	Reason string `json:"reason,omitempty"` // ConnectRetrying: why it is not up yet
}

// Intent is an intended adjacency of a layered IPCP, with its state.
type Intent struct {
	Dst       string    `json:"dst"`
	Component string    `json:"component"` // "dt" or "mgmt"
	State     string    `json:"state"`     // "up", "connecting" or "retrying"
	Since     time.Time `json:"since"`     // in this state since
	Attempts  int       `json:"attempts,omitempty"`
	LastErr   string    `json:"last_err,omitempty"`
	Next      time.Time `json:"next,omitzero"` // retrying: the next attempt
}

// Enrolment states.
const (
	EnrolEnrolling = "enrolling" // an attempt is under way
	EnrolRetrying  = "retrying"  // attempts failed; the next is at Next
	EnrolFailed    = "failed"    // the last attempt failed; nothing retries it
)

// Enrolment is a layered IPCP's enrolment while it is not done: irmd.conf's
// enrol is retried until it succeeds.
type Enrolment struct {
	Dst      string    `json:"dst"`
	State    string    `json:"state"` // EnrolEnrolling, EnrolRetrying or EnrolFailed
	Since    time.Time `json:"since"`
	Attempts int       `json:"attempts,omitempty"` // failed attempts
	LastErr  string    `json:"last_err,omitempty"`
	Next     time.Time `json:"next,omitzero"`
	// Then are the neighbours the IPCP connects to once enrolled
	// (irmd.conf's conn), so that they show before the intents exist.
	Then []string `json:"then,omitempty"`
}

// IPCPFilter selects IPCPs in a list; empty fields match everything.
type IPCPFilter struct {
	Name  string `json:"name,omitempty"`
	Layer string `json:"layer,omitempty"`
	Type  string `json:"type,omitempty"`
}

// IPCPInfo is one row of the IPCP list.
type IPCPInfo struct {
	Name  string   `json:"name"`
	Type  string   `json:"type"`
	Layer string   `json:"layer,omitempty"`
	State string   `json:"state"`           // "created", "bootstrapped", "enrolled"
	Hash  string   `json:"hash,omitempty"`  // the layer's directory hash
	Names []string `json:"names,omitempty"` // names registered in it
	Flows int      `json:"flows"`           // flows it carries
	// Detail is type-specific: the bound address, the interface.
	Detail string `json:"detail,omitempty"`
	// Counters are drops by cause (malformed, unknown-eid, ...).
	Counters map[string]uint64 `json:"counters,omitempty"`
	// Neighbours are a layered IPCP's adjacencies, each as the peer's
	// name with its components: "ucB (dt, mgmt)".
	Neighbours []string `json:"neighbours,omitempty"`
	// Admits says whom a layered IPCP's layer admits: "open" (anyone
	// who reaches a member), or "CA " and the names of the layer's CAs.
	Admits string `json:"admits,omitempty"`
	// Intents are a layered IPCP's intended adjacencies (irm ipcp
	// connect, conn in irmd.conf), with their state.
	Intents []Intent `json:"intents,omitempty"`
	// Enrolment is an enrolment not done yet, with its state.
	Enrolment *Enrolment `json:"enrolment,omitempty"`
}

// IPCPList answers OpIPCPList.
type IPCPList struct {
	IPCPs []IPCPInfo `json:"ipcps"`
}

// NameCreate creates a name with a load-balancing policy.
type NameCreate struct {
	Name string `json:"name"`
	LB   string `json:"lb,omitempty"` // "round-robin" or "spillover"
}

// NameRef names a name.
type NameRef struct {
	Name string `json:"name"`
}

// NameRegister registers (or unregisters) a name in IPCPs and layers. Names
// may hold shell-style wildcards to act on several IPCPs or layers.
type NameRegister struct {
	Name   string   `json:"name"`
	IPCPs  []string `json:"ipcps,omitempty"`
	Layers []string `json:"layers,omitempty"`
}

// NameFilter selects names by prefix.
type NameFilter struct {
	Prefix string `json:"prefix,omitempty"`
}

// NameInfo is one row of the name list.
type NameInfo struct {
	Name       string       `json:"name"`
	LB         string       `json:"lb"`
	IPCPs      []string     `json:"ipcps,omitempty"` // IPCPs the name is registered in
	Programs   []ProgramRef `json:"programs,omitempty"`
	Processes  []int        `json:"processes,omitempty"`
	BoundIPCPs []string     `json:"bound_ipcps,omitempty"`
	Accepting  int          `json:"accepting"` // processes waiting in accept
}

// ProgramRef is a program binding as listed.
type ProgramRef struct {
	Prog string   `json:"prog"`
	Auto bool     `json:"auto,omitempty"`
	Args []string `json:"args,omitempty"`
	// User is the uid whose processes of Prog serve the name, when not
	// root's; Group the gid whose members' processes do too, if any.
	User  string `json:"user,omitempty"`
	Group string `json:"group,omitempty"`
}

// NameList answers OpNameList.
type NameList struct {
	Names []NameInfo `json:"names"`
}

// BindProgram binds (or unbinds) a program to a name. With Auto, a flow
// request for the name that no process accepts starts the program with Args.
type BindProgram struct {
	Prog string   `json:"prog"`
	Name string   `json:"name,omitempty"`
	Auto bool     `json:"auto,omitempty"`
	Args []string `json:"args,omitempty"`
	// User and Group (a name or a number) say whose processes of the
	// program serve the name: those of User (default: the user who
	// binds), and those of any member of Group (default: none).
	User  string `json:"user,omitempty"`
	Group string `json:"group,omitempty"`
}

// BindProcess binds (or unbinds) a running process to a name.
type BindProcess struct {
	PID  int    `json:"pid"`
	Name string `json:"name"`
}

// BindIPCP binds (or unbinds) an IPCP to a name.
type BindIPCP struct {
	IPCP string `json:"ipcp"`
	Name string `json:"name"`
}
