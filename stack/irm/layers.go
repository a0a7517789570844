package irm

import (
	"context"
	"encoding/json"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
)

// layerTimeout bounds an enrolment, connection or disconnection whose
// caller set no shorter deadline: each involves a peer, through a lower
// layer, that may not answer.
const layerTimeout = 20 * time.Second

// Enroll makes an IPCP a member of an existing layer through the member
// reached by req.Dst (default: the layer's name), creating the IPCP first
// when it does not exist (of req.Type, default unicast). With Autobind, the
// IPCP is then bound to its own name and to the layer's. An IPCP it created
// is removed again if the enrolment fails.
func (m *IRM) Enroll(ctx context.Context, req ctrl.IPCPEnroll) (err error) {
	if err := checkName("the IPCP", req.Name); err != nil {
		return err
	}
	if req.Layer != "" {
		if err := checkName("the layer", req.Layer); err != nil {
			return err
		}
	}
	dst := req.Dst
	if dst == "" {
		dst = req.Layer
	}
	if dst == "" {
		return ctrl.Errorf(ctrl.CodeInvalid, "ipcp %s: give the layer to join or the member to enroll through", req.Name)
	}
	if err := checkName("the destination", dst); err != nil {
		return err
	}
	create := req.Type
	if create == "" {
		create = string(ipcp.Unicast)
	}
	e, created, err := m.ipcpOrCreate(req.Name, req.Type, create)
	if err != nil {
		return err
	}
	defer func() {
		if created {
			m.undoCreate(e, "enrolment", err)
		}
	}()
	l, err := asLayered(e, "enroll")
	if err != nil {
		return err
	}
	if err := m.setIdentity(e, req.Identity); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, layerTimeout)
	defer cancel()
	m.mu.Lock()
	e.joining = req.Layer
	m.mu.Unlock()
	if err := l.Enroll(ctx, req.Layer, dst); err != nil {
		m.mu.Lock()
		e.joining = ""
		m.mu.Unlock()
		return err
	}
	layer := l.Info().Layer
	m.log.Info("IPCP enrolled", "ipcp", req.Name, "layer", layer, "dst", dst, "type", e.typ)
	if req.Autobind {
		// The IPCP is in its layer: a failure to bind it does not undo that.
		if err := m.autobind(req.Name, layer); err != nil {
			created = false
			return err
		}
	}
	return nil
}

// Connect sets up an adjacency between an IPCP and its neighbour req.Dst:
// component "dt", "mgmt", or both when "". req.QoS names the data transfer
// flow's QoS (default raw).
func (m *IRM) Connect(ctx context.Context, req ctrl.IPCPConnect) error {
	l, err := m.connectTarget(req, "connect")
	if err != nil {
		return err
	}
	q := qos.Raw
	if req.QoS != "" {
		if q, err = qos.Parse(req.QoS); err != nil {
			return ctrl.Errorf(ctrl.CodeInvalid, "ipcp %s: %v", req.Name, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, layerTimeout)
	defer cancel()
	if err := l.Connect(ctx, req.Dst, req.Component, q); err != nil {
		return err
	}
	m.log.Info("IPCP connected", "ipcp", req.Name, "dst", req.Dst, "component", componentName(req.Component), "qos", q.String())
	return nil
}

// Disconnect tears down an adjacency that Connect set up.
func (m *IRM) Disconnect(ctx context.Context, req ctrl.IPCPConnect) error {
	l, err := m.connectTarget(req, "disconnect")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, layerTimeout)
	defer cancel()
	if err := l.Disconnect(ctx, req.Dst, req.Component); err != nil {
		return err
	}
	m.log.Info("IPCP disconnected", "ipcp", req.Name, "dst", req.Dst, "component", componentName(req.Component))
	return nil
}

// connectTarget checks a connect or disconnect request and returns its IPCP.
func (m *IRM) connectTarget(req ctrl.IPCPConnect, op string) (ipcp.Layered, error) {
	if err := checkName("the neighbour", req.Dst); err != nil {
		return nil, err
	}
	switch req.Component {
	case "", "dt", "mgmt":
	default:
		return nil, ctrl.Errorf(ctrl.CodeInvalid, "unknown component %q: use dt, mgmt, or none for both", req.Component)
	}
	m.mu.Lock()
	e, ok := m.ipcps[req.Name]
	m.mu.Unlock()
	if !ok {
		return nil, ctrl.Errorf(ctrl.CodeNotFound, "no IPCP %q: see 'irm ipcp list'", req.Name)
	}
	return asLayered(e, op)
}

// asLayered returns the IPCP if it joins layers and connects to
// neighbours, else says why not.
func asLayered(e *ipcpEntry, op string) (ipcp.Layered, error) {
	if l, ok := e.ipcp.(ipcp.Layered); ok {
		return l, nil
	}
	if layered(e.typ) {
		return nil, ctrl.Errorf(ctrl.CodeNotSupported, "%s is not supported yet for %s IPCPs (%q is one)", op, e.typ, e.name)
	}
	return nil, ctrl.Errorf(ctrl.CodeInvalid, "%s applies to unicast and broadcast IPCPs; %q is a %s IPCP", op, e.name, e.typ)
}

func componentName(c string) string {
	if c == "" {
		return "dt+mgmt"
	}
	return c
}

// autobind binds an IPCP to its own name and to its layer's, as 'irm bind
// ipcp' does, so that flows for either reach it: the names through which
// others enroll and connect.
func (m *IRM) autobind(n, layer string) error {
	for _, name := range []string{n, layer} {
		if err := m.BindIPCP(ctrl.BindIPCP{IPCP: n, Name: name}); err != nil {
			return err
		}
	}
	m.log.Info("IPCP bound to its names", "ipcp", n, "names", []string{n, layer})
	return nil
}

func (m *IRM) handleEnroll(ctx context.Context, _ *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.IPCPEnroll
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	return nil, -1, m.Enroll(ctx, req)
}

func (m *IRM) handleConnect(ctx context.Context, _ *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.IPCPConnect
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	return nil, -1, m.Connect(ctx, req)
}

func (m *IRM) handleDisconnect(ctx context.Context, _ *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.IPCPConnect
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	return nil, -1, m.Disconnect(ctx, req)
}
