//go:build race

package simnet

// raceEnabled says the race detector is on: it slows the simulation several
// times over, so the largest tests sample instead of trying everything.
const raceEnabled = true
