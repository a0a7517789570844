package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Offsets in the management messages read back (after the 6-byte header).
const (
	replySrcAt    = 6  // FLOW_REPLY: the server's eid
	replyDstAt    = 10 // FLOW_REPLY: ours
	replyResultAt = 38 // after the server's token and commit
	cookieLen     = 6 + 4 + secretLen
)

// replies counts the target's answers.
type replies struct {
	mu         sync.Mutex
	ok         int
	refused    int
	cookies    int // COOKIEs received, each answered by repeating the request
	deallocs   int
	other      int
	sendErrors int
	reasons    map[string]int
}

// read answers and counts what the target sends until c is closed: a
// COOKIE is answered by repeating the request with it, a granted flow is
// ended at once with dealloc. w is the reader's own writer.
func (r *replies) read(c net.Conn, w *writer, dealloc bool) {
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
		if out := r.reply(w, buf[:n], dealloc); out != nil {
			if _, err := c.Write(out); err != nil {
				r.countSendError(err)
			}
		}
	}
}

// reply counts one datagram and returns what to send back, if anything.
func (r *replies) reply(w *writer, p []byte, dealloc bool) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case len(p) < 6 || binary.BigEndian.Uint32(p) != 0 || p[4] != shimVersion:
	case p[5] == codeCookie && len(p) == cookieLen:
		r.cookies++
		return w.request(binary.BigEndian.Uint32(p[6:]), p[10:cookieLen])
	case p[5] == codeFlowReply && len(p) >= replyResultAt+2:
		return r.flowReply(w, p, dealloc)
	}
	r.other++
	return nil
}

// flowReply counts a FLOW_REPLY by its result and returns the DEALLOC that
// ends a granted flow if dealloc.
func (r *replies) flowReply(w *writer, p []byte, dealloc bool) []byte {
	result, reasonLen := p[replyResultAt], int(p[replyResultAt+1])
	if result == 0 {
		r.ok++
		if !dealloc {
			return nil
		}
		r.deallocs++
		return w.dealloc(binary.BigEndian.Uint32(p[replyDstAt:]), binary.BigEndian.Uint32(p[replySrcAt:]))
	}
	r.refused++
	reason := ""
	if at := replyResultAt + 2; len(p) >= at+reasonLen {
		reason = string(p[at : at+reasonLen])
	}
	reason = shorten(reason)
	if _, ok := r.reasons[reason]; !ok && len(r.reasons) >= maxReasons {
		reason = "(other reasons)"
	}
	r.reasons[reason]++
	return nil
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
	fmt.Printf("cookies: %d received, each answered by repeating its request with it\n", r.cookies)
	fmt.Printf("replies: %d accepted, %d refused, %d other; %d send errors\n", r.ok, r.refused, r.other, r.sendErrors)
	fmt.Printf("deallocs: %d sent\n", r.deallocs)
	keys := make([]string, 0, len(r.reasons))
	for k := range r.reasons {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return r.reasons[keys[i]] > r.reasons[keys[j]] })
	for _, k := range keys {
		fmt.Printf("refused %d: %s\n", r.reasons[k], k)
	}
}
