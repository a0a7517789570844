package link

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"o7s.dev/ouroboros/overlay/wire"
)

// duplicateReason is the refuse reason of a flow that lost the tie-break.
const duplicateReason = "duplicate flow"

// refusedBy is the error of a refuse message received from name.
func refusedBy(name, why string) error {
	if name == "" {
		name = "the peer"
	}
	return &refusal{msg: fmt.Sprintf("refused by %s: %s", name, why), dup: strings.HasPrefix(why, duplicateReason)}
}

// refusal is the error of a refuse message: it matches ErrRefused, and
// ErrDuplicate when the reason is a lost tie-break.
type refusal struct {
	msg string
	dup bool
}

func (e *refusal) Error() string { return e.msg }

func (e *refusal) Is(target error) bool {
	return target == ErrRefused || e.dup && target == ErrDuplicate
}

// control handles a control message read from the peer while it is up. It
// never writes to the flow itself: the reader must not wait on a full flow
// (the peer's reader could be waiting on ours), so echo replies go through
// keepalive.
func (p *Peer) control(sdu []byte) {
	m, err := wire.Parse(sdu)
	if err != nil {
		p.drops.add(badControl, 1)
		if p.drops.shouldLog(badControl, p.l.now()) {
			p.l.log.Warn("malformed control message from peer", "peer", p.Name(), "err", err,
				"dropped", p.drops.n[badControl].Load())
		}
		return
	}
	switch {
	case m.Type == wire.Echo:
		select {
		case p.replies <- m.Cookie:
		default: // answering faster than a few a second is not our job
			p.drop(badControl)
		}
	case m.Type == wire.Reply && m.Cookie == p.echoCookie.Load() && p.echoCookie.CompareAndSwap(m.Cookie, 0):
		p.rtt.Store(p.l.now().UnixNano() - int64(p.echoSent.Load()))
	case m.Type == wire.Grant && p.want != 0:
		p.l.applyGrant(m.Addrs)
	case m.Type == wire.Refuse:
		p.end(refusedBy(p.Name(), m.Reason))
	case m.Type == wire.Hello:
		select {
		case p.rehello <- struct{}{}:
		default: // one answer pending is enough
		}
	default: // a reply to no echo, a grant not asked for
		p.drop(badControl)
	}
}

// readControl reads the peer's flow, during the exchange, until a control
// message of type want or a refuse comes. SDUs before it are dropped: the
// peer sends none before its hello, and none this end could use before
// its grant.
func (r *peerReader) readControl(want wire.Type) (wire.Msg, error) {
	p := r.p
	for {
		n, err := p.f.ReadBatch(r.rbufs[:1], r.lens[:1])
		if err != nil {
			return wire.Msg{}, fmt.Errorf("waiting for the peer's %v: %w", want, err)
		}
		if n == 0 || wire.Classify(r.rbufs[0][:r.lens[0]]) != wire.Control {
			continue
		}
		m, err := wire.Parse(r.rbufs[0][:r.lens[0]])
		switch {
		case errors.Is(err, wire.ErrVersion):
			return m, fmt.Errorf("the peer speaks another version of ovpn; upgrade one end: %w", err)
		case err != nil && want == wire.Hello:
			return m, fmt.Errorf("bad hello: %w", err)
		case err != nil:
			p.drops.add(badControl, 1)
		case m.Type == wire.Refuse:
			return m, refusedBy(p.Name(), m.Reason)
		case m.Type == want:
			return m, nil
		}
	}
}

// applyGrant makes granted this end's addresses of their families, and
// tells OnAddrs if that changed them.
func (l *Link) applyGrant(granted []netip.Prefix) {
	fams := families(granted)
	l.mu.Lock()
	var next []netip.Prefix
	for _, a := range l.addrs {
		if fams&(1<<family(a.Addr())) == 0 {
			next = append(next, a)
		}
	}
	next = append(next, granted...)
	changed := !slices.Equal(next, l.addrs)
	if changed {
		l.setAddrs(next)
	}
	l.mu.Unlock()
	if changed {
		l.log.Info("addresses granted", "addresses", next)
		if l.cfg.OnAddrs != nil {
			l.cfg.OnAddrs(slices.Clone(next))
		}
	}
}
