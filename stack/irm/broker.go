package irm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"sort"
	"syscall"
	"time"

	"o7s.dev/ouroboros/stack/crypt"
	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
)

// acceptReq is a process waiting in accept. Arrived takes it (under IRM.mu)
// and then sends the flow on ch; the waiting handler, seeing it taken, waits
// for that result even if it is giving up, so no flow is lost.
type acceptReq struct {
	pr    *proc
	ch    chan acceptResult
	taken bool
}

type acceptResult struct {
	info ctrl.FlowInfo
	fd   int
	err  error // why the flow taken for this accept could not be handed over
}

func (m *IRM) handleAccept(ctx context.Context, pr *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.FlowAccept
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	if pr.role != ctrl.RoleApp {
		return nil, -1, ctrl.Errorf(ctrl.CodeNotAllowed, "only applications accept flows")
	}
	if err := m.mayAccept(pr); err != nil {
		return nil, -1, err
	}
	if req.TimeoutMS > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.TimeoutMS)*time.Millisecond)
		defer cancel()
	}
	a := &acceptReq{pr: pr, ch: make(chan acceptResult, 1)}
	m.mu.Lock()
	pr.accepts = append(pr.accepts, a)
	m.signalLocked()
	m.mu.Unlock()

	select {
	case r := <-a.ch:
		return r.reply()
	case <-ctx.Done():
	}
	m.mu.Lock()
	if a.taken {
		m.mu.Unlock()
		r := <-a.ch
		return r.reply()
	}
	pr.accepts = removeAccept(pr.accepts, a)
	m.mu.Unlock()
	return nil, -1, ctrl.Errorf(ctrl.CodeTimeout, "no flow arrived in time")
}

// reply is what the accepting process is answered: the flow, or why the
// flow that arrived for it could not be handed over.
func (r acceptResult) reply() (any, int, error) {
	if r.err != nil {
		return nil, -1, r.err
	}
	return r.info, r.fd, nil
}

func removeAccept(s []*acceptReq, a *acceptReq) []*acceptReq {
	out := s[:0]
	for _, x := range s {
		if x != a {
			out = append(out, x)
		}
	}
	return out
}

func (m *IRM) handleAlloc(ctx context.Context, pr *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.FlowAlloc
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	if pr.role != ctrl.RoleApp {
		return nil, -1, ctrl.Errorf(ctrl.CodeNotAllowed, "only applications allocate flows")
	}
	if err := checkName("the destination", req.Name); err != nil {
		return nil, -1, err
	}
	if req.From != "" {
		if err := m.mayAllocFrom(pr, req.From); err != nil {
			return nil, -1, err
		}
	}
	timeout := m.cfg.AllocTimeout
	if req.TimeoutMS > 0 {
		timeout = time.Duration(req.TimeoutMS) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return m.alloc(ctx, pr, req.Name, req.From, req.Layer, req.QoS)
}

// mayAllocFrom refuses an allocation from the name from by a process that
// does not serve it: irmd would present from's certificate for it, and
// so prove to the far end that the process is from.
func (m *IRM) mayAllocFrom(pr *proc, from string) error {
	if err := checkName("the source", from); err != nil {
		return err
	}
	m.mu.Lock()
	nm, ok := m.names[from]
	bound := ok && nm.servedBy(pr)
	m.mu.Unlock()
	if bound {
		return nil
	}
	err := ctrl.Errorf(ctrl.CodeNotAllowed, "process %d is not bound to %s: bind it first ('irm bind process %d name %s')", pr.pid, from, pr.pid, from)
	m.refusals.Log(slog.LevelWarn, "alloc from", "flow refused", "from", from, "pid", pr.pid, "uid", pr.uid, "err", err)
	return err
}

// alloc allocates a flow for pr to name, as the name from ("": as the
// host), through the first IPCP that reaches it (in layer, if not "").
func (m *IRM) alloc(ctx context.Context, pr *proc, n, from, layer string, q qos.Spec) (any, int, error) {
	ip, hash, err := m.findIPCP(ctx, n, layer)
	if err != nil {
		return nil, -1, err
	}
	req, st, err := m.crypt.request(n, from)
	if err != nil {
		return nil, -1, err
	}
	p, fd, err := m.newPort(pr, n, q, ip, sideAlloc)
	if err != nil {
		return nil, -1, err
	}
	resp, err := ip.Alloc(ctx, n, hash, q, req, p)
	var keys []byte
	var peer proof
	if err == nil {
		keys, peer, err = m.crypt.finish(n, st, resp)
		if err != nil {
			p.Down(reasonDown) // the peer accepted: tell it the flow is gone
		}
		p.setPeer(peer)
	}
	if err != nil {
		p.discard()
		closeFD(fd)
		return nil, -1, err
	}
	m.log.Debug("flow allocated", "id", p.id, "name", n, "from", from, "qos", q.String(), "pid", pr.pid)
	maxSDU := ip.MaxSDU()
	if len(keys) > 0 {
		maxSDU -= crypt.Overhead
		p.encrypted.Store(true)
	}
	return ctrl.FlowInfo{ID: p.id, Name: n, QoS: q, Layer: ip.Info().Layer, MaxSDU: maxSDU, Keys: keys, Peer: peer.info}, fd, nil
}

// findIPCP asks the IPCPs, in query order, which reaches the name; only
// those in layer if it is not "".
func (m *IRM) findIPCP(ctx context.Context, n, layer string) (ipcp.IPCP, []byte, error) {
	in := 0
	ip, hash, lookErr := m.reach(ctx, n, func(_ *ipcpEntry, info ipcp.Info) bool {
		if layer != "" && info.Layer != layer {
			return false
		}
		in++
		return true
	})
	switch {
	case ip == nil && lookErr != nil:
		// A directory could not say: the name may exist.
		return nil, nil, ctrl.Errorf(ctrl.CodeUnreachable, "%v", lookErr)
	case ip == nil && layer != "" && in == 0:
		return nil, nil, ctrl.Errorf(ctrl.CodeUnreachable,
			"no IPCP of this host is in layer %s: see 'irm ipcp list'", layer)
	case ip == nil && layer != "":
		return nil, nil, ctrl.Errorf(ctrl.CodeNoName,
			"%q is not registered in layer %s", n, layer)
	case ip == nil:
		return nil, nil, ctrl.Errorf(ctrl.CodeNoName,
			"no layer reaches %q: register it in one with 'irm name register %s layer LAYER'", n, n)
	}
	return ip, hash, nil
}

// reach asks, in query order, the IPCPs that are in a layer and that keep
// lets through, which of them reaches the name. It returns the first, with
// the name's hash in its layer, or nil and the first error of a directory
// that could not say whether it has the name (ipcp.Looker), if any.
func (m *IRM) reach(ctx context.Context, n string, keep func(*ipcpEntry, ipcp.Info) bool) (ipcp.IPCP, []byte, error) {
	m.mu.Lock()
	entries := m.orderedIPCPsLocked()
	m.mu.Unlock()
	var lookErr error
	for _, e := range entries {
		info := e.ipcp.Info()
		if info.State == ipcp.StateCreated || info.Layer == "" || !keep(e, info) {
			continue
		}
		h := info.Hash.Sum(n)
		lk, ok := e.ipcp.(ipcp.Looker)
		if !ok {
			if e.ipcp.Reachable(ctx, n, h) {
				return e.ipcp, h, nil
			}
			continue
		}
		err := lk.Lookup(ctx, n, h)
		if err == nil {
			return e.ipcp, h, nil
		}
		if !errors.Is(err, ipcp.ErrNoName) && lookErr == nil {
			lookErr = err
		}
	}
	return nil, nil, lookErr
}

// Arrived implements ipcp.Host: it hands the flow to an IPCP bound to the
// name that accepts flows (a layered IPCP, for enrolment and adjacencies),
// else to a process accepting for the name, starting a bound program when
// none is. src names the requester as from sees it.
//
// The allocation's data is the flow's key exchange, answered under the
// acceptor's policy: a member flow's under the IPCP's identity
// (membership.go), an application flow's under the name's policy; an
// application flow without one is refused unless the policy allows it.
//
// A request is a stranger's until its key exchange completes: the checks
// that cost little come first, and the exchange runs only within the
// source's and the host's rates (admit.go). Refusals are counted by cause
// for from and logged at most once per cause per interval.
func (m *IRM) Arrived(ctx context.Context, from ipcp.IPCP, src string, hash []byte, q qos.Spec, data []byte) (ipcp.Port, []byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, m.cfg.AllocTimeout)
		defer cancel()
	}
	info := from.Info()
	key := sourceKey(info.Name, src)
	n, err := m.nameForHash(info, hash)
	if err != nil {
		m.admit.refuse(info.Name, causeUnknownName, "flow refused", "source", key, "err", err)
		return nil, nil, err
	}
	p, resp, acceptor, err := m.admitFlow(ctx, from, info, key, n, q, data)
	if err != nil {
		what := "flow refused"
		if acceptor != "" {
			what = "member flow refused"
		}
		m.admit.refuse(info.Name, causeOf(err, causeOther), what, "source", key, "name", n, "ipcp", acceptor, "err", err)
		return nil, nil, err
	}
	return p, resp, nil
}

// admitFlow takes a flow for n from source key through from, in the order
// of Arrived, and holds the flow's place under the caps until it ends.
// acceptor is the IPCP a member flow is for, "" for a process's flow.
func (m *IRM) admitFlow(ctx context.Context, from ipcp.IPCP, info ipcp.Info, key, n string, q qos.Spec, data []byte) (_ ipcp.Port, resp []byte, acceptor string, _ error) {
	e, graceOver, err := m.waitBoundIPCP(ctx, from, n)
	if err != nil {
		return nil, nil, "", refused(causeTimeout, err)
	}
	bySource := !localSource(info.Type)
	if e != nil {
		if err := m.kexAllowed(key, bySource, data); err != nil {
			return nil, nil, e.name, err
		}
		p, resp, err := m.acceptLower(e, from, key, n, q, data)
		return p, resp, e.name, err
	}
	if graceOver && !m.forProcess(n) {
		return nil, nil, "", refused(causeNoAcceptor, m.noAcceptor(n))
	}
	t, err := m.admit.reserve(n, key, bySource)
	if err != nil {
		return nil, nil, "", refused(causeOf(err, causeCap), err)
	}
	p, resp, err := m.admitProcessFlow(ctx, from, key, bySource, n, q, data, graceOver)
	if err != nil {
		t.release()
		return nil, nil, "", err
	}
	t.handed()
	p.hold(t)
	return p, resp, "", nil
}

// admitProcessFlow runs a process flow's key exchange, within the rates,
// and hands the flow to a process.
func (m *IRM) admitProcessFlow(ctx context.Context, from ipcp.IPCP, key string, bySource bool, n string, q qos.Spec, data []byte, graceOver bool) (*port, []byte, error) {
	if err := m.kexAllowed(key, bySource, data); err != nil {
		return nil, nil, err
	}
	resp, keys, peer, err := m.crypt.respond(key, n, data)
	if err == nil && keys == nil && !m.crypt.policy(n).Plain {
		err = refused(causeCrypto, ctrl.Errorf(ctrl.CodeNotAllowed, "flows to %q are encrypted: the request carried no key exchange", n))
	}
	if err != nil {
		return nil, nil, err
	}
	p, err := m.arrived(ctx, from, n, q, secret{keys, peer}, graceOver)
	if err != nil {
		return nil, nil, err
	}
	return p, resp, nil
}

// kexAllowed takes a key exchange from the rates, if the request carries
// one (data): the host's, and the source's if bySource.
func (m *IRM) kexAllowed(key string, bySource bool, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	return refused(causeRate, m.admit.allowKEX(key, bySource, time.Now()))
}

// forProcess reports whether a process or program is bound to n.
func (m *IRM) forProcess(n string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	nm, ok := m.names[n]
	return ok && (len(nm.pids) > 0 || len(nm.progs) > 0)
}

// secret is what a flow's key exchange gave the accepting end: the keys,
// encoded for the application (nil: unencrypted), and what it proved
// about the peer.
type secret struct {
	keys []byte
	peer proof
}

// waitBoundIPCP returns the IPCP that takes a flow for n: one bound to it
// now, or, while no process or program is bound to n either, one bound
// within the grace period (its layer is being set up). nil means the flow
// is for a process; graceOver that the grace period ran out waiting, or
// that too many requests for n wait in it already (maxGracePerName).
func (m *IRM) waitBoundIPCP(ctx context.Context, from ipcp.IPCP, n string) (e *ipcpEntry, graceOver bool, err error) {
	var grace *time.Timer
	for {
		if e := m.boundIPCP(from, n); e != nil {
			return e, false, nil
		}
		m.mu.Lock()
		nm, ok := m.names[n]
		forProcess := ok && (len(nm.pids) > 0 || len(nm.progs) > 0)
		changed := m.changed
		m.mu.Unlock()
		if forProcess {
			return nil, false, nil
		}
		if grace == nil {
			if !m.admit.enterGrace(n) {
				return nil, true, nil
			}
			defer m.admit.leaveGrace(n)
			grace = time.NewTimer(m.cfg.BindGrace)
			defer grace.Stop()
		}
		select {
		case <-changed:
		case <-grace.C:
			return nil, true, nil
		case <-ctx.Done():
			return nil, false, ctrl.Errorf(ctrl.CodeTimeout, "nothing took the flow for %q in time", n)
		}
	}
}

// arrived finds a process for a flow to n with sec, waiting for one to
// accept, starting a bound program if need be. graceOver says the grace
// period for a binding is over already.
func (m *IRM) arrived(ctx context.Context, from ipcp.IPCP, n string, q qos.Spec, sec secret, graceOver bool) (*port, error) {
	grace := time.NewTimer(m.cfg.BindGrace)
	defer grace.Stop()
	var exited <-chan error // the auto-started program's end
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, refused(causeDown, ctrl.Errorf(ctrl.CodeDown, "irmd is shutting down"))
		}
		nm, ok := m.names[n]
		if !ok {
			m.mu.Unlock()
			return nil, refused(causeDown, ctrl.Errorf(ctrl.CodeUnreachable, "name %q was destroyed", n))
		}
		if a := m.pickLocked(nm); a != nil {
			m.mu.Unlock()
			return m.hand(a, n, q, from, sec)
		}
		bound := m.boundAliveLocked(nm)
		auto := nm.autoProgram()
		start := exited == nil && auto != nil && nm.mayAutoStart(graceOver)
		if start {
			nm.autoStarting++ // others wait for it from now on
		}
		coming := nm.autoComing() // started for another request, not serving yet
		changed := m.changed
		m.mu.Unlock()

		var err error
		if start {
			if exited, err = m.autoStart(*auto, n); err != nil {
				return nil, refused(causeNoAcceptor, err)
			}
		}
		if exited == nil && !bound && !coming && graceOver {
			return nil, refused(causeNoAcceptor, m.noAcceptor(n))
		}
		select {
		case <-changed:
		case <-grace.C:
			graceOver = true
		case err := <-exited:
			return nil, refused(causeNoAcceptor, ctrl.Errorf(ctrl.CodeUnreachable, "%s, started for %q, exited before accepting: %v", auto.prog, n, err))
		case <-ctx.Done():
			return nil, refused(causeTimeout, ctrl.Errorf(ctrl.CodeTimeout, "no process accepted the flow for %q in time", n))
		}
	}
}

// noAcceptor says why nothing on this host takes a flow for n, and what
// to do about it here: bind an IPCP when n is an IPCP's name or its
// layer's (the flow is an enrolment or an adjacency), else a process.
func (m *IRM) noAcceptor(n string) error {
	m.mu.Lock()
	entries := m.orderedIPCPsLocked()
	m.mu.Unlock()
	for _, e := range entries {
		what := ""
		switch {
		case e.name == n:
			what = "the name of IPCP " + e.name
		case layered(e.typ) && e.ipcp.Info().Layer == n: // Info without m.mu: see ListIPCPs
			what = "the layer of IPCP " + e.name
		default:
			continue
		}
		if !layered(e.typ) {
			return ctrl.Errorf(ctrl.CodeUnreachable, "%q is %s (%s) on this host, which takes no flows: only unicast and broadcast IPCPs do", n, what, e.typ)
		}
		return ctrl.Errorf(ctrl.CodeUnreachable,
			"%q is %s on this host, which is not bound to it: bind it with 'irm bind ipcp %s name %s' (autobind does so at bootstrap or enrolment)", n, what, e.name, n)
	}
	return ctrl.Errorf(ctrl.CodeUnreachable,
		"no process accepts flows for %q on this host: bind one with 'irm bind process PID name %s' or 'irm bind program PROG name %s auto'", n, n, n)
}

// nameForHash returns the name registered in the IPCP described by info
// whose hash is hash.
func (m *IRM) nameForHash(info ipcp.Info, hash []byte) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.ipcps[info.Name]
	if ok {
		for n := range e.names {
			if bytes.Equal(info.Hash.Sum(n), hash) {
				return n, nil
			}
		}
	}
	return "", ctrl.Errorf(ctrl.CodeUnreachable, "no name with this hash is registered in IPCP %s", info.Name)
}

// pickLocked chooses an accepting process for the name by its policy and
// takes its oldest accept request. m.mu held.
func (m *IRM) pickLocked(nm *name) *acceptReq {
	if len(nm.pids) == 0 {
		return nil
	}
	start := 0
	if nm.lb == RoundRobin {
		start = nm.rr % len(nm.pids)
	}
	for i := range nm.pids {
		idx := (start + i) % len(nm.pids)
		for _, pr := range m.procsOfLocked(nm.pids[idx]) {
			if pr.role != ctrl.RoleApp || len(pr.accepts) == 0 || !nm.servedBy(pr) {
				continue
			}
			a := pr.accepts[0]
			pr.accepts = pr.accepts[1:]
			a.taken = true
			delete(nm.autoFresh, pr.pid)
			nm.rr = idx + 1
			return a
		}
	}
	return nil
}

// procsOfLocked returns the connections of a pid in a stable order.
func (m *IRM) procsOfLocked(pid int) []*proc {
	var out []*proc
	for pr := range m.procs {
		if pr.pid == pid {
			out = append(out, pr)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// boundAliveLocked reports whether a live process is bound to the name; it
// forgets bound pids that have exited without ever attaching.
func (m *IRM) boundAliveLocked(nm *name) bool {
	live := nm.pids[:0]
	for _, pid := range nm.pids {
		if len(m.procsOfLocked(pid)) > 0 || processAlive(pid) {
			live = append(live, pid)
		}
	}
	clear(nm.pids[len(live):])
	nm.pids = live
	return len(live) > 0
}

func (nm *name) autoProgram() *progBinding {
	for i := range nm.progs {
		if nm.progs[i].auto {
			return &nm.progs[i]
		}
	}
	return nil
}

// hand gives the flow to the process behind a taken accept request.
func (m *IRM) hand(a *acceptReq, n string, q qos.Spec, from ipcp.IPCP, sec secret) (*port, error) {
	p, fd, err := m.newPort(a.pr, n, q, from, sideAccept)
	if err != nil {
		a.ch <- acceptResult{fd: -1, err: ctrl.Errorf(ctrl.CodeInternal, "a flow for %q arrived but could not be handed over: %v", n, err)}
		return nil, err
	}
	p.setPeer(sec.peer)
	maxSDU := from.MaxSDU()
	if len(sec.keys) > 0 {
		maxSDU -= crypt.Overhead
		p.encrypted.Store(true)
	}
	a.ch <- acceptResult{info: ctrl.FlowInfo{ID: p.id, Name: n, QoS: q, Layer: from.Info().Layer, MaxSDU: maxSDU, Keys: sec.keys, Peer: sec.peer.info}, fd: fd}
	return p, nil
}

// maxAutoLive bounds the instances of a name's program that irmd runs at
// once for it: each started one serves the requests that arrive while it
// starts, so a burst of requests costs one process, not one each.
const maxAutoLive = 16

// mayAutoStart reports whether a request that finds nobody accepting may
// start the name's program: not while an instance started earlier has yet
// to take its first flow, and, while instances run, only once the request
// has waited the grace period for them to accept again (a program that
// serves one flow per process gets more of them, one per grace period);
// never beyond maxAutoLive. IRM.mu held.
func (nm *name) mayAutoStart(graceOver bool) bool {
	return !nm.autoComing() && (nm.autoLive == 0 || graceOver) && nm.autoLive < maxAutoLive
}

// autoComing reports whether an instance of the name's program is being
// started, or has started and not yet taken a flow. IRM.mu held.
func (nm *name) autoComing() bool {
	return nm.autoStarting > 0 || len(nm.autoFresh) > 0
}

// autoStart starts a bound program for a flow to name, which the caller
// counted in the name's autoStarting. The returned channel yields the
// program's exit status when it ends.
func (m *IRM) autoStart(pb progBinding, n string) (<-chan error, error) {
	cmd := exec.Command(pb.prog, pb.args...)
	cmd.Env = append(os.Environ(), ctrl.EnvRunDir+"="+m.cfg.RunDir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		m.autoStarted(n, 0, 0)
		return nil, ctrl.Errorf(ctrl.CodeUnreachable, "cannot start %s for %q: %v", pb.prog, n, err)
	}
	pid := cmd.Process.Pid
	m.log.Info("auto-started program", "prog", pb.prog, "args", pb.args, "name", n, "pid", pid)
	m.autoStarted(n, pid, +1)
	exited := make(chan error, 1)
	tracked := m.track() // not when irmd is closing: then only reaped
	go func() {
		if tracked {
			defer m.wg.Done()
		}
		err := cmd.Wait()
		if err == nil {
			err = errors.New("exit status 0")
		}
		m.log.Info("auto-started program ended", "prog", pb.prog, "pid", pid, "status", err)
		m.autoStarted(n, pid, -1)
		exited <- err
	}()
	return exited, nil
}

// autoStarted records that irmd started (delta +1), failed to start
// (0) or reaped (-1) the program with pid for name n, and wakes the
// requests waiting for it.
func (m *IRM) autoStarted(n string, pid, delta int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if nm, ok := m.names[n]; ok {
		if delta >= 0 {
			nm.autoStarting = max(0, nm.autoStarting-1)
		}
		nm.autoLive = max(0, nm.autoLive+delta)
		if delta > 0 {
			if nm.autoFresh == nil {
				nm.autoFresh = map[int]struct{}{}
			}
			nm.autoFresh[pid] = struct{}{}
		} else {
			delete(nm.autoFresh, pid)
		}
	}
	m.signalLocked()
}

// discard releases a port whose flow never reached its application.
func (p *port) discard() {
	p.appGone.Store(true)
	p.Down(reasonDown)
}

// ListFlows lists the flow ends of the host, by id: those of processes, and
// those of layered IPCPs over lower layers.
func (m *IRM) ListFlows() []ctrl.FlowStat {
	m.mu.Lock()
	ports := make([]*port, 0, len(m.ports))
	for _, p := range m.ports {
		ports = append(ports, p)
	}
	m.mu.Unlock()
	out := make([]ctrl.FlowStat, 0, len(ports))
	for _, p := range ports {
		out = append(out, p.stat())
	}
	out = append(out, m.lowerStats()...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (m *IRM) handleFlowList(context.Context, *proc, json.RawMessage) (any, int, error) {
	return ctrl.FlowList{Flows: m.ListFlows()}, -1, nil
}
