package simnet

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
)

// maxSDU is the largest packet a simulated link carries.
const maxSDU = 9216

// link is a simulated lower layer between two nodes; every flow over it
// passes through a shaper in each direction.
type link struct {
	opts   LinkOpts
	silent atomic.Bool

	mu   sync.Mutex
	ends map[*ipcp.PipeEnd]struct{}
	cut  bool
}

// flow makes a flow over the link: the allocator's end and the acceptor's.
func (l *link) flow(n *Net) (*ipcp.PipeEnd, *ipcp.PipeEnd, error) {
	mine, s1 := ipcp.NewPipe(pipeCapacity, n.ids.Add(1), n.ids.Add(1))
	s2, theirs := ipcp.NewPipe(pipeCapacity, n.ids.Add(1), n.ids.Add(1))
	l.mu.Lock()
	if l.cut {
		l.mu.Unlock()
		return nil, nil, ctrl.Errorf(ctrl.CodeUnreachable, "simnet: the link is cut")
	}
	for _, e := range []*ipcp.PipeEnd{s1, s2} {
		l.ends[e] = struct{}{}
	}
	l.mu.Unlock()
	go l.shape(s1, s2)
	go l.shape(s2, s1)
	return mine, theirs, nil
}

// down ends every flow over the link.
func (l *link) down() {
	l.mu.Lock()
	l.cut = true
	ends := make([]*ipcp.PipeEnd, 0, len(l.ends))
	for e := range l.ends {
		ends = append(ends, e)
	}
	l.mu.Unlock()
	for _, e := range ends {
		e.Down(ctrl.ReasonDown)
	}
}

// delayed is a packet held back until due.
type delayed struct {
	due time.Time
	pkt []byte
}

// shape moves packets from one pipe to the other, losing and delaying
// them as the link says; when either side ends, so does the other.
func (l *link) shape(from, to *ipcp.PipeEnd) {
	defer to.Down(ctrl.ReasonDown)
	defer from.Down(ctrl.ReasonDown)
	var held chan delayed
	if l.opts.Delay > 0 {
		held = make(chan delayed, pipeCapacity)
		defer close(held)
		go func() {
			for d := range held {
				time.Sleep(time.Until(d.due))
				_, _ = to.TryWriteBatch([][]byte{d.pkt})
			}
		}()
	}
	bufs, lens := make([][]byte, 16), make([]int, 16)
	for i := range bufs {
		bufs[i] = make([]byte, maxSDU)
	}
	out := make([][]byte, 0, len(bufs))
	for {
		n, err := from.ReadBatch(bufs, lens)
		if err != nil {
			return
		}
		out = out[:0]
		for i := range n {
			if l.silent.Load() || (l.opts.Loss > 0 && rand.Float64() < l.opts.Loss) {
				continue
			}
			if held == nil {
				out = append(out, bufs[i][:lens[i]])
				continue
			}
			select {
			case held <- delayed{due: time.Now().Add(l.opts.Delay), pkt: append([]byte(nil), bufs[i][:lens[i]]...)}:
			default: // the link's queue is full
			}
		}
		if len(out) > 0 {
			if _, err := to.WriteBatch(out); err != nil {
				return
			}
		}
	}
}
