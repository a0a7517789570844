package flow_test

import (
	"context"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/stack/irm/irmtest"
	"o7s.dev/ouroboros/stack/qos"
)

// acceptedEnd returns irmd's flow list row of the accepting end of flow id.
func acceptedEnd(h *irmtest.Host, id uint64) ctrl.FlowStat {
	for _, f := range h.IRM.ListFlows() {
		if f.ID == id && f.Side == "accept" {
			return f
		}
	}
	return ctrl.FlowStat{}
}

// Packets an application rejects (they do not open) reach irmd's flow list
// within a couple of report intervals, and the IPCP's counters; a process
// cannot report counts for another's flow.
func TestRejectedPacketsAreReported(t *testing.T) {
	h := irmtest.Start(t, irmtest.Options{})
	c, s := pair(t, h, qos.Raw)
	if !s.Encrypted() {
		t.Fatal("flow not encrypted")
	}
	forged := []byte("a forged packet, not sealed with the flow's keys")
	for range 3 {
		if _, err := flow.WriteUnsealed(c, forged); err != nil {
			t.Fatal(err)
		}
	}
	exchange(t, c, s) // the genuine packet after the forged ones opens
	if n := s.Rejected(); n != 3 {
		t.Fatalf("the application rejected %d packets, want 3", n)
	}
	dl := time.Now().Add(5 * time.Second)
	for {
		st := acceptedEnd(h, s.ID())
		if st.Rejected == 3 && st.RejectedBytes == uint64(3*len(forged)) {
			if st.RecvPkts != 1 {
				t.Fatalf("flow list: %d received, want the 1 the application accepted", st.RecvPkts)
			}
			break
		}
		if time.Now().After(dl) {
			t.Fatalf("flow list: %d rejected (%d bytes), want 3 (%d bytes)", st.Rejected, st.RejectedBytes, 3*len(forged))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := layerRejected(h); n != 3 {
		t.Fatalf("the IPCPs count %d rejected, want 3", n)
	}

	// Another process reporting on this flow is ignored.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	other, err := ctrl.Connect(ctx, h.RunDir, ctrl.RoleApp, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	req := ctrl.FlowReport{Flows: []ctrl.FlowCounters{{ID: s.ID(), Rejected: 1 << 40}}}
	if _, err := other.Call(ctx, ctrl.OpFlowReport, req, nil); err != nil {
		t.Fatal(err)
	}
	if p := acceptedEnd(h, s.ID()).Rejected; p != 3 {
		t.Fatalf("another process's report changed the count to %d", p)
	}

	// Closing the flow reports what its last second rejected, at once:
	// the layer's count keeps it after the flow is gone.
	for range 2 {
		flow.WriteUnsealed(c, forged)
	}
	exchange(t, c, s)
	s.Close()
	if n := layerRejected(h); n != 5 {
		t.Fatalf("after the close, the IPCPs count %d rejected, want 5", n)
	}
}

// layerRejected sums what the IPCPs count as rejected by applications.
func layerRejected(h *irmtest.Host) uint64 {
	var n uint64
	for _, i := range h.IRM.ListIPCPs(ctrl.IPCPFilter{}) {
		n += i.Counters["flow-rejected"]
	}
	return n
}
