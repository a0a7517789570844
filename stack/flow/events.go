package flow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// EventType says what happened on a flow in an EventSet. Several may be set.
type EventType uint8

// Event types.
const (
	// EventPacket: an SDU can be read without blocking.
	EventPacket EventType = 1 << iota
	// EventDown: the flow has ended (the peer deallocated it, or irmd or the
	// layer went down). SDUs sent before may still be readable; Read reports
	// the reason once they are drained.
	EventDown
)

func (t EventType) String() string {
	switch t {
	case EventPacket:
		return "packet"
	case EventDown:
		return "down"
	case EventPacket | EventDown:
		return "packet|down"
	}
	return fmt.Sprintf("EventType(%d)", uint8(t))
}

// Event is one flow's readiness.
type Event struct {
	Flow *Flow
	Type EventType
}

// EventSet waits on many flows at once from one goroutine, in the spirit of
// the reference's fqueue: add flows, then call Wait. It uses one epoll
// instance, itself waited on through Go's network poller, so no thread
// blocks and no goroutine runs per flow. A flow may be in several sets.
// Events are level-triggered: a flow with unread SDUs is reported by every
// Wait until they are read.
type EventSet struct {
	ep *os.File
	rc syscall.RawConn

	mu    sync.Mutex
	flows map[int32]*Flow

	wmu  sync.Mutex // serialises Wait
	evs  []unix.EpollEvent
	nev  int
	werr error
	wfn  func(uintptr) bool
}

// NewEventSet returns an empty set. Close it when done.
func NewEventSet() (*EventSet, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("flow: event set: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("flow: event set: %w", err)
	}
	ep := os.NewFile(uintptr(fd), "eventset")
	rc, err := ep.SyscallConn()
	if err != nil {
		ep.Close()
		return nil, fmt.Errorf("flow: event set: %w", err)
	}
	s := &EventSet{ep: ep, rc: rc, flows: make(map[int32]*Flow), evs: make([]unix.EpollEvent, 64)}
	s.wfn = s.poll
	return s, nil
}

// Add puts f in the set.
func (s *EventSet) Add(f *Flow) error {
	return s.ctl(f, unix.EPOLL_CTL_ADD)
}

// Remove takes f out of the set. Closing a flow also removes it.
func (s *EventSet) Remove(f *Flow) error {
	return s.ctl(f, unix.EPOLL_CTL_DEL)
}

func (s *EventSet) ctl(f *Flow, op int) error {
	var ferr error
	err := f.pollFD(func(fd uintptr) {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
		var epfd int
		if cerr := s.rc.Control(func(e uintptr) { epfd = int(e) }); cerr != nil {
			ferr = cerr
			return
		}
		if ferr = unix.EpollCtl(epfd, op, int(fd), &ev); ferr != nil {
			return
		}
		s.mu.Lock()
		if op == unix.EPOLL_CTL_ADD {
			s.flows[int32(fd)] = f
		} else {
			delete(s.flows, int32(fd))
		}
		s.mu.Unlock()
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		return &OpError{Op: "event set", Name: f.Name(), ID: f.ID(), Err: err}
	}
	return nil
}

// Wait blocks until at least one flow in the set has an event, or ctx ends,
// and appends the events to evs. It returns an error matching ErrTimeout when
// the context's deadline passes.
func (s *EventSet) Wait(ctx context.Context, evs []Event) ([]Event, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	dl, _ := ctx.Deadline()
	if err := s.ep.SetReadDeadline(dl); err != nil {
		return evs, err
	}
	// Cancellation without a deadline wakes the poller through a deadline
	// in the past. The function must have finished before Wait returns, or
	// it could cut the next Wait short.
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		s.ep.SetReadDeadline(time.Unix(1, 0))
		close(fired)
	})
	defer func() {
		if !stop() {
			<-fired
		}
	}()
	s.nev, s.werr = 0, nil
	err := s.rc.Read(s.wfn)
	if err == nil {
		err = s.werr
	}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return evs, ctx.Err()
			}
			return evs, ErrTimeout
		}
		return evs, fmt.Errorf("flow: event set wait: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.evs[:s.nev] {
		f, ok := s.flows[e.Fd]
		if !ok {
			continue
		}
		if t := f.eventType(e.Events); t != 0 {
			evs = append(evs, Event{Flow: f, Type: t})
		}
	}
	return evs, nil
}

// poll is the poller callback; it returns false to wait for readiness.
func (s *EventSet) poll(fd uintptr) bool {
	n, err := unix.EpollWait(int(fd), s.evs, 0)
	if err == unix.EINTR || (err == nil && n == 0) {
		return false
	}
	if err != nil {
		s.werr = err
		return true
	}
	s.nev = n
	return true
}

// Close releases the set. The flows stay open.
func (s *EventSet) Close() error { return s.ep.Close() }

// pollFD runs fn with the descriptor an event set waits on: the socket of a
// raw flow, the readiness eventfd of an FRCT flow (its socket also carries
// acknowledgements, which are not events for the application).
func (f *Flow) pollFD(fn func(fd uintptr)) error {
	if f.rdy == nil {
		return f.sock.SyscallConn().Control(fn)
	}
	f.rdy.mu.Lock()
	fd := f.rdy.fd
	f.rdy.mu.Unlock()
	if fd < 0 {
		return ErrClosed
	}
	fn(uintptr(fd))
	return nil
}

// eventType turns epoll's report for the flow into the application's view.
func (f *Flow) eventType(ev uint32) EventType {
	var t EventType
	if f.frct == nil {
		if ev&unix.EPOLLIN != 0 {
			t |= EventPacket
		}
		if ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			t |= EventDown
		}
		return t
	}
	if f.frct.Pending() {
		t |= EventPacket
	}
	if f.frct.Err() != nil {
		t |= EventDown
	}
	return t
}
