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

// NameExists reports whether irmd knows name (created by 'irm name create',
// a registration or irmd.conf), registered or not.
func (p *Process) NameExists(ctx context.Context, name string) (bool, error) {
	var list ctrl.NameList
	if _, err := p.client.Call(ctx, ctrl.OpNameList, ctrl.NameFilter{Prefix: name}, &list); err != nil {
		return false, &OpError{Op: "name list", Name: name, Err: fromCtrl(err)}
	}
	return slices.ContainsFunc(list.Names, func(n ctrl.NameInfo) bool { return n.Name == name }), nil
}

// DestroyName removes name from irmd, as 'irm name destroy' does: a
// program that created a name by registering it removes it when done.
func (p *Process) DestroyName(ctx context.Context, name string) error {
	return p.manage(ctx, "destroy", name, ctrl.OpNameDestroy, ctrl.NameRef{Name: name})
}
