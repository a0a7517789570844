package main

import (
	"fmt"

	"o7s.dev/ouroboros/stack/ctrl"
)

func flowNode() *node {
	return &node{
		name:    "flow",
		usage:   []string{"irm flow COMMAND"},
		summary: "Inspect the flows irmd carries.",
		text:    `Flows are allocated by applications; irm only shows them.`,
		example: []string{"irm flow list"},
		subs: []*node{
			{
				name:    "list",
				usage:   []string{"irm flow list"},
				summary: "List flows with their QoS, layer, process, age and counters.",
				text: `Lists the flow ends held by processes of this host, one row each, so a
flow between two local processes has two rows. Columns: the flow end's id,
its side (alloc: the process asked for the flow; accept: it accepted it),
the name the flow was allocated to, its QoS, the layer and IPCP that carry
it, the process, how long ago the flow was allocated, and the packets and
bytes (SDUs, as irmd counts them) the process sent and received.`,
				example: []string{"irm flow list"},
				parse:   parseFlowList,
			},
		},
	}
}

func parseFlowList(args []string) (*command, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("unexpected %q: flow list takes no arguments", args[0])
	}
	// The request has no fields; an empty object keeps it a valid body.
	return &command{op: ctrl.OpFlowList, req: struct{}{}, reply: new(flowList)}, nil
}
