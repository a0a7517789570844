package ca

import (
	"container/heap"
	"time"
)

// A fluid model of flows through one bottleneck, for the convergence tests.
// The bottleneck drains its queue at a constant rate and marks each
// arriving packet with min(255, depth>>4), like dt.Queue; packets arriving
// at a full queue are lost. Each flow is greedy: it sends as fast as its
// access link and its Sender allow, its Receiver sees the marks, and the
// flow updates reach the Sender a round trip later.

const simPkt = 1400

type simConfig struct {
	capacity float64       // bottleneck rate, bytes/s
	access   float64       // each flow's access rate, bytes/s
	limit    int           // bottleneck queue, packets
	rtt      time.Duration // round trip without queueing
	starts   []time.Duration
	dur      time.Duration
	window   time.Duration // measure the last window of dur
}

type simFlow struct {
	snd      *Sender
	rcv      Receiver
	measured int64   // bytes into the bottleneck during the window
	minRate  float64 // lowest Sender.Rate during the window
	sumRate  float64 // Sender.Rate sampled every millisecond of the window
	samples  int
	updates  int
}

// meanRate returns the mean limit of the flow's Sender over the window.
func (f *simFlow) meanRate() float64 { return f.sumRate / float64(max(f.samples, 1)) }

type simResult struct {
	flows      []*simFlow
	lost       int // packets, during the window
	sent       int // packets offered to the bottleneck during the window
	maxDepth   int // packets, during the window
	throughput []float64
	total      float64 // sum of throughputs, bytes/s
}

type eventKind int

const (
	evAdmit  eventKind = iota // the flow has a packet to send
	evSend                    // the flow's wait is over: the packet goes out
	evUpdate                  // a flow update reaches the sender
	evSample                  // sample the senders' rates
)

type event struct {
	at   time.Duration
	kind eventKind
	flow int
	ece  uint16
	seq  int // ties broken in scheduling order, for determinism
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

type sim struct {
	simConfig
	epoch  time.Time
	events eventHeap
	seq    int
	queue  float64 // bytes in the bottleneck queue
	last   time.Duration
	res    simResult
}

func runSim(cfg simConfig) simResult {
	s := &sim{simConfig: cfg, epoch: time.Unix(1e9, 0)}
	for i, at := range cfg.starts {
		s.res.flows = append(s.res.flows, &simFlow{snd: NewSender(s.epoch.Add(at)), minRate: 1e300})
		s.schedule(event{at: at, kind: evAdmit, flow: i})
	}
	s.schedule(event{at: cfg.dur - cfg.window, kind: evSample})
	for len(s.events) > 0 {
		e := heap.Pop(&s.events).(event)
		if e.at > cfg.dur {
			break
		}
		s.handle(e)
	}
	for _, f := range s.res.flows {
		tp := float64(f.measured) / cfg.window.Seconds()
		s.res.throughput = append(s.res.throughput, tp)
		s.res.total += tp
	}
	return s.res
}

func (s *sim) schedule(e event) {
	e.seq = s.seq
	s.seq++
	heap.Push(&s.events, e)
}

func (s *sim) inWindow(t time.Duration) bool { return t >= s.dur-s.window }

func (s *sim) handle(e event) {
	if e.kind == evSample {
		for _, f := range s.res.flows {
			r := f.snd.Rate()
			f.sumRate += r
			f.samples++
			f.minRate = min(f.minRate, r)
		}
		s.schedule(event{at: e.at + time.Millisecond, kind: evSample})
		return
	}
	f := s.res.flows[e.flow]
	now := s.epoch.Add(e.at)
	serialize := time.Duration(simPkt / s.access * 1e9)
	switch e.kind {
	case evAdmit:
		if w := f.snd.Admit(simPkt, now); w > 0 {
			s.schedule(event{at: e.at + w, kind: evSend, flow: e.flow})
			return
		}
		s.send(e.flow, e.at)
		s.schedule(event{at: e.at + serialize, kind: evAdmit, flow: e.flow})
	case evSend:
		s.send(e.flow, e.at)
		s.schedule(event{at: e.at + serialize, kind: evAdmit, flow: e.flow})
	case evUpdate:
		f.snd.Update(e.ece, now)
		f.updates++
	}
}

// send puts a packet of flow i into the bottleneck at t.
func (s *sim) send(i int, t time.Duration) {
	s.queue = max(0, s.queue-s.capacity*(t-s.last).Seconds())
	s.last = t
	depth := int(s.queue / simPkt)
	if s.inWindow(t) {
		s.res.sent++
	}
	if depth >= s.limit {
		if s.inWindow(t) {
			s.res.lost++
		}
		return
	}
	ecn := uint8(min(255, depth>>4))
	s.queue += simPkt
	f := s.res.flows[i]
	if s.inWindow(t) {
		f.measured += simPkt
		s.res.maxDepth = max(s.res.maxDepth, depth+1)
	}
	if send, ece := f.rcv.Packet(ecn); send {
		delay := time.Duration(s.queue/s.capacity*1e9) + s.rtt
		s.schedule(event{at: t + delay, kind: evUpdate, flow: i, ece: ece})
	}
}
