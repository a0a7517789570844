package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/schema"
)

// lbPolicy is the lb option of a name; irm name create defaults it to
// round-robin, as the reference's irm does.
var lbPolicy = schema.LB()

func nameNode() *node {
	return &node{
		name:    "name",
		usage:   []string{"irm name COMMAND [ARGS]..."},
		summary: "Manage the names that applications are reached by.",
		text: `A name is what a flow is allocated to. Registering it in a layer makes it
reachable through that layer; binding programs or processes to it (see
"irm bind") says who answers.`,
		example: []string{"irm name list"},
		subs: []*node{
			{
				name:    "create",
				usage:   []string{"irm name create N [lb " + strings.Join(lbPolicy.Words, "|") + "]"},
				summary: "Create a name.",
				text: `Creates name N. lb says how new flows are spread over the processes
bound to it: round-robin (the default here) takes turns, spillover fills
the first process before using the next. Names that irmd creates
implicitly (by "irm name register" or "irm bind") use spillover.`,
				example: []string{"irm name create oping.server lb spillover"},
				parse:   parseNameCreate,
			},
			{
				name:    "destroy",
				usage:   []string{"irm name destroy N"},
				summary: "Destroy a name, its registrations and bindings.",
				text:    `Destroys name N: it is unregistered from every layer and its bindings go.`,
				example: []string{"irm name destroy oping.server"},
				parse:   parseNameDestroy,
			},
			{
				name:    "register",
				usage:   []string{"irm name register N {ipcp I | layer L}..."},
				summary: "Make a name reachable through IPCPs or layers.",
				text: `Registers name N in IPCP I or in the IPCP of this host that is a member
of layer L. Repeat "ipcp I" and "layer L" as often as needed; at least one
is required. I and L may use shell wildcards ("layer '*'" registers in
every layer). The name is created if it does not exist.`,
				example: []string{"irm name register oping.server layer local layer net"},
				parse:   parseNameRegister,
			},
			{
				name:    "unregister",
				usage:   []string{"irm name unregister N {ipcp I | layer L}..."},
				summary: "Withdraw a name from IPCPs or layers.",
				text:    `Undoes "irm name register" for the IPCPs and layers given.`,
				example: []string{"irm name unregister oping.server layer net"},
				parse:   parseNameUnregister,
			},
			{
				name:    "list",
				usage:   []string{"irm name list [PREFIX]"},
				summary: "List names.",
				text: `Lists the names that start with PREFIX (all names without it): the
load-balancing policy, the IPCPs each is registered in, the programs,
processes and IPCPs bound to it, and how many processes wait in accept.`,
				example: []string{"irm name list oping"},
				parse:   parseNameList,
			},
		},
	}
}

func parseNameCreate(args []string) (*command, error) {
	name, rest, err := positional(args, "name N")
	if err != nil {
		return nil, err
	}
	m, err := scanArgs(rest, grammar{values: []string{"lb"}})
	if err != nil {
		return nil, err
	}
	req := ctrl.NameCreate{Name: name, LB: schema.LBRoundRobin}
	if m.has("lb") {
		lb, p := lbPolicy.Check("", m.get("lb"))
		if p != "" {
			return nil, &schema.Error{Name: "lb", Value: m.get("lb"), Problem: p}
		}
		req.LB = lb
	}
	return &command{op: ctrl.OpNameCreate, req: req}, nil
}

func parseNameDestroy(args []string) (*command, error) {
	name, rest, err := positional(args, "name N")
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("unexpected %q after the name", rest[0])
	}
	return &command{op: ctrl.OpNameDestroy, req: ctrl.NameRef{Name: name}}, nil
}

func parseNameRegister(args []string) (*command, error) {
	req, err := registerRequest(args)
	if err != nil {
		return nil, err
	}
	return &command{op: ctrl.OpNameRegister, req: req}, nil
}

func parseNameUnregister(args []string) (*command, error) {
	req, err := registerRequest(args)
	if err != nil {
		return nil, err
	}
	return &command{op: ctrl.OpNameUnregister, req: req}, nil
}

// registerRequest reads the arguments register and unregister share.
func registerRequest(args []string) (ctrl.NameRegister, error) {
	var req ctrl.NameRegister
	name, rest, err := positional(args, "name N")
	if err != nil {
		return req, err
	}
	g := grammar{values: []string{"ipcp", "layer"}, repeat: []string{"ipcp", "layer"}}
	m, err := scanArgs(rest, g)
	if err != nil {
		return req, err
	}
	req = ctrl.NameRegister{Name: name, IPCPs: m["ipcp"], Layers: m["layer"]}
	if len(req.IPCPs) == 0 && len(req.Layers) == 0 {
		return req, errors.New("missing ipcp I or layer L: say where the name goes")
	}
	for _, v := range slices.Concat(req.IPCPs, req.Layers) {
		if v == "" {
			return req, errors.New("empty value for ipcp or layer")
		}
	}
	return req, nil
}

func parseNameList(args []string) (*command, error) {
	if len(args) > 1 {
		return nil, fmt.Errorf("unexpected %q: name list takes at most one PREFIX", args[1])
	}
	var req ctrl.NameFilter
	if len(args) == 1 {
		req.Prefix = args[0]
	}
	return &command{op: ctrl.OpNameList, req: req, reply: new(nameList)}, nil
}
