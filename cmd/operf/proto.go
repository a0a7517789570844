package main

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Every operf SDU starts with its kind:
//
//	hello   client → server  [1][mode]            once, before any data
//	data    both ways        [2][filler ...]      the measured traffic
//	end     client → server  [3]                  after the last data
//	report  server → client  [4][packets][bytes][nanoseconds], each u64 big-endian
//
// The server answers end with a report of what it received, so the client
// prints what actually arrived, not only what it sent. In bi mode the server
// echoes every data SDU as it is, and sends the report after the last echo.
const (
	kindHello  byte = 1
	kindData   byte = 2
	kindEnd    byte = 3
	kindReport byte = 4
)

const reportLen = 1 + 3*8

// mode says whether the server echoes the data back.
type mode byte

const (
	modeUni mode = 1 // client sends, server counts
	modeBi  mode = 2 // client sends, server counts and echoes, client counts
)

func (m mode) String() string {
	switch m {
	case modeUni:
		return "uni"
	case modeBi:
		return "bi"
	}
	return fmt.Sprintf("mode(%d)", byte(m))
}

// Set makes mode a flag.Value.
func (m *mode) Set(s string) error {
	switch s {
	case "uni":
		*m = modeUni
	case "bi":
		*m = modeBi
	default:
		return fmt.Errorf("%q: the test type is uni or bi", s)
	}
	return nil
}

func encodeHello(m mode) []byte { return []byte{kindHello, byte(m)} }

func decodeHello(b []byte) (mode, error) {
	if len(b) != 2 || b[0] != kindHello || (mode(b[1]) != modeUni && mode(b[1]) != modeBi) {
		return 0, fmt.Errorf("bad hello % x", b)
	}
	return mode(b[1]), nil
}

// tally counts data SDUs: how many, how many bytes, over how long.
type tally struct {
	packets uint64
	bytes   uint64
	elapsed time.Duration
}

func (t *tally) add(packets, bytes uint64) {
	t.packets += packets
	t.bytes += bytes
}

func (t tally) encode() []byte {
	b := make([]byte, reportLen)
	b[0] = kindReport
	binary.BigEndian.PutUint64(b[1:], t.packets)
	binary.BigEndian.PutUint64(b[9:], t.bytes)
	binary.BigEndian.PutUint64(b[17:], uint64(t.elapsed))
	return b
}

func decodeReport(b []byte) (tally, error) {
	if len(b) != reportLen || b[0] != kindReport {
		return tally{}, fmt.Errorf("bad report of %d bytes", len(b))
	}
	return tally{
		packets: binary.BigEndian.Uint64(b[1:]),
		bytes:   binary.BigEndian.Uint64(b[9:]),
		elapsed: time.Duration(binary.BigEndian.Uint64(b[17:])),
	}, nil
}
