package schema

// The load-balancing policies of a name: how flows are spread over the
// processes accepting for it.
const (
	// LBRoundRobin hands successive flows to successive processes.
	LBRoundRobin = "round-robin"
	// LBSpillover hands flows to the first process that is accepting,
	// spilling over to the next only while it is busy.
	LBSpillover = "spillover"
)

// LB is the lb value of a name: irmd.conf's lb key and irm name create's
// lb keyword. The aliases are the reference's spellings.
func LB() Option {
	return Option{Key: "lb", Kind: Word, Words: []string{LBRoundRobin, LBSpillover},
		Aliases: map[string]string{"spill": LBSpillover, "rr": LBRoundRobin}, Default: LBSpillover,
		Help: "how flows are spread over the processes accepting for the name"}
}
