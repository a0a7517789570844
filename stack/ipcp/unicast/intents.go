package unicast

// Intended adjacencies. Connect adds an intent (a neighbour and a
// component) to a set; the set alone says what should be connected. Each
// intent has one goroutine (keep) that sets it up and, whenever no member
// flow serves it, sets it up again, backing off between attempts, until
// Disconnect removes it or the IPCP closes. A member flow serves an intent
// whoever set it up: the peer's connect to us does as well as ours to it.
//
// States, logged once per change:
//
//	connecting ──► up ──(flow ends)──► connecting
//	     │          ▲
//	     ▼          │
//	retrying ───────┘  (next attempt at Next; Attempts, LastErr)
//
// One adjacency per pair of members and component: when a second member
// flow for the same peer and component comes up (both connected at once,
// or one connects to a member that already connected to it), both sides
// keep the flow set up by the member with the lower node id and take the
// other down (addMember). A member refuses a CONNECT that would lose at
// once (checkDuplicate), and the loser waits for the winning flow.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
)

// Attempts and the waits between them.
const (
	// attemptFirst bounds the first attempt of an intent: long enough
	// for a lower flow allocation, its key exchange and the CEP exchange
	// on a working path, short enough that a neighbour who is down is
	// reported at once. Later attempts double it, up to attemptMax.
	attemptFirst = 2 * time.Second
	attemptMax   = 20 * time.Second
	// retryFirst is the wait after the first failure, doubled after each
	// failure up to retryMax.
	retryFirst = 250 * time.Millisecond
	retryMax   = 10 * time.Second
)

// adjacencies is the state of member flows and intended adjacencies, under
// its own lock. Lock order: p.mu is never taken with adjacencies.mu held.
type adjacencies struct {
	mu      sync.Mutex
	closed  bool
	members map[*memberFlow]struct{} // established member flows
	intents map[intentKey]*intent    // intended adjacencies
	changed chan struct{}            // closed at every change of members, then replaced
}

func newAdjacencies() adjacencies {
	return adjacencies{members: map[*memberFlow]struct{}{}, intents: map[intentKey]*intent{},
		changed: make(chan struct{})}
}

// close marks the adjacencies closing, so that no member flow is added,
// and returns the member flows.
func (a *adjacencies) close() []*memberFlow {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	out := make([]*memberFlow, 0, len(a.members))
	for f := range a.members {
		out = append(out, f)
	}
	return out
}

// changedLocked wakes whoever waits for members to change.
func (a *adjacencies) changedLocked() {
	close(a.changed)
	a.changed = make(chan struct{})
}

// intentKey names an intended adjacency: the neighbour as connect named it
// and the component.
type intentKey struct {
	dst  string
	comp uint8
}

// intent is an intended adjacency. Its fields after stop are guarded by
// adjacencies.mu.
type intent struct {
	key  intentKey
	q    qos.Spec
	ctx  context.Context // ends when the intent is removed or the IPCP closes
	stop context.CancelFunc

	// tentative: removed if its first attempt fails (connect without
	// persist); cleared once it is up.
	tentative bool
	// persisted: a connect with persist asked for it as well, so the
	// connect that made it may not take it back.
	persisted bool
	first     chan struct{} // closed once the first attempt succeeded or failed
	firstErr  error         // why the first attempt failed
	changed   chan struct{} // closed at every change of state, then replaced

	peer     string // the member's name, learned when first up
	state    string
	since    time.Time
	attempts int
	lastErr  error
	next     time.Time
}

// serves reports whether f serves the intent; adjacencies.mu held.
func (in *intent) serves(f *memberFlow) bool {
	return f.comp == in.key.comp && (f.peerName == in.key.dst || (in.peer != "" && f.peerName == in.peer))
}

// servedLocked returns a member flow that serves in, or nil.
func (a *adjacencies) servedLocked(in *intent) *memberFlow {
	for f := range a.members {
		if in.serves(f) {
			return f
		}
	}
	return nil
}

// Connect implements ipcp.Layered.
func (p *IPCP) Connect(ctx context.Context, dst, component string, q qos.Spec, persist bool) (ipcp.ConnectResult, error) {
	comps, err := parseComponents(component)
	if err != nil {
		return ipcp.ConnectResult{}, err
	}
	p.mu.Lock()
	in := p.inLayerLocked()
	p.mu.Unlock()
	if !in {
		return ipcp.ConnectResult{}, ctrl.Errorf(ctrl.CodeInvalid, "IPCP %s is in no layer: bootstrap or enroll it first", p.name)
	}
	// The first attempt has most of the caller's time, as much as a later
	// one may: it must fail before the caller gives up, to say why.
	first := attemptFirst
	if d, ok := ctx.Deadline(); ok {
		first = min(time.Until(d)*9/10, attemptMax)
	}
	made, had, err := p.addIntents(dst, comps, q, persist, first)
	if err != nil {
		return ipcp.ConnectResult{}, err
	}
	res := ipcp.ConnectResult{Already: len(made) == 0 && len(had) == 0}
	var failed error
	for i, in := range append(made, had...) {
		if err := p.awaitUp(ctx, in, i < len(made)); err != nil && failed == nil {
			failed = fmt.Errorf("%s to %s: %w", componentName(in.key.comp), dst, err)
		}
	}
	switch {
	case failed == nil:
		return res, nil
	case persist:
		return ipcp.ConnectResult{Pending: failed}, nil
	}
	// Without persist a failed connect keeps nothing it made (but what
	// a connect with persist asked for meanwhile).
	for _, in := range made {
		p.dropIntent(in)
	}
	return ipcp.ConnectResult{}, failed
}

// addIntents adds the intents for dst's components in one step, and
// returns those it made (each with its keep goroutine started) and those
// that were there already and are not up. Intents already up, or served by
// a member flow that the peer set up, are neither.
func (p *IPCP) addIntents(dst string, comps []uint8, q qos.Spec, persist bool, first time.Duration) (made, had []*intent, err error) {
	a := &p.adj
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, nil, ctrl.Errorf(ctrl.CodeDown, "IPCP %s is shutting down", p.name)
	}
	now := time.Now()
	for _, c := range comps {
		k := intentKey{dst: dst, comp: c}
		if in, ok := a.intents[k]; ok {
			if persist {
				in.tentative, in.persisted = false, true
			}
			if in.state != ipcp.IntentUp {
				had = append(had, in)
			}
			continue
		}
		fq := q
		if c == compMgmt {
			fq = qos.Raw
		}
		ctx, stop := context.WithCancel(p.ctx)
		in := &intent{key: k, q: fq, ctx: ctx, stop: stop, tentative: !persist, first: make(chan struct{}),
			changed: make(chan struct{}), state: ipcp.IntentConnecting, since: now}
		a.intents[k] = in
		bound := first
		if f := a.servedLocked(in); f != nil {
			// The peer connected to us: kept up from now on, as asked.
			in.peer, in.state, in.tentative = f.peerName, ipcp.IntentUp, false
			close(in.first)
			bound = 0
		} else {
			made = append(made, in)
		}
		p.wg.Add(1)
		go p.keep(in, bound)
	}
	return made, had, nil
}

// awaitUp waits until in is up, or ctx ends, or (fresh: in was made by
// this call) its first attempt failed, or (not fresh) an attempt failed.
func (p *IPCP) awaitUp(ctx context.Context, in *intent, fresh bool) error {
	a := &p.adj
	first := in.first // nil once seen closed
	for {
		a.mu.Lock()
		state, lastErr, firstErr, changed := in.state, in.lastErr, in.firstErr, in.changed
		a.mu.Unlock()
		switch {
		case state == ipcp.IntentUp:
			return nil
		case fresh && firstErr != nil:
			return firstErr
		case !fresh && lastErr != nil:
			// The intent was there before this connect: it stays.
			return fmt.Errorf("not up: %w; the intent made earlier is kept and retried ('irm ipcp disconnect' removes it)", lastErr)
		}
		select {
		case <-changed:
		case <-first:
			if fresh {
				a.mu.Lock()
				err := in.firstErr
				a.mu.Unlock()
				if err != nil {
					return err
				}
			}
			fresh, first = false, nil
		case <-in.ctx.Done():
			// Removed: by its failed first attempt (firstErr says
			// why), by disconnect, or the IPCP closed.
			a.mu.Lock()
			err := in.firstErr
			a.mu.Unlock()
			if fresh && err != nil {
				return err
			}
			return ctrl.Errorf(ctrl.CodeNotFound, "the adjacency was disconnected while connecting")
		case <-ctx.Done():
			return notUp(lastErr, ctx.Err())
		}
	}
}

// notUp is the error of an intent that did not come up in time.
func notUp(last, ctxErr error) error {
	if last != nil {
		return last
	}
	return ctrl.Errorf(ctrl.CodeTimeout, "not up yet: %v", ctxErr)
}

// dropIntent removes an intent and takes down the member flows it set up.
func (p *IPCP) dropIntent(in *intent) {
	a := &p.adj
	a.mu.Lock()
	if in.persisted {
		a.mu.Unlock()
		return
	}
	if a.intents[in.key] == in {
		delete(a.intents, in.key)
	}
	in.stop()
	var gone []*memberFlow
	for f := range a.members {
		if f.intent == in {
			gone = append(gone, f)
		}
	}
	a.mu.Unlock()
	for _, f := range gone {
		p.memberDown(f, "connect failed")
	}
}

// keep sets an intent up and keeps it up until it is removed or the IPCP
// closes. first bounds the first attempt; later ones have attemptFirst,
// doubled after each failure.
func (p *IPCP) keep(in *intent, first time.Duration) {
	defer p.wg.Done()
	wait, n := retryFirst, 0
	for {
		changed, up := p.watchIntent(in)
		if up {
			wait, n = retryFirst, 0
			select {
			case <-changed:
				continue
			case <-in.ctx.Done():
				return
			}
		}
		bound := min(attemptFirst<<n, attemptMax)
		if first > 0 {
			bound, first = first, 0
		}
		ctx, cancel := context.WithTimeout(in.ctx, bound)
		err := p.connect(ctx, in)
		cancel()
		if in.ctx.Err() != nil {
			return
		}
		if err == nil {
			continue // up: watchIntent sees its flow
		}
		n = min(n+1, 8)
		if !p.intentFailed(in, err, wait) {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-changed: // the peer may have connected to us
			t.Stop()
		case <-in.ctx.Done():
			t.Stop()
			return
		}
		wait = min(2*wait, retryMax)
	}
}

// watchIntent updates in's state from the member flows, and returns the
// channel closed at their next change and whether in is up.
func (p *IPCP) watchIntent(in *intent) (<-chan struct{}, bool) {
	a := &p.adj
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.servedLocked(in)
	switch {
	case f != nil && in.state != ipcp.IntentUp:
		in.peer, in.tentative = f.peerName, false
		p.setStateLocked(in, ipcp.IntentUp, nil)
		select {
		case <-in.first:
		default:
			close(in.first)
		}
	case f == nil && in.state == ipcp.IntentUp:
		p.setStateLocked(in, ipcp.IntentConnecting, nil)
	}
	return a.changed, f != nil
}

// intentFailed records a failed attempt, and reports whether to retry: a
// tentative intent whose first attempt failed is removed.
func (p *IPCP) intentFailed(in *intent, err error, wait time.Duration) bool {
	a := &p.adj
	a.mu.Lock()
	defer a.mu.Unlock()
	in.attempts++
	in.lastErr = err
	in.next = time.Now().Add(wait)
	select {
	case <-in.first:
	default:
		in.firstErr = err
		close(in.first)
		if in.tentative {
			if a.intents[in.key] == in {
				delete(a.intents, in.key)
			}
			in.stop()
			return false
		}
	}
	p.setStateLocked(in, ipcp.IntentRetrying, err)
	return true
}

// setStateLocked moves an intent to a state, logging the change.
func (p *IPCP) setStateLocked(in *intent, state string, err error) {
	if in.state == state {
		return
	}
	was := in.state
	in.state, in.since = state, time.Now()
	close(in.changed)
	in.changed = make(chan struct{})
	if state != ipcp.IntentRetrying {
		in.attempts, in.lastErr, in.next = 0, nil, time.Time{}
	}
	attrs := []any{"peer", in.key.dst, "component", componentName(in.key.comp), "was", was}
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	p.log.Info("adjacency "+state, attrs...)
}

// Disconnect implements ipcp.Layered.
func (p *IPCP) Disconnect(_ context.Context, dst, component string) error {
	comps, err := parseComponents(component)
	if err != nil {
		return err
	}
	a := &p.adj
	a.mu.Lock()
	var gone []*memberFlow
	removed := 0
	for k, in := range a.intents {
		// By the name connect was given, or the member's it led to.
		if (k.dst == dst || in.peer == dst) && slices.Contains(comps, k.comp) {
			delete(a.intents, k)
			in.stop()
			removed++
		}
	}
	for f := range a.members {
		named := f.peerName == dst || (f.intent != nil && f.intent.key.dst == dst)
		for _, c := range comps {
			if named && f.comp == c {
				gone = append(gone, f)
			}
		}
	}
	a.mu.Unlock()
	if removed == 0 && len(gone) == 0 {
		what := "adjacency"
		if component != "" {
			what = component + " adjacency"
		}
		return ctrl.Errorf(ctrl.CodeNotFound, "IPCP %s has no %s with %s, and none intended", p.name, what, dst)
	}
	for _, f := range gone {
		p.memberDown(f, "disconnected")
	}
	return nil
}

// intentList describes the intended adjacencies, by neighbour and component.
func (p *IPCP) intentList() []ipcp.Intent {
	a := &p.adj
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]ipcp.Intent, 0, len(a.intents))
	for _, in := range a.intents {
		it := ipcp.Intent{Dst: in.key.dst, Component: componentName(in.key.comp), State: in.state,
			Since: in.since, Attempts: in.attempts, Next: in.next}
		if in.lastErr != nil {
			it.LastErr = in.lastErr.Error()
		}
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Dst != out[j].Dst {
			return out[i].Dst < out[j].Dst
		}
		return out[i].Component < out[j].Component
	})
	return out
}

// errPeerHasIt is a CONNECT refused because the peer keeps another flow
// for the same component, set up by the member with the lower node id.
var errPeerHasIt = errors.New("the peer keeps another flow for this component")

// checkDuplicateLocked decides whether an arriving CONNECT for a member
// flow would lose to a flow already established: the one set up by the
// member with the lower node id is kept, and of two set up by the same
// member, the newer (the member set it up again because the older ended
// on its side).
func (a *adjacencies) checkDuplicateLocked(m cep) *memberFlow {
	for g := range a.members {
		if g.peerName == m.name && g.comp == m.component && g.peerNode == m.nodeID && g.initiator < m.nodeID {
			return g
		}
	}
	return nil
}

// winner returns which of two member flows for the same peer and component
// both ends keep.
func winner(f, g *memberFlow) *memberFlow {
	switch {
	case f.peerNode != g.peerNode:
		return f // the peer restarted: the older flow leads to its earlier life
	case f.initiator < g.initiator:
		return f
	case g.initiator < f.initiator:
		return g
	}
	return f // set up again by the same member: the older ended on its side
}

// classify says what a lower-layer error means for an adjacency, in front
// of its text: revoked (a certificate on the way is revoked), refused
// (the peer's irmd said no: policy, key exchange, no IPCP accepting), or
// unreachable (no lower layer reaches the name, or nothing answered).
func classify(err error) error {
	var ce *ctrl.Error
	if !errors.As(err, &ce) {
		return ctrl.Errorf(ctrl.CodeUnreachable, "unreachable: %v", err)
	}
	switch {
	case strings.Contains(ce.Msg, "revoked"):
		return ctrl.Errorf(ctrl.CodeNotAllowed, "revoked: %s", ce.Msg)
	case ce.Code == ctrl.CodeNotAllowed:
		return ctrl.Errorf(ctrl.CodeNotAllowed, "refused: %s", ce.Msg)
	case ce.Code == ctrl.CodeUnreachable, ce.Code == ctrl.CodeNoName, ce.Code == ctrl.CodeTimeout:
		return ctrl.Errorf(ctrl.CodeUnreachable, "unreachable: %s", ce.Msg)
	}
	return err
}
