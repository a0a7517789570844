package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"o7s.dev/ouroboros/overlay/config"
)

// cmdCheck is `ovpn check CONFIG`.
func cmdCheck(_ context.Context, inv *invocation) int {
	cfg, err := config.Load(config.Path(inv.args[0]))
	if err != nil {
		fmt.Fprintf(inv.stderr, "ovpn: %v\n", err)
		return exitUsage
	}
	fmt.Fprintln(inv.stdout, "ovpn up would:")
	for _, line := range cfg.Plan() {
		fmt.Fprintf(inv.stdout, "  %s\n", line)
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(inv.stdout, "warning: %s\n", w)
	}
	return exitOK
}

// cmdDown is `ovpn down NAME|--all`.
func cmdDown(ctx context.Context, inv *invocation) int {
	all := inv.flags["all"]
	if all == (len(inv.args) == 1) {
		fmt.Fprintf(inv.stderr, "ovpn: down: give a link's NAME or --all, not both\n%s", inv.cmd.usageText())
		return exitUsage
	}
	names := inv.args
	if all {
		var err error
		if names, err = links(inv.rundir); err != nil {
			fmt.Fprintf(inv.stderr, "ovpn: %v\n", err)
			return exitFailure
		}
	}
	code := exitOK
	for _, name := range names {
		_, err := call(ctx, inv.rundir, name, request{Op: "down"}, downWaitTimeout)
		switch {
		case all && errors.Is(err, errNotUp):
			continue // a stale socket of a link that died
		case err != nil:
			fmt.Fprintf(inv.stderr, "ovpn: %v\n", err)
			code = exitFailure
		default:
			fmt.Fprintf(inv.stdout, "link %s down\n", name)
		}
	}
	return code
}

// cmdReload is `ovpn reload NAME`.
func cmdReload(ctx context.Context, inv *invocation) int {
	if _, err := call(ctx, inv.rundir, inv.args[0], request{Op: "reload"}, downWaitTimeout); err != nil {
		fmt.Fprintf(inv.stderr, "ovpn: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(inv.stdout, "link %s reloaded\n", inv.args[0])
	return exitOK
}

// cmdStatus is `ovpn status [NAME] [--json]`.
func cmdStatus(ctx context.Context, inv *invocation) int {
	names := inv.args
	one := len(names) == 1
	if !one {
		var err error
		if names, err = links(inv.rundir); err != nil {
			fmt.Fprintf(inv.stderr, "ovpn: %v\n", err)
			return exitFailure
		}
	}
	code := exitOK
	sts := []linkStatus{}
	for _, name := range names {
		resp, err := call(ctx, inv.rundir, name, request{Op: "status"}, requestTimeout)
		if err != nil {
			if !one && errors.Is(err, errNotUp) {
				continue // a stale socket of a link that died
			}
			fmt.Fprintf(inv.stderr, "ovpn: %v\n", err)
			code = exitFailure
			continue
		}
		sts = append(sts, *resp.Status)
	}
	if inv.flags["json"] {
		b, _ := json.MarshalIndent(sts, "", "  ")
		fmt.Fprintf(inv.stdout, "%s\n", b)
		return code
	}
	if len(sts) == 0 && code == exitOK {
		fmt.Fprintln(inv.stdout, "no links up")
	}
	for i, st := range sts {
		if i > 0 {
			fmt.Fprintln(inv.stdout)
		}
		printStatus(inv.stdout, st, time.Now())
	}
	return code
}
