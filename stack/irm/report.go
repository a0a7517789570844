package irm

import (
	"context"
	"encoding/json"

	"o7s.dev/ouroboros/stack/ctrl"
)

// An application opens its own encrypted flows, so only it sees the
// packets that do not open (forged, modified, replayed). It reports how
// many on its control connection (OpFlowReport), when they change and at
// most about once a second, so that the flow list shows them beside what
// irmd delivered, and each IPCP's list entry sums them over its flows.

// rejectedCounter names the per-IPCP sum in irm ipcp list's counters.
const rejectedCounter = "flow-rejected"

// handleFlowReport stores a process's counters on its own ports. Entries
// for other processes' flows, or unknown ones, are ignored; counters only
// grow, so a stale or hostile report cannot wind them back.
func (m *IRM) handleFlowReport(_ context.Context, pr *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.FlowReport
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	if len(req.Flows) > ctrl.MaxFlowReport {
		return nil, -1, ctrl.Errorf(ctrl.CodeInvalid, "flow report of %d flows, at most %d", len(req.Flows), ctrl.MaxFlowReport)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range req.Flows {
		p, ok := m.ports[c.ID]
		if !ok || p.proc != pr {
			continue
		}
		if old := p.rejected.Load(); c.Rejected > old {
			p.rejected.Store(c.Rejected)
			if e := m.entryOfLocked(p); e != nil {
				e.flowRejected.Add(c.Rejected - old)
			}
		}
		if c.RejectedBytes > p.rejectedBytes.Load() {
			p.rejectedBytes.Store(c.RejectedBytes)
		}
	}
	return struct{}{}, -1, nil
}

// entryOfLocked returns the entry of the IPCP that carries p; m.mu held.
func (m *IRM) entryOfLocked(p *port) *ipcpEntry {
	for _, e := range m.ipcps {
		if e.ipcp == p.ipcp {
			return e
		}
	}
	return nil
}

// withRejected returns an IPCP's counters with the rejected packets its
// applications' flows reported, without changing the IPCP's own map.
func withRejected(counters map[string]uint64, n uint64) map[string]uint64 {
	if n == 0 {
		return counters
	}
	out := make(map[string]uint64, len(counters)+1)
	for k, v := range counters {
		out[k] = v
	}
	out[rejectedCounter] = n
	return out
}
