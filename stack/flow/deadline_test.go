package flow_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/stack/irm/irmtest"
	"o7s.dev/ouroboros/stack/qos"
)

// The context's deadline bounds an allocation end to end: towards a name
// whose bound process never accepts, Alloc ends at the deadline, with
// ErrTimeout, not at irmd's own allocation timeout.
func TestAllocDeadlineBoundsTheWait(t *testing.T) {
	h := irmtest.Start(t, irmtest.Options{})
	h.Serve(t, "mute") // this process is bound, and never accepts
	p := attach(t, h)
	const deadline = 300 * time.Millisecond
	start := time.Now() // before the context, whose deadline counts from its making
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	_, err := p.Alloc(ctx, "mute", qos.Raw)
	took := time.Since(start)
	if !errors.Is(err, flow.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	// irmd gets the time left (in whole milliseconds) and may end the
	// allocation a hair before the caller's own clock says so.
	if took < deadline-20*time.Millisecond || took > deadline+time.Second {
		t.Fatalf("Alloc ended after %v, want at its %v deadline", took, deadline)
	}
}
