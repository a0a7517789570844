package schema

func localType() Type {
	return Type{Name: Local, Summary: "A layer inside the host, for the programs on it.",
		Options: []Option{hashOption()}}
}

func broadcastType() Type {
	return Type{Name: Broadcast, Summary: "A layer in which what one member sends, every member receives.",
		Layered: true}
}
