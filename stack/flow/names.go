package flow

import (
	"context"
	"slices"

	"o7s.dev/ouroboros/stack/ctrl"
)

// Names returns the names this process is bound to, by 'irm bind process'
// or through its program ('irm bind program'), in irmd's order (sorted).
func (p *Process) Names(ctx context.Context) ([]string, error) {
	var list ctrl.NameList
	if _, err := p.client.Call(ctx, ctrl.OpNameList, ctrl.NameFilter{}, &list); err != nil {
		return nil, fromCtrl(err)
	}
	var out []string
	for _, n := range list.Names {
		if slices.Contains(n.Processes, p.PID()) {
			out = append(out, n.Name)
		}
	}
	return out, nil
}
