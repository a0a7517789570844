package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"o7s.dev/ouroboros/stack/config"
	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/irm"
)

// applyTimeout bounds bootstrapping every IPCP of the configuration.
const applyTimeout = 30 * time.Second

// apply sets up what the configuration describes, through the same IRM
// calls the irm tool makes: names first (so their policies hold when
// registration creates them), then IPCPs and their registrations.
func apply(m *irm.IRM, cfg *config.Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), applyTimeout)
	defer cancel()
	for _, n := range cfg.Names {
		if err := applyName(m, n); err != nil {
			return fmt.Errorf("[name.%s]: %w", n.Name, err)
		}
	}
	for _, ip := range cfg.IPCPs {
		if err := applyIPCP(ctx, m, ip); err != nil {
			return fmt.Errorf("[%s.%s]: %w", ip.Type, ip.Name, err)
		}
	}
	return nil
}

func applyName(m *irm.IRM, n config.Name) error {
	err := m.CreateName(ctrl.NameCreate{Name: n.Name, LB: n.LB})
	var ce *ctrl.Error
	if err != nil && !(errors.As(err, &ce) && ce.Code == ctrl.CodeExists) {
		return err
	}
	for _, prog := range n.Progs {
		if err := m.BindProgram(ctrl.BindProgram{Prog: prog, Name: n.Name, Auto: n.Auto, Args: n.Args}); err != nil {
			return fmt.Errorf("prog %s: %w", prog, err)
		}
	}
	return nil
}

func applyIPCP(ctx context.Context, m *irm.IRM, ip config.IPCP) error {
	if ip.Bootstrap == "" {
		if ip.Enrol != "" {
			return fmt.Errorf("enrol is not supported yet")
		}
		// Neither bootstrap nor enrol: the IPCP is only created, to be
		// bootstrapped or enrolled later with irm.
		return m.CreateIPCP(ip.Name, ip.Type)
	}
	req := ctrl.IPCPBootstrap{Name: ip.Name, Layer: ip.Bootstrap, Type: ip.Type, Autobind: ip.Autobind, Options: ip.Options}
	if err := m.Bootstrap(ctx, req); err != nil {
		return err
	}
	for _, r := range ip.Reg {
		if err := m.RegisterName(ctrl.NameRegister{Name: r, IPCPs: []string{ip.Name}}); err != nil {
			return fmt.Errorf("reg %s: %w", r, err)
		}
	}
	return nil
}
