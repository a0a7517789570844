package main

import (
	"errors"
	"fmt"
	"strings"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/qos"
	"o7s.dev/ouroboros/stack/schema"
)

// ipcpTypes lists the IPCP types, lower layers first.
var ipcpTypes = schema.Names()

// enrollTypes are the types that join an existing layer; the shims and the
// local layer are only ever bootstrapped.
var enrollTypes = autobindTypes()

// components are the parts of a unicast IPCP that connect to a neighbour.
var components = []string{"dt", "mgmt"}

func ipcpNode() *node {
	return &node{
		name:    "ipcp",
		usage:   []string{"irm ipcp COMMAND [ARGS]..."},
		summary: "Manage IPC processes (IPCPs) and the layers they form.",
		text: `An IPCP is a member of one layer. Create it, then bootstrap it (start a
new layer) or enroll it (join an existing layer through a member); a
unicast IPCP then connects to its neighbours.`,
		example: []string{"irm ipcp list"},
		subs: []*node{
			{
				name:    "create",
				usage:   []string{"irm ipcp create name N type TYPE"},
				summary: "Create an IPCP.",
				text: `Creates IPCP N of type TYPE, one of:
  ` + strings.Join(ipcpTypes, ", ") + `
The IPCP belongs to no layer until it is bootstrapped or enrolled.`,
				example: []string{"irm ipcp create name local.ipcp type local"},
				parse:   parseIPCPCreate,
			},
			{
				name:    "destroy",
				usage:   []string{"irm ipcp destroy name N"},
				summary: "Destroy an IPCP and the flows it carries.",
				text:    `Destroys IPCP N. The flows it carries end, and its registrations go with it.`,
				example: []string{"irm ipcp destroy name local.ipcp"},
				parse:   parseIPCPDestroy,
			},
			{
				name: "bootstrap",
				usage: []string{
					"irm ipcp bootstrap name N layer L [type TYPE] [autobind] [ca FILE]... [cert FILE key FILE] [OPTION VALUE]...",
				},
				summary: "Start a new layer with an IPCP, creating the IPCP if needed.",
				text:    bootstrapText,
				example: []string{
					"irm ipcp bootstrap name local.ipcp layer local type local",
					"irm ipcp bootstrap name udp.ipcp layer udp type udp4 ip 192.0.2.1 port 3435",
					"irm ipcp bootstrap name net.ipcp layer net type unicast autobind routing lfa",
					"irm ipcp bootstrap name net.a layer net type unicast autobind ca /etc/ouroboros/ca/net.ca.crt " +
						"cert /etc/ouroboros/certs/net.a.crt key /etc/ouroboros/certs/net.a.key",
				},
				parse: parseIPCPBootstrap,
			},
			{
				name: "enroll",
				usage: []string{
					"irm ipcp enroll name N [layer L] [dst D] [type unicast|broadcast] [autobind] [ca FILE]... [cert FILE key FILE]",
				},
				summary: "Join an existing layer through one of its members.",
				text: `Enrolls IPCP N in an existing layer by contacting member D, which must be
reachable by name through a lower layer: D defaults to the layer name L,
which the members bind to (autobind) and register in the lower layers;
give at least one of them. If N does not exist, it is created, of type
TYPE (default unicast). autobind then binds the IPCP to its own name and
to the layer name, so that others can enroll through it and connect to
it. irmd gives up after 4 seconds if D does not answer, and says why.

A unicast layer bootstrapped with ca admits only IPCPs with a certificate
from one of its CAs. To join one, give cert and key, an IPCP certificate
for N ("irm cert issue ... kind ipcp") and its private key, and ca, the
CA files the members' certificates must come from (repeat ca for
several). A layer bootstrapped without ca is open and needs none of
them. Relative paths are taken from the current directory, and irmd
reads the files.`,
				example: []string{
					"irm ipcp enroll name net.b layer net autobind",
					"irm ipcp enroll name net.b layer net autobind ca /etc/ouroboros/ca/net.ca.crt " +
						"cert /etc/ouroboros/certs/net.b.crt key /etc/ouroboros/certs/net.b.key",
				},
				parse: parseIPCPEnroll,
			},
			{
				name:    "connect",
				usage:   []string{"irm ipcp connect name N dst D [component dt|mgmt] [qos raw|best|video|voice|data] [persist]"},
				summary: "Connect a unicast IPCP to a neighbour, and keep it connected.",
				text:    connectText,
				example: []string{
					"irm ipcp connect name net.b dst net.a component dt qos raw",
					"irm ipcp connect name net.b dst net.c persist",
				},
				parse: parseIPCPConnect,
			},
			{
				name:    "disconnect",
				usage:   []string{"irm ipcp disconnect name N dst D [component dt|mgmt]"},
				summary: "Disconnect a unicast IPCP from a neighbour, and stop keeping it connected.",
				text: `Undoes "irm ipcp connect" (or a conn of irmd.conf): removes the intended
adjacency, whether it is up or still being retried, and takes the
adjacency down. Without component, both components disconnect. Exits 0
when an intent or an adjacency was removed; fails only if there was
neither. The neighbour may connect again if it has an intent of its own.`,
				example: []string{"irm ipcp disconnect name net.b dst net.a"},
				parse:   parseIPCPDisconnect,
			},
			{
				name:    "list",
				usage:   []string{"irm ipcp list [name N] [layer L] [type TYPE]"},
				summary: "List IPCPs.",
				text: `Lists the IPCPs of this host with their type, layer, state, the layer's
directory hash, the flows they carry, the names registered in them, their
address (the bound address of a UDP IPCP, the interface of an Ethernet
one, the address in the layer of a unicast one) and the packets they
dropped. When some IPCP is in a unicast layer, an ADMITS column says whom
its layer admits: open (any IPCP that reaches a member), or the CAs a
member's certificate must come from. When an IPCP has neighbours or
intended adjacencies, a
NEIGHBOURS column lists its neighbours with their connected components,
then the intended adjacencies that are not up with their state, as in
"ucC (dt: retrying, mgmt: retrying)"; "irm ipcp show" has the details.
Each filter given must match.`,
				example: []string{"irm ipcp list type unicast"},
				parse:   parseIPCPList,
			},
			{
				name:    "show",
				usage:   []string{"irm ipcp show name N"},
				summary: "Show one IPCP in full: its adjacencies, intended and up, and its enrolment.",
				text: `Shows IPCP N as "irm ipcp list" does, one field a line, and then:
  intents    the intended adjacencies ("irm ipcp connect", conn in
             irmd.conf), each with its state: up, connecting, or
             retrying with the failed attempts, the last error and
             when the next attempt is due
  enrolment  an enrolment not done yet (enrol in irmd.conf is retried
             until it succeeds): enrolling, retrying (attempts, last
             error, next attempt) or failed`,
				example: []string{"irm ipcp show name net.b"},
				parse:   parseIPCPShow,
			},
		},
	}
}

const connectText = `Connects a component of IPCP N to the neighbour IPCP D in the same layer,
over a flow of a lower layer to D's name: dt (data transfer, which
carries the layer's traffic) or mgmt (management: routing and
directory). Without component both are connected. qos is the QoS of the
data transfer flow underneath (default raw).

The adjacency is intended: N keeps it up, and sets it up again whenever
it drops (the neighbour's irmd restarts, a lower link flaps), until
"irm ipcp disconnect". irm exits 0 once it is up, and says "already
connected" if it was (whichever side connected first: the two members
keep one adjacency per component). If it cannot be set up within 4
seconds, irm fails with the reason (refused, unreachable, revoked) and
N keeps nothing. With persist, N keeps the intent all the same and
retries in the background: irm then says "not up yet: REASON; retrying
in the background (persist)" and exits 0, which is what conn in
irmd.conf does. "irm ipcp show name N" shows each intent's state.`

var bootstrapText = `Bootstraps IPCP N as the first member of a new layer L. If N does not
exist, it is created with the given type; if it does, type may be left
out. autobind (unicast and broadcast only) binds the IPCP to its own name
and to the layer name, so that others can enroll through it.

A unicast layer bootstrapped with ca FILE is authenticated: it admits
only IPCPs with an IPCP certificate ("irm cert issue kind ipcp") from one
of the CAs in FILE; repeat ca for several files. cert and key, given
together, are this IPCP's own certificate and private key. A layer
bootstrapped without ca is open: any IPCP that reaches a member can
enroll. Relative paths are taken from the current directory, and irmd
reads the files. The other types take none of these.

` + schema.HelpOptions() + `

irm checks each option and its value against the same table that
irmd.conf and the IPCP use; irmd checks the rest. This release has no
broadcast layers yet: irmd answers "not supported yet" for them.`

func parseIPCPCreate(args []string) (*command, error) {
	m, err := scanArgs(args, grammar{values: []string{"name", "type"}})
	if err != nil {
		return nil, err
	}
	var req ctrl.IPCPCreate
	if req.Name, err = m.need("name", "N"); err != nil {
		return nil, err
	}
	if req.Type, err = m.need("type", "TYPE"); err != nil {
		return nil, err
	}
	if err := oneOf("type", req.Type, ipcpTypes); err != nil {
		return nil, err
	}
	return &command{op: ctrl.OpIPCPCreate, req: req}, nil
}

func parseIPCPDestroy(args []string) (*command, error) {
	m, err := scanArgs(args, grammar{values: []string{"name"}})
	if err != nil {
		return nil, err
	}
	var req ctrl.IPCPRef
	if req.Name, err = m.need("name", "N"); err != nil {
		return nil, err
	}
	return &command{op: ctrl.OpIPCPDestroy, req: req}, nil
}

func parseIPCPEnroll(args []string) (*command, error) {
	m, err := scanArgs(args, grammar{
		values: []string{"name", "layer", "dst", "type"},
		flags:  []string{"autobind"},
		late:   identityKeys,
		repeat: []string{"ca"},
	})
	if err != nil {
		return nil, err
	}
	req := ctrl.IPCPEnroll{Layer: m.get("layer"), Dst: m.get("dst"), Autobind: m.has("autobind")}
	if req.Name, err = m.need("name", "N"); err != nil {
		return nil, err
	}
	if req.Dst == "" {
		req.Dst = req.Layer
	}
	if req.Dst == "" {
		return nil, errors.New("missing layer L or dst D: name the layer to join or the member to enroll through")
	}
	if m.has("type") {
		req.Type = m.get("type")
		if err := oneOf("type", req.Type, enrollTypes); err != nil {
			return nil, fmt.Errorf("%v (only these types enroll; the others are bootstrapped)", err)
		}
	}
	if req.Identity, err = identity(m, req.Type); err != nil {
		return nil, err
	}
	return &command{op: ctrl.OpIPCPEnroll, req: req, timeout: remoteTimeout}, nil
}

func parseIPCPConnect(args []string) (*command, error) {
	m, err := scanArgs(args, grammar{values: []string{"name", "dst", "component", "qos"}, flags: []string{"persist"}})
	if err != nil {
		return nil, err
	}
	req, err := connectRequest(m)
	if err != nil {
		return nil, err
	}
	if m.has("qos") {
		spec, err := qos.Parse(m.get("qos"))
		if err != nil {
			return nil, fmt.Errorf("bad qos %q: want one of %s", m.get("qos"), strings.Join(qos.Names, ", "))
		}
		req.QoS = spec.String() // the canonical name, so that "be" reaches irmd as "best"
	}
	req.Persist = m.has("persist")
	return &command{op: ctrl.OpIPCPConnect, req: req, reply: new(connectReply), timeout: remoteTimeout}, nil
}

func parseIPCPDisconnect(args []string) (*command, error) {
	m, err := scanArgs(args, grammar{values: []string{"name", "dst", "component"}})
	if err != nil {
		return nil, err
	}
	req, err := connectRequest(m)
	if err != nil {
		return nil, err
	}
	return &command{op: ctrl.OpIPCPDisconnect, req: req}, nil
}

// connectRequest reads the arguments connect and disconnect share.
func connectRequest(m argMap) (ctrl.IPCPConnect, error) {
	var req ctrl.IPCPConnect
	var err error
	if req.Name, err = m.need("name", "N"); err != nil {
		return req, err
	}
	if req.Dst, err = m.need("dst", "D"); err != nil {
		return req, err
	}
	if m.has("component") {
		req.Component = m.get("component")
		if err := oneOf("component", req.Component, components); err != nil {
			return req, err
		}
	}
	return req, nil
}

func parseIPCPList(args []string) (*command, error) {
	m, err := scanArgs(args, grammar{values: []string{"name", "layer", "type"}})
	if err != nil {
		return nil, err
	}
	req := ctrl.IPCPFilter{Name: m.get("name"), Layer: m.get("layer"), Type: m.get("type")}
	if m.has("type") {
		if err := oneOf("type", req.Type, ipcpTypes); err != nil {
			return nil, err
		}
	}
	return &command{op: ctrl.OpIPCPList, req: req, reply: new(ipcpList)}, nil
}

func parseIPCPShow(args []string) (*command, error) {
	m, err := scanArgs(args, grammar{values: []string{"name"}})
	if err != nil {
		return nil, err
	}
	var req ctrl.IPCPFilter
	if req.Name, err = m.need("name", "N"); err != nil {
		return nil, err
	}
	return &command{op: ctrl.OpIPCPList, req: req, reply: &ipcpShow{name: req.Name}}, nil
}
