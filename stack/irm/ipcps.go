package irm

import (
	"context"
	"encoding/json"
	"sort"
	"strings"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/ipcp/eth"
	"o7s.dev/ouroboros/stack/ipcp/local"
	"o7s.dev/ouroboros/stack/ipcp/udp"
	"o7s.dev/ouroboros/stack/ipcp/unicast"
)

// newIPCP builds an IPCP of a type this release implements.
func (m *IRM) newIPCP(n string, t ipcp.Type) (ipcp.IPCP, error) {
	if m.cfg.IPCPFactory != nil {
		if ip := m.cfg.IPCPFactory(n, t, m, m); ip != nil {
			return ip, nil
		}
	}
	switch t {
	case ipcp.Local:
		return local.New(n, m), nil
	case ipcp.UDP4, ipcp.UDP6:
		return udp.New(n, t, m, m.log), nil
	case ipcp.EthDIX, ipcp.EthLLC:
		return eth.New(n, t, m, m.log), nil
	case ipcp.Unicast:
		return unicast.New(n, m, m, m.log), nil
	}
	return nil, ctrl.Errorf(ctrl.CodeNotSupported, "IPCP type %s is not supported yet (this release has: local, eth-llc, eth-dix, udp4, udp6, unicast)", t)
}

// CreateIPCP creates an IPCP of type t.
func (m *IRM) CreateIPCP(n, t string) error {
	if err := checkName("the IPCP", n); err != nil {
		return err
	}
	typ, err := ipcp.ParseType(t)
	if err != nil {
		return ctrl.Errorf(ctrl.CodeInvalid, "%v", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ctrl.Errorf(ctrl.CodeDown, "irmd is shutting down")
	}
	if e, ok := m.ipcps[n]; ok {
		return ctrl.Errorf(ctrl.CodeExists, "IPCP %q exists (type %s)", n, e.typ)
	}
	ip, err := m.newIPCP(n, typ)
	if err != nil {
		return err
	}
	m.ipcps[n] = &ipcpEntry{name: n, typ: typ, ipcp: ip, names: make(map[string]struct{})}
	m.log.Info("IPCP created", "ipcp", n, "type", typ)
	return nil
}

// DestroyIPCP ends the IPCP's flows (their users see them go down) and
// removes it.
func (m *IRM) DestroyIPCP(n string) error {
	m.mu.Lock()
	e, ok := m.ipcps[n]
	if !ok {
		m.mu.Unlock()
		return ctrl.Errorf(ctrl.CodeNotFound, "no IPCP %q: see 'irm ipcp list'", n)
	}
	delete(m.ipcps, n)
	m.admit.forget(n)
	for nn := range e.names {
		if nm, ok := m.names[nn]; ok {
			delete(nm.ipcps, n)
		}
	}
	for _, nm := range m.names {
		nm.bound = removeString(nm.bound, n)
	}
	m.mu.Unlock()
	m.log.Info("IPCP destroyed", "ipcp", n)
	return e.ipcp.Close()
}

// Bootstrap makes an IPCP the first member of a layer, creating it first
// when it does not exist and the type is given; an IPCP created so is
// removed again if the bootstrap fails. With Autobind, the IPCP is then
// bound to its own name and to the layer's.
func (m *IRM) Bootstrap(ctx context.Context, req ctrl.IPCPBootstrap) (err error) {
	if err := checkName("the layer", req.Layer); err != nil {
		return err
	}
	e, created, err := m.ipcpOrCreate(req.Name, req.Type, req.Type)
	if err != nil {
		return err
	}
	defer func() {
		if created {
			m.undoCreate(e, "bootstrap", err)
		}
	}()
	if req.Autobind && !layered(e.typ) {
		return ctrl.Errorf(ctrl.CodeInvalid, "autobind applies to unicast and broadcast IPCPs, not %s", e.typ)
	}
	if err := m.setIdentity(e, req.Identity); err != nil {
		return err
	}
	if err := e.ipcp.Bootstrap(ctx, req.Layer, req.Options); err != nil {
		return err
	}
	m.log.Info("IPCP bootstrapped", "ipcp", req.Name, "layer", req.Layer, "type", e.typ)
	m.logLayerSecurity(e, req.Layer)
	if req.Autobind {
		// The IPCP is in its layer: a failure to bind it does not undo that.
		if err := m.autobind(req.Name, req.Layer); err != nil {
			created = false
			return err
		}
	}
	return nil
}

// undoCreate removes e, created for op, if op failed (err != nil), so that
// a failed command leaves no half-made IPCP behind. It leaves an IPCP that
// was destroyed or replaced meanwhile alone.
func (m *IRM) undoCreate(e *ipcpEntry, op string, err error) {
	if err == nil {
		return
	}
	m.mu.Lock()
	if m.ipcps[e.name] != e {
		m.mu.Unlock()
		return
	}
	m.mu.Unlock()
	if m.DestroyIPCP(e.name) == nil {
		m.log.Info("IPCP removed: it was created for a "+op+" that failed", "ipcp", e.name, "err", err)
	}
}

// ipcpOrCreate returns the IPCP n, which must be of type want if that is
// given. When n does not exist, it is created with type create, if given;
// created says so.
func (m *IRM) ipcpOrCreate(n, want, create string) (e *ipcpEntry, created bool, err error) {
	m.mu.Lock()
	e, ok := m.ipcps[n]
	m.mu.Unlock()
	if ok {
		if want != "" && want != string(e.typ) {
			return nil, false, ctrl.Errorf(ctrl.CodeInvalid, "IPCP %q is of type %s, not %s", n, e.typ, want)
		}
		return e, false, nil
	}
	if create == "" {
		return nil, false, ctrl.Errorf(ctrl.CodeNotFound, "no IPCP %q: give its type to create it (type local)", n)
	}
	if err := m.CreateIPCP(n, create); err != nil {
		return nil, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok = m.ipcps[n]; !ok {
		return nil, false, ctrl.Errorf(ctrl.CodeNotFound, "IPCP %q was destroyed as it was created", n)
	}
	return e, true, nil
}

// layered reports whether IPCPs of type t join layers through members and
// accept flows for names bound to them.
func layered(t ipcp.Type) bool { return t == ipcp.Unicast || t == ipcp.Broadcast }

// ListIPCPs lists the IPCPs that match the filter, sorted by layer and name.
func (m *IRM) ListIPCPs(f ctrl.IPCPFilter) []ctrl.IPCPInfo {
	// IPCPs are asked for their Info without m.mu held: a layered IPCP may
	// hold its own lock while it calls the IRM.
	type snap struct {
		e     *ipcpEntry
		names []string
		id    *layerIdentity
		enrol *ctrl.Enrolment
	}
	m.mu.Lock()
	snaps := make([]snap, 0, len(m.ipcps))
	for _, e := range m.ipcps {
		s := snap{e: e, id: e.identity}
		if e.enrolment != nil {
			en := *e.enrolment
			s.enrol = &en
		}
		for n := range e.names {
			s.names = append(s.names, n)
		}
		snaps = append(snaps, s)
	}
	m.mu.Unlock()
	out := []ctrl.IPCPInfo{}
	for _, s := range snaps {
		e := s.e
		info := e.ipcp.Info()
		if (f.Name != "" && f.Name != e.name) || (f.Layer != "" && f.Layer != info.Layer) ||
			(f.Type != "" && f.Type != string(e.typ)) {
			continue
		}
		sort.Strings(s.names)
		out = append(out, ctrl.IPCPInfo{Name: e.name, Type: string(e.typ), Layer: info.Layer, State: string(info.State),
			Hash: string(info.Hash), Names: s.names, Flows: info.Flows, Detail: info.Detail, Counters: m.admit.counters(e.name, withRejected(info.Counters, e.flowRejected.Load())),
			Neighbours: info.Neighbours, Admits: admits(e, info, s.id), Intents: intents(info.Intents),
			Enrolment: s.enrol})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Layer != out[j].Layer {
			return out[i].Layer < out[j].Layer
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// admits describes whom a layered IPCP's layer admits, once it is in one.
func admits(e *ipcpEntry, info ipcp.Info, id *layerIdentity) string {
	switch {
	case !layered(e.typ) || info.Layer == "":
		return ""
	case id == nil:
		return "open"
	}
	return "CA " + strings.Join(id.cas, ", ")
}

// orderedIPCPsLocked returns the IPCPs in query order: by type rank, then name.
func (m *IRM) orderedIPCPsLocked() []*ipcpEntry {
	out := make([]*ipcpEntry, 0, len(m.ipcps))
	for _, e := range m.ipcps {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if ri, rj := out[i].typ.Rank(), out[j].typ.Rank(); ri != rj {
			return ri < rj
		}
		return out[i].name < out[j].name
	})
	return out
}

func removeString(s []string, v string) []string {
	out := s[:0]
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

func (m *IRM) handleIPCPCreate(_ context.Context, _ *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.IPCPCreate
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	return nil, -1, m.CreateIPCP(req.Name, req.Type)
}

func (m *IRM) handleIPCPDestroy(_ context.Context, _ *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.IPCPRef
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	return nil, -1, m.DestroyIPCP(req.Name)
}

func (m *IRM) handleBootstrap(ctx context.Context, _ *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.IPCPBootstrap
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	return nil, -1, m.Bootstrap(ctx, req)
}

func (m *IRM) handleIPCPList(_ context.Context, _ *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.IPCPFilter
	if len(body) > 0 {
		if err := decode(body, &req); err != nil {
			return nil, -1, err
		}
	}
	return ctrl.IPCPList{IPCPs: m.ListIPCPs(req)}, -1, nil
}
