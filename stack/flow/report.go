package flow

import (
	"context"
	"errors"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
)

// Only the application sees the packets of its encrypted flows that do not
// open (forged, modified, replayed: Flow.Rejected); irmd, which shows the
// flow list, delivered them as any other. So a Process reports its flows'
// counts to irmd, batched: one message per reportInterval at most, and
// none while nothing changed.

// reportInterval is how often a Process looks for changed counters.
const reportInterval = time.Second

// routineReport reports changed counters until the control connection ends.
func (p *Process) routineReport() {
	t := time.NewTicker(reportInterval)
	defer t.Stop()
	for {
		select {
		case <-p.client.Done():
			return
		case <-t.C:
		}
		if err := p.report(p.snapshot()); errors.Is(err, errReportRefused) {
			return // an irmd without flow reports: stop asking
		}
	}
}

var errReportRefused = errors.New("irmd refuses flow reports")

// report sends the counters of flows that changed since the last report.
func (p *Process) report(flows []*Flow) error {
	p.reportMu.Lock()
	defer p.reportMu.Unlock()
	var req ctrl.FlowReport
	var changed []*Flow
	for _, f := range flows {
		if f.sealed == nil || len(req.Flows) == ctrl.MaxFlowReport {
			continue
		}
		n, bytes := f.sealed.Rejected()
		if n != f.reported {
			req.Flows = append(req.Flows, ctrl.FlowCounters{ID: f.info.ID, Rejected: n, RejectedBytes: bytes})
			changed = append(changed, f)
		}
	}
	if len(req.Flows) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), reportInterval)
	defer cancel()
	if _, err := p.client.Call(ctx, ctrl.OpFlowReport, req, nil); err != nil {
		var ce *ctrl.Error
		if errors.As(err, &ce) && ce.Code == ctrl.CodeInvalid {
			return errReportRefused
		}
		return err // tried again at the next tick
	}
	for i, f := range changed {
		f.reported = req.Flows[i].Rejected
	}
	return nil
}
