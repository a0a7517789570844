package flow

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// readyFD is an eventfd that is readable exactly while an FRCT flow has
// something for Read. Event sets wait on it instead of the flow's socket,
// which also carries FRCT's acknowledgements.
type readyFD struct {
	mu  sync.Mutex
	fd  int
	set bool
}

func newReadyFD() (*readyFD, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("flow: eventfd: %w", err)
	}
	return &readyFD{fd: fd}, nil
}

// update sets or clears the eventfd after asking readable, under the lock,
// so that a set racing a clear cannot be lost.
func (r *readyFD) update(readable func() bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fd < 0 {
		return
	}
	switch ok := readable(); {
	case ok && !r.set:
		v := [8]byte{1} // any non-zero counter makes the eventfd readable
		unix.Write(r.fd, v[:])
		r.set = true
	case !ok && r.set:
		var v [8]byte
		unix.Read(r.fd, v[:])
		r.set = false
	}
}

func (r *readyFD) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
}
