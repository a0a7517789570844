package unicast

import (
	"bytes"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/qos"
	"o7s.dev/ouroboros/stack/unicast/addr"
)

func TestCEPRoundTrip(t *testing.T) {
	m := cep{typ: cepAccept, component: compEnroll, nodeID: 42, addr: 0x0a0b, name: "ucA", layer: "corp", body: []byte{1, 2, 3}}
	b := m.append(nil)
	if !isCEP(b) {
		t.Fatal("an encoded CEP is not recognised as one")
	}
	got, err := parseCEP(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.typ != m.typ || got.component != m.component || got.nodeID != m.nodeID || got.addr != m.addr ||
		got.name != m.name || got.layer != m.layer || !bytes.Equal(got.body, m.body) {
		t.Fatalf("round trip: %+v, want %+v", got, m)
	}
}

func TestCEPRejects(t *testing.T) {
	good := (&cep{typ: cepConnect, component: compDT, nodeID: 1, addr: 2, name: "a"}).append(nil)
	for name, b := range map[string][]byte{
		"empty":     nil,
		"short":     good[:12],
		"version":   append(append(append([]byte{}, good[:8]...), 9), good[9:]...),
		"type":      append(append(append([]byte{}, good[:9]...), 9), good[10:]...),
		"component": append(append(append([]byte{}, good[:10]...), 7), good[11:]...),
		"name len":  append(append([]byte{}, good[:28]...), 200),
	} {
		if _, err := parseCEP(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestEnrollmentRoundTrip(t *testing.T) {
	cfg, err := ParseOptions("corp", map[string]string{"addr": "8", "routing": "lfa", "congestion": "none",
		"hash": "SHA3_512", "ttl": "9", "dht_k": "5", "ls_t_dead": "400"})
	if err != nil {
		t.Fatal(err)
	}
	e := enrollment{assigned: 0x1234567890, clock: time.Unix(0, 1700000000123456789), cfg: cfg}
	got, err := parseEnrollment("corp", e.append(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got.assigned != e.assigned || !got.clock.Equal(e.clock) || got.cfg != cfg {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, e)
	}
}

func TestEnrollmentRejectsAddressBeyondSize(t *testing.T) {
	cfg := DefaultConfig("corp")
	e := enrollment{assigned: addr.Max(4) + 1, clock: time.Now(), cfg: cfg}
	if _, err := parseEnrollment("corp", e.append(nil)); err == nil {
		t.Fatal("an address beyond 4 bytes was accepted")
	}
}

func TestFARoundTrip(t *testing.T) {
	for _, m := range []faMsg{
		{code: faReq, srcAddr: 7, srcEID: 99, qos: qos.Voice, hash: bytes.Repeat([]byte{0xab}, 32)},
		{code: faReply, result: 1, srcAddr: 8, dstEID: 99, srcEID: 100, reason: "no"},
		{code: faUpdate, dstEID: 5, ece: 300},
		{code: faDealloc, dstEID: 5, srcEID: 6},
		{code: faUnreach, dstEID: 5, srcAddr: 8, dstAddr: 9, result: causeTTL},
	} {
		got, err := parseFA(m.append(nil))
		if err != nil {
			t.Fatalf("code %d: %v", m.code, err)
		}
		if !bytes.Equal(got.append(nil), m.append(nil)) {
			t.Fatalf("code %d: round trip %+v, want %+v", m.code, got, m)
		}
	}
}

func TestParseOptionsErrorsNameTheOption(t *testing.T) {
	for opt, val := range map[string]string{"addr": "5", "ttl": "0", "routing": "rip", "dht_k": "50",
		"ls_t_dead": "5", "eid": "4", "congestion": "cubic", "frob": "1"} {
		_, err := ParseOptions("l", map[string]string{opt: val})
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(opt)) {
			t.Errorf("%s %s: error %v does not name the option", opt, val, err)
		}
	}
	if _, err := ParseOptions("l", map[string]string{"ls_t_update": "60", "ls_t_timeo": "30"}); err == nil {
		t.Error("ls_t_timeo shorter than ls_t_update was accepted")
	}
}

func FuzzParseCEP(f *testing.F) {
	f.Add((&cep{typ: cepConnect, component: compMgmt, nodeID: 1, addr: 2, name: "x", layer: "y"}).append(nil))
	f.Add((&cep{typ: cepKeepalive, nodeID: 1, addr: 2}).append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseCEP(b)
		if err != nil {
			return
		}
		again, err := parseCEP(m.append(nil))
		if err != nil || again.name != m.name || again.layer != m.layer || !bytes.Equal(again.body, m.body) {
			t.Fatalf("re-encoding a parsed CEP: %v", err)
		}
	})
}

func FuzzParseFA(f *testing.F) {
	f.Add((&faMsg{code: faReq, srcAddr: 7, srcEID: 99, qos: qos.Data, hash: []byte{1, 2}}).append(nil))
	f.Add((&faMsg{code: faReply, srcAddr: 7, dstEID: 1, srcEID: 2, reason: "r"}).append(nil))
	f.Add((&faMsg{code: faUpdate, dstEID: 1, ece: 2}).append(nil))
	f.Add((&faMsg{code: faDealloc, dstEID: 1, srcEID: 2}).append(nil))
	f.Add((&faMsg{code: faUnreach, dstEID: 1, srcAddr: 2, dstAddr: 3, result: causeNoRoute}).append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseFA(b)
		if err != nil {
			return
		}
		if _, err := parseFA(m.append(nil)); err != nil {
			t.Fatalf("re-encoding a parsed FA message: %v", err)
		}
	})
}

func FuzzParseEnrollment(f *testing.F) {
	cfg := DefaultConfig("l")
	f.Add((&enrollment{assigned: 5, clock: time.Unix(1, 0), cfg: cfg}).append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := parseEnrollment("l", b)
		if err != nil {
			return
		}
		if _, err := parseEnrollment("l", e.append(nil)); err != nil {
			t.Fatalf("re-encoding a parsed enrollment: %v", err)
		}
	})
}
