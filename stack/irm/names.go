package irm

import (
	"context"
	"encoding/json"
	"path"
	"sort"
	"strconv"
	"strings"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/schema"
)

// LB is a name's load-balancing policy across the processes accepting for it.
type LB string

// Policies.
const (
	// RoundRobin hands successive flows to successive accepting processes.
	RoundRobin LB = schema.LBRoundRobin
	// Spillover hands flows to the first bound process that is accepting,
	// spilling over to the next only while it is busy.
	Spillover LB = schema.LBSpillover
)

// ParseLB checks a policy name, or one of the aliases stack/schema lists;
// "" means the default for implicit names.
func ParseLB(s string) (LB, error) {
	lb := schema.LB()
	if s == "" {
		return LB(lb.Default), nil
	}
	v, p := lb.Check("", s)
	if p != "" {
		return "", ctrl.Errorf(ctrl.CodeInvalid, "load-balancing policy %q %s", s, p)
	}
	return LB(v), nil
}

// name is a name known to the IRM.
type name struct {
	name  string
	lb    LB
	ipcps map[string]struct{} // IPCPs it is registered in
	progs []progBinding       // in bind order
	pids  []int               // bound processes, in bind order
	// owners holds, for each bound pid, the uid whose connections from
	// that pid serve the name: the process's uid when it was bound.
	owners map[int]int
	bound  []string // bound IPCPs
	rr     int      // round-robin cursor into pids
	// autoFresh holds the pids of programs irmd started for the name that
	// have not taken a flow yet, autoStarting counts those being started,
	// autoLive those running. Requests that arrive meanwhile wait for them
	// instead of starting more (see arrived).
	autoFresh    map[int]struct{}
	autoStarting int
	autoLive     int
}

type progBinding struct {
	prog string
	auto bool
	args []string
	uid  int // the binding's owner, whose processes serve the name
	gid  int // a group whose members' processes serve it too, or -1
}

// ref describes the binding for the name list.
func (pb *progBinding) ref() ctrl.ProgramRef {
	r := ctrl.ProgramRef{Prog: pb.prog, Auto: pb.auto, Args: pb.args}
	if pb.uid != 0 {
		r.User = strconv.Itoa(pb.uid)
	}
	if pb.gid >= 0 {
		r.Group = strconv.Itoa(pb.gid)
	}
	return r
}

// bindPID binds pid, whose connections of uid serve the name.
func (nm *name) bindPID(pid, uid int) {
	if nm.owners == nil {
		nm.owners = make(map[int]int)
	}
	nm.owners[pid] = uid
	if !nm.hasPID(pid) {
		nm.pids = append(nm.pids, pid)
	}
}

// unbindPID ends pid's binding.
func (nm *name) unbindPID(pid int) {
	nm.pids = removeInt(nm.pids, pid)
	delete(nm.owners, pid)
}

// servedBy reports whether the connection pr serves the name: its pid is
// bound, and pr is of the uid recorded with the binding.
func (nm *name) servedBy(pr *proc) bool {
	uid, ok := nm.owners[pr.pid]
	return ok && uid == pr.uid && nm.hasPID(pr.pid)
}

// maxNameLen is the longest name, as in the reference.
const maxNameLen = 255

func checkName(kind, s string) error {
	switch {
	case s == "":
		return ctrl.Errorf(ctrl.CodeInvalid, "%s name is empty", kind)
	case len(s) > maxNameLen:
		return ctrl.Errorf(ctrl.CodeInvalid, "%s name is %d bytes long, at most %d are allowed", kind, len(s), maxNameLen)
	case strings.ContainsAny(s, "\x00\n"):
		return ctrl.Errorf(ctrl.CodeInvalid, "%s name %q holds a control character", kind, s)
	}
	return nil
}

// nameLocked returns the name, creating it with the default policy when
// create is set. m.mu held.
func (m *IRM) nameLocked(n string, create bool) (*name, error) {
	if nm, ok := m.names[n]; ok {
		return nm, nil
	}
	if !create {
		return nil, ctrl.Errorf(ctrl.CodeNotFound, "no name %q: create it with 'irm name create %s'", n, n)
	}
	if err := checkName("the", n); err != nil {
		return nil, err
	}
	nm := &name{name: n, lb: Spillover, ipcps: make(map[string]struct{})}
	m.names[n] = nm
	return nm, nil
}

// CreateName creates a name with a load-balancing policy.
func (m *IRM) CreateName(req ctrl.NameCreate) error {
	if err := checkName("the", req.Name); err != nil {
		return err
	}
	lb, err := ParseLB(req.LB)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.names[req.Name]; ok {
		return ctrl.Errorf(ctrl.CodeExists, "name %q exists", req.Name)
	}
	nm, _ := m.nameLocked(req.Name, true)
	nm.lb = lb
	return nil
}

// DestroyName unregisters a name everywhere and removes its bindings.
func (m *IRM) DestroyName(n string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	nm, err := m.nameLocked(n, false)
	if err != nil {
		return err
	}
	for ip := range nm.ipcps {
		if e, ok := m.ipcps[ip]; ok {
			m.unregisterLocked(nm, e)
		}
	}
	delete(m.names, n)
	m.signalLocked()
	return nil
}

// RegisterName registers a name in IPCPs and in every IPCP of layers; the
// IPCP and layer names may be shell patterns. The name is created if needed.
func (m *IRM) RegisterName(req ctrl.NameRegister) error {
	return m.forTargets(req, true, func(nm *name, e *ipcpEntry) error {
		if err := e.ipcp.Register(e.ipcp.Info().Hash.Sum(nm.name)); err != nil {
			return err
		}
		nm.ipcps[e.name] = struct{}{}
		e.names[nm.name] = struct{}{}
		return nil
	})
}

// UnregisterName withdraws a name from IPCPs and layers.
func (m *IRM) UnregisterName(req ctrl.NameRegister) error {
	return m.forTargets(req, false, func(nm *name, e *ipcpEntry) error {
		m.unregisterLocked(nm, e)
		return nil
	})
}

func (m *IRM) unregisterLocked(nm *name, e *ipcpEntry) {
	_ = e.ipcp.Unregister(e.ipcp.Info().Hash.Sum(nm.name))
	delete(nm.ipcps, e.name)
	delete(e.names, nm.name)
}

// forTargets applies fn to every IPCP a register request selects.
func (m *IRM) forTargets(req ctrl.NameRegister, create bool, fn func(*name, *ipcpEntry) error) error {
	if len(req.IPCPs) == 0 && len(req.Layers) == 0 {
		return ctrl.Errorf(ctrl.CodeInvalid, "name %q: say which ipcp or layer", req.Name)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	nm, err := m.nameLocked(req.Name, create)
	if err != nil {
		return err
	}
	targets, err := m.matchIPCPsLocked(req.IPCPs, req.Layers)
	if err != nil {
		return err
	}
	for _, e := range targets {
		if err := fn(nm, e); err != nil {
			return err
		}
	}
	return nil
}

// matchIPCPsLocked selects IPCPs by name patterns and layer patterns, in a
// stable order. Every pattern must select at least one IPCP.
func (m *IRM) matchIPCPsLocked(ipcpPats, layerPats []string) ([]*ipcpEntry, error) {
	seen := make(map[string]*ipcpEntry)
	for _, pat := range ipcpPats {
		if err := m.matchInto(seen, pat, "ipcp", func(e *ipcpEntry) string { return e.name }); err != nil {
			return nil, err
		}
	}
	for _, pat := range layerPats {
		if err := m.matchInto(seen, pat, "layer", func(e *ipcpEntry) string { return e.ipcp.Info().Layer }); err != nil {
			return nil, err
		}
	}
	out := make([]*ipcpEntry, 0, len(seen))
	for _, e := range seen {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func (m *IRM) matchInto(seen map[string]*ipcpEntry, pat, kind string, key func(*ipcpEntry) string) error {
	if _, err := path.Match(pat, ""); err != nil {
		return ctrl.Errorf(ctrl.CodeInvalid, "bad %s pattern %q", kind, pat)
	}
	found := false
	for _, e := range m.ipcps {
		k := key(e)
		if ok, _ := path.Match(pat, k); ok && k != "" {
			seen[e.name] = e
			found = true
		}
	}
	if !found {
		return ctrl.Errorf(ctrl.CodeNotFound, "no %s matches %q: see 'irm ipcp list'", kind, pat)
	}
	return nil
}

// ListNames lists the names starting with prefix, sorted.
func (m *IRM) ListNames(prefix string) []ctrl.NameInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []ctrl.NameInfo{}
	for _, nm := range m.names {
		if !strings.HasPrefix(nm.name, prefix) {
			continue
		}
		out = append(out, m.nameInfoLocked(nm))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (m *IRM) nameInfoLocked(nm *name) ctrl.NameInfo {
	info := ctrl.NameInfo{Name: nm.name, LB: string(nm.lb), Processes: append([]int(nil), nm.pids...),
		BoundIPCPs: append([]string(nil), nm.bound...)}
	for ip := range nm.ipcps {
		info.IPCPs = append(info.IPCPs, ip)
	}
	sort.Strings(info.IPCPs)
	for _, pb := range nm.progs {
		info.Programs = append(info.Programs, pb.ref())
	}
	for pr := range m.procs {
		if len(pr.accepts) > 0 && nm.servedBy(pr) {
			info.Accepting++
		}
	}
	return info
}

func (nm *name) hasPID(pid int) bool {
	for _, p := range nm.pids {
		if p == pid {
			return true
		}
	}
	return false
}

func (m *IRM) handleNameCreate(_ context.Context, _ *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.NameCreate
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	if req.LB == "" {
		req.LB = string(RoundRobin) // as the reference irm: explicit names default to round-robin
	}
	return nil, -1, m.CreateName(req)
}

func (m *IRM) handleNameDestroy(_ context.Context, _ *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.NameRef
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	return nil, -1, m.DestroyName(req.Name)
}

func (m *IRM) handleNameRegister(_ context.Context, _ *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.NameRegister
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	return nil, -1, m.RegisterName(req)
}

func (m *IRM) handleNameUnregister(_ context.Context, _ *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.NameRegister
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	return nil, -1, m.UnregisterName(req)
}

func (m *IRM) handleNameList(_ context.Context, _ *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.NameFilter
	if len(body) > 0 {
		if err := decode(body, &req); err != nil {
			return nil, -1, err
		}
	}
	return ctrl.NameList{Names: m.ListNames(req.Prefix)}, -1, nil
}
