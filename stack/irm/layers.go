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

// attemptTimeout bounds the first attempt of a connect, and an enrolment
// whose caller set no deadline (irm's, not irmd.conf's retries): a member
// that does not answer by then is reported down (and, for a connect with
// persist, retried in the background) rather than keeping the admin
// waiting.
const attemptTimeout = 4 * time.Second

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
	limit := layerTimeout
	if _, ok := ctx.Deadline(); !ok {
		limit = attemptTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	m.enrolling(e, req.Layer, dst)
	if err := l.Enroll(ctx, req.Layer, dst); err != nil {
		m.enrolFailed(e, err)
		return err
	}
	m.mu.Lock()
	e.enrolment = nil
	m.mu.Unlock()
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

// Connect makes an intended adjacency between an IPCP and its neighbour
// req.Dst, component "dt", "mgmt", or both when "", which the IPCP keeps
// up until Disconnect. req.QoS names the data transfer flow's QoS (default
// raw). It returns once the adjacency is up, or fails with the reason
// when it cannot be set up within attemptTimeout, keeping nothing; with
// req.Persist it then succeeds with ConnectRetrying and the reason, and
// the IPCP keeps retrying.
func (m *IRM) Connect(ctx context.Context, req ctrl.IPCPConnect) (ctrl.IPCPConnectReply, error) {
	l, err := m.connectTarget(req, "connect")
	if err != nil {
		return ctrl.IPCPConnectReply{}, err
	}
	q := qos.Raw
	if req.QoS != "" {
		if q, err = qos.Parse(req.QoS); err != nil {
			return ctrl.IPCPConnectReply{}, ctrl.Errorf(ctrl.CodeInvalid, "ipcp %s: %v", req.Name, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	res, err := l.Connect(ctx, req.Dst, req.Component, q, req.Persist)
	attrs := []any{"ipcp", req.Name, "dst", req.Dst, "component", componentName(req.Component), "qos", q.String()}
	switch {
	case err != nil:
		m.log.Info("IPCP connect failed", append(attrs, "err", err)...)
		return ctrl.IPCPConnectReply{}, err
	case res.Pending != nil:
		m.log.Info("IPCP connect kept, not up yet", append(attrs, "err", res.Pending)...)
		return ctrl.IPCPConnectReply{Status: ctrl.ConnectRetrying, Reason: res.Pending.Error()}, nil
	case res.Already:
		return ctrl.IPCPConnectReply{Status: ctrl.ConnectAlready}, nil
	}
	m.log.Info("IPCP connected", attrs...)
	return ctrl.IPCPConnectReply{Status: ctrl.ConnectUp}, nil
}

// Disconnect removes an intended adjacency that Connect made, up or not,
// and takes down the IPCP's flows with that neighbour.
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

// intents converts an IPCP's intended adjacencies for the list.
func intents(in []ipcp.Intent) []ctrl.Intent {
	var out []ctrl.Intent
	for _, i := range in {
		out = append(out, ctrl.Intent{Dst: i.Dst, Component: i.Component, State: i.State, Since: i.Since,
			Attempts: i.Attempts, LastErr: i.LastErr, Next: i.Next})
	}
	return out
}

// enrolling records that an enrolment attempt of e through dst began.
func (m *IRM) enrolling(e *ipcpEntry, layer, dst string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.joining = layer
	if e.enrolment == nil || e.enrolment.Dst != dst {
		e.enrolment = &ctrl.Enrolment{Dst: dst, Since: time.Now()}
	}
	if e.enrolment.State != ctrl.EnrolEnrolling {
		e.enrolment.State, e.enrolment.Since = ctrl.EnrolEnrolling, time.Now()
	}
	e.enrolment.Next = time.Time{}
}

// enrolFailed records a failed enrolment attempt, unless the IPCP is a
// member already (it was asked to enrol again): then it has no enrolment
// to show.
func (m *IRM) enrolFailed(e *ipcpEntry, err error) {
	member := e.ipcp.Info().State != ipcp.StateCreated
	m.mu.Lock()
	defer m.mu.Unlock()
	e.joining = ""
	if member {
		e.enrolment = nil
	}
	if e.enrolment == nil {
		return
	}
	e.enrolment.Attempts++
	e.enrolment.LastErr = err.Error()
	e.enrolment.State, e.enrolment.Since = ctrl.EnrolFailed, time.Now()
}

// EnrolRetry records that the enrolment of IPCP n, which failed, is tried
// again at next, and then connects to the neighbours then: irm ipcp list
// and show say so.
func (m *IRM) EnrolRetry(n string, next time.Time, then []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.ipcps[n]; ok && e.enrolment != nil {
		e.enrolment.Then = then
		e.enrolment.State, e.enrolment.Since, e.enrolment.Next = ctrl.EnrolRetrying, time.Now(), next
	}
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
	rep, err := m.Connect(ctx, req)
	if err != nil {
		return nil, -1, err
	}
	return rep, -1, nil
}

func (m *IRM) handleDisconnect(ctx context.Context, _ *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.IPCPConnect
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	return nil, -1, m.Disconnect(ctx, req)
}
