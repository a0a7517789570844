package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"o7s.dev/ouroboros/stack/config"
	"o7s.dev/ouroboros/stack/crypt"
	"o7s.dev/ouroboros/stack/crypt/cert"
	"o7s.dev/ouroboros/stack/crypt/oap"
	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/irm"
)

// apply sets up what the configuration describes, through the same IRM
// calls the irm tool makes: names first (so their policies hold when
// registration creates them), then IPCPs, lower layers first, and their
// registrations. Bootstrapping is done before apply returns, and its
// failure is the error. Enrolments and connections need a peer, which may
// not be up yet: they go on in the background (see joiner), retrying until
// they succeed or ctx ends. wait waits for them to give up once ctx is done.
func apply(ctx context.Context, m *irm.IRM, cfg *config.Config, log *slog.Logger) (wait func(), err error) {
	j := &joiner{m: m, log: log, backoff: defaultBackoff}
	bootCtx, cancel := context.WithTimeout(ctx, applyTimeout)
	defer cancel()
	if err := applyIdentity(m, cfg); err != nil {
		return j.wg.Wait, fmt.Errorf("[irmd]: %w", err)
	}
	for _, n := range cfg.Names {
		if err := applyName(m, n); err != nil {
			return j.wg.Wait, fmt.Errorf("[name.%s]: %w", n.Name, err)
		}
	}
	for _, ip := range cfg.IPCPs {
		if err := applyIPCP(ctx, bootCtx, j, ip); err != nil {
			return j.wg.Wait, fmt.Errorf("[%s.%s]: %w", ip.Type, ip.Name, err)
		}
	}
	return j.wg.Wait, nil
}

// applyIdentity loads the CAs irmd trusts, the host's certificate and the
// certificates it refuses.
func applyIdentity(m *irm.IRM, cfg *config.Config) error {
	if len(cfg.Revoked) > 0 {
		r, err := cert.ParseRevoked(cfg.Revoked)
		if err != nil { // checked by config already
			return fmt.Errorf("revoked: %w", err)
		}
		m.SetRevoked(r)
	}
	if len(cfg.CA) == 0 && cfg.Cert == "" {
		return nil
	}
	roots, host, err := hostIdentity(cfg)
	if err != nil {
		return err
	}
	m.SetCryptIdentity(roots, host)
	return nil
}

func applyName(m *irm.IRM, n config.Name) error {
	p, err := namePolicy(n)
	if err != nil {
		return err
	}
	m.SetCryptPolicy(n.Name, p)
	m.SetMaxFlows(n.Name, n.MaxFlows)
	err = m.CreateName(ctrl.NameCreate{Name: n.Name, LB: n.LB})
	var ce *ctrl.Error
	if err != nil && !(errors.As(err, &ce) && ce.Code == ctrl.CodeExists) {
		return err
	}
	for _, prog := range n.Progs {
		if err := m.BindProgram(ctrl.BindProgram{Prog: prog, Name: n.Name, Auto: n.Auto, Args: n.Args, User: n.User, Group: n.Group}); err != nil {
			return fmt.Errorf("prog %s: %w", prog, err)
		}
	}
	return nil
}

// limits are the [irmd] limits on arriving flows; the zero value, with no
// file, takes the defaults.
func limits(cfg *config.Config) irm.Limits {
	if cfg == nil {
		return irm.Limits{}
	}
	l := irm.Limits{MaxFlowsPerSource: cfg.Limits["max_flows_per_source"],
		KEXRate: cfg.Limits["kex_rate"], KEXRatePerSource: cfg.Limits["kex_rate_per_source"]}
	if v, ok := cfg.Limits["max_flows_per_source"]; ok && v == 0 {
		l.MaxFlowsPerSource = -1 // the file's 0 is no cap; Limits' is the default
	}
	return l
}

// namePolicy loads the security policy of a name: its certificate, which
// must be a name certificate for it, its cipher and its key exchange.
func namePolicy(n config.Name) (irm.CryptPolicy, error) {
	p := irm.CryptPolicy{Plain: n.Encryption == config.EncryptionOff, RequireCert: n.RequireCert}
	if n.Cert != "" {
		pair, err := cert.Load(n.Cert, n.Key)
		if err != nil {
			return p, fmt.Errorf("cert: %w", err)
		}
		// Clients refuse a server certificate for another name: say so now.
		if kind, who, err := cert.Identity(pair.Cert); err != nil || kind != cert.KindName || who != n.Name {
			return p, fmt.Errorf("cert: %s is not a name certificate for %q (it is %s %q, %v)", n.Cert, n.Name, kind, who, err)
		}
		p.Cert = pair
	}
	if n.Cipher != "" {
		s, err := crypt.ParseSuite(n.Cipher)
		if err != nil {
			return p, err
		}
		p.Suites = []crypt.Suite{s}
	}
	if n.KEX != "" {
		k, err := oap.ParseKEX(n.KEX)
		if err != nil {
			return p, err
		}
		p.KEX = k
	}
	return p, nil
}

// applyIPCP creates one IPCP and bootstraps it, or has the joiner enrol it.
// ctx is irmd's life, bootCtx bounds the bootstrap.
func applyIPCP(ctx, bootCtx context.Context, j *joiner, ip config.IPCP) error {
	m := j.m
	switch {
	case ip.Bootstrap != "":
		if err := m.Bootstrap(bootCtx, bootstrapRequest(ip)); err != nil {
			return err
		}
		for _, r := range ip.Reg {
			if err := m.RegisterName(ctrl.NameRegister{Name: r, IPCPs: []string{ip.Name}}); err != nil {
				return fmt.Errorf("reg %s: %w", r, err)
			}
		}
		j.connect(ctx, ip)
		return nil
	case ip.Enrol != "":
		// Created now, so that irm ipcp list shows it while it enrols.
		if err := m.CreateIPCP(ip.Name, ip.Type); err != nil {
			return err
		}
		j.enrol(ctx, ip)
		return nil
	}
	// Neither bootstrap nor enrol: the IPCP is only created, to be
	// bootstrapped or enrolled later with irm.
	return m.CreateIPCP(ip.Name, ip.Type)
}

// bootstrapRequest is the "irm ipcp bootstrap" that ip's table describes.
func bootstrapRequest(ip config.IPCP) ctrl.IPCPBootstrap {
	return ctrl.IPCPBootstrap{Name: ip.Name, Layer: ip.Bootstrap, Type: ip.Type, Autobind: ip.Autobind,
		Options: ip.Options, Identity: ipcpIdentity(ip)}
}

// enrollRequest is the "irm ipcp enroll" that ip's table describes.
func enrollRequest(ip config.IPCP) ctrl.IPCPEnroll {
	return ctrl.IPCPEnroll{Name: ip.Name, Dst: ip.Enrol, Type: ip.Type, Autobind: ip.Autobind, Identity: ipcpIdentity(ip)}
}

// ipcpIdentity returns the CAs, certificate and key that authenticate ip
// to its layer, or nil if its table sets none.
func ipcpIdentity(ip config.IPCP) *ctrl.IPCPIdentity {
	if len(ip.CA) == 0 && ip.Cert == "" && ip.Key == "" {
		return nil
	}
	return &ctrl.IPCPIdentity{CA: ip.CA, Cert: ip.Cert, Key: ip.Key}
}

// joiner enrols IPCPs and connects them to their neighbours in the
// background, each step retried until it succeeds, since the peers of a
// host usually come up in no particular order.
type joiner struct {
	m       *irm.IRM
	log     *slog.Logger
	backoff backoff
	wg      sync.WaitGroup
}

// enrol enrols ip, then registers its names and connects it.
func (j *joiner) enrol(ctx context.Context, ip config.IPCP) {
	j.wg.Go(func() {
		req := enrollRequest(ip)
		ok := retry(ctx, j.log, j.backoff, func(actx context.Context) error { return j.m.Enroll(actx, req) },
			func(next time.Time) { j.m.EnrolRetry(ip.Name, next, ip.Conn) },
			"enrolment failed", "ipcp", ip.Name, "dst", ip.Enrol)
		if !ok {
			return
		}
		regs := j.backoff
		regs.attempt = 0 // registration talks to no peer
		for _, r := range ip.Reg {
			reg := ctrl.NameRegister{Name: r, IPCPs: []string{ip.Name}}
			if !retry(ctx, j.log, regs, func(context.Context) error { return j.m.RegisterName(reg) }, nil,
				"registration failed", "ipcp", ip.Name, "name", r) {
				return
			}
		}
		j.connect(ctx, ip)
	})
}

// connect makes ip's intended adjacencies, each kept up by the IPCP from
// then on, as 'irm ipcp connect ... persist' does: a neighbour that is not
// up yet is retried in the background, and shown as retrying in 'irm ipcp
// list'.
func (j *joiner) connect(ctx context.Context, ip config.IPCP) {
	for _, dst := range ip.Conn {
		j.wg.Go(func() {
			rep, err := j.m.Connect(ctx, ctrl.IPCPConnect{Name: ip.Name, Dst: dst, Persist: true})
			switch {
			case err != nil:
				j.log.Error("connection not kept", "ipcp", ip.Name, "dst", dst, "err", err)
			case rep.Status == ctrl.ConnectRetrying:
				j.log.Warn("connection not up yet, retrying in the background", "ipcp", ip.Name, "dst", dst, "err", rep.Reason)
			}
		})
	}
}
