package unicast

// Unreachability reports. A member that drops a FLOW_REQ because it has no
// route to the request's destination, or because the request's TTL ran
// out, tells the requester with a FLOW_UNREACH, so that the allocation
// fails at once and names the cause, instead of repeating the request
// until its deadline. The requester's own member applies the same rule to
// its first hop: with no route, the request never leaves and the
// allocation fails at once.
//
// While routing converges after a change (a neighbour lost, a link back)
// the next repeat of the request may well get through, so a member reports
// only once its routes have been unchanged for routeSettle; until then it
// drops the request silently, as before, and the requester repeats it.
// Reports are rate-limited, and never sent about anything but a FLOW_REQ,
// so a report cannot cause another.

import (
	"fmt"
	"o7s.dev/ouroboros/stack/internal/rate"
	"sync"
	"sync/atomic"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
	"o7s.dev/ouroboros/stack/unicast/dt"
)

// routeSettle is how long a member's routes must have been unchanged before
// it reports a destination unreachable. A change converges in tens of
// milliseconds (minRecompute plus flooding: with a link cut in a ring of six
// in-process members, every member's routes had stopped changing 21 ms
// later), so this leaves a wide margin for real links and still fails an
// allocation to an unreachable member within about one request repeat.
const routeSettle = 500 * time.Millisecond

// reportRate is how many FLOW_UNREACH a member sends per second at most,
// with a burst of as many.
const reportRate = 20

// Why a FLOW_REQ was dropped, the cause field of FLOW_UNREACH.
const (
	causeNoRoute = 1 // no next hop towards the destination
	causeTTL     = 2 // the TTL ran out on the way
)

func causeText(c uint8) string {
	switch c {
	case causeNoRoute:
		return "no route onwards"
	case causeTTL:
		return "TTL expired"
	}
	return "unknown cause"
}

// reporter decides when a member reports an unreachable destination.
type reporter struct {
	changed atomic.Int64 // when the member's routes last changed, Unix ns

	mu     sync.Mutex
	budget rate.Bucket
}

// routesChanged notes that the forwarding tables or the neighbours' outputs
// changed.
func (r *reporter) routesChanged(now time.Time) { r.changed.Store(now.UnixNano()) }

// settled reports whether the routes have been unchanged for routeSettle.
func (r *reporter) settled(now time.Time) bool {
	return now.Sub(time.Unix(0, r.changed.Load())) >= routeSettle
}

// allow takes a token from the report budget.
func (r *reporter) allow(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.budget.Take(now, reportRate, reportRate)
}

// reportUnreachable is called for a PDU dropped for cause: if it is a
// FLOW_REQ and the member's routes are settled, the requester is told.
func (p *IPCP) reportUnreachable(h dt.Header, sdu []byte, cause uint8) {
	if h.EID != dt.EIDFlowAllocator {
		return
	}
	m, err := parseFA(sdu)
	if err != nil || m.code != faReq {
		return // never about a report, nor about any other message
	}
	now := time.Now()
	if !p.reports.settled(now) {
		return
	}
	rep := faMsg{code: faUnreach, dstEID: m.srcEID, srcAddr: p.Addr(), dstAddr: h.Dst, result: cause}
	if m.srcAddr == p.Addr() {
		p.allocAnswer(rep) // our own request: no route from here
		return
	}
	if p.reports.allow(now) {
		p.sendInternal(m.srcAddr, dt.EIDFlowAllocator, rep.append(nil))
	}
}

// noRouteError says why an allocation to name failed on r, a FLOW_UNREACH.
func (p *IPCP) noRouteError(r faMsg, name string) string {
	if r.srcAddr == p.Addr() || r.srcAddr == addr.None {
		return fmt.Sprintf("no route to the member at %v for %q", r.dstAddr, name)
	}
	return fmt.Sprintf("no route to the member at %v for %q (%s at the member at %v on the way)",
		r.dstAddr, name, causeText(r.result), r.srcAddr)
}
