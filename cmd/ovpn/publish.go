package main

// Publishing legacy hosts (docs/ovpn.md, "Publishing legacy hosts"): each
// [[publish]] name is registered in the layer and bound to this process,
// as this end's own name is. A flow to one is a resolution, not a data
// flow: this end answers it here, never hands it to the engine.
//
//	accepted flow to a [[publish]] name ─► read the dialler's hello
//	   admitted as any accepted flow? no ─► refuse{reason}, close
//	   yes ─► hello{name, mode, host addresses, gateway: this end's name}
//	          again for every hello, until a refuse, the flow's end or 5 s

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
	"unicode/utf8"

	"o7s.dev/ouroboros/overlay/config"
	"o7s.dev/ouroboros/overlay/wire"
	"o7s.dev/ouroboros/stack/flow"
)

// resolutionTimeout bounds a resolution flow at the publishing end.
const resolutionTimeout = 5 * time.Second

// publishNames lists cfg's [[publish]] names.
func publishNames(cfg *config.Link) []string {
	names := make([]string, 0, len(cfg.Publish))
	for _, p := range cfg.Publish {
		names = append(names, p.Name)
	}
	return names
}

// publishEntry returns cfg's [[publish]] entry called name, or nil.
func publishEntry(cfg *config.Link, name string) *config.Publish {
	for i := range cfg.Publish {
		if cfg.Publish[i].Name == name {
			return &cfg.Publish[i]
		}
	}
	return nil
}

// announcePublished registers each of names in cfg's layer and binds this
// process to it, remembering those irmd did not know (withdraw destroys
// them). Its error names the name that failed.
func (d *daemon) announcePublished(ctx context.Context, p *flow.Process, cfg *config.Link, names []string) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	for _, name := range names {
		existed, err := p.NameExists(ctx, name)
		if err != nil {
			return fmt.Errorf("[[publish]] %s: %w", name, err)
		}
		if !existed {
			d.od.mu.Lock()
			d.od.created[name] = true
			d.od.mu.Unlock()
		}
		if err := p.Register(ctx, name, cfg.Layer); err != nil {
			return fmt.Errorf("[[publish]] %s: cannot register it in layer %s: %w", name, cfg.Layer, err)
		}
		if err := p.Bind(ctx, name); err != nil {
			return fmt.Errorf("[[publish]] %s: cannot bind this process to it: %w", name, err)
		}
	}
	return nil
}

// withdrawPublished undoes announcePublished for names; irmd may be gone.
func (d *daemon) withdrawPublished(p *flow.Process, cfg *config.Link, names []string) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	for _, name := range names {
		if err := p.Unbind(ctx, name); err != nil {
			d.log.Warn("unbind failed", "name", name, "err", err)
		}
		if err := p.Unregister(ctx, name, cfg.Layer); err != nil {
			d.log.Warn("unregister failed", "name", name, "layer", cfg.Layer, "err", err)
		}
		d.od.mu.Lock()
		created := d.od.created[name]
		delete(d.od.created, name)
		d.od.mu.Unlock()
		if created {
			if err := p.DestroyName(ctx, name); err != nil {
				d.log.Warn("cannot remove the name this link created", "name", name, "err", err)
			}
		}
	}
}

// answer answers a resolution: a flow allocated to the published name pub.
func (d *daemon) answer(ctx context.Context, f peerFlow, pub config.Publish) {
	ctx, cancel := context.WithTimeout(ctx, resolutionTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer stop()
	defer f.Close()
	bufs, lens := [][]byte{make([]byte, f.MaxSDU())}, []int{0}
	admitted := false
	for {
		n, err := f.ReadBatch(bufs, lens)
		if err != nil {
			return
		}
		if n == 0 || wire.Classify(bufs[0][:lens[0]]) != wire.Control {
			continue
		}
		m, err := wire.Parse(bufs[0][:lens[0]])
		if err != nil {
			continue // the dialler's hello is resent
		}
		switch m.Type {
		case wire.Refuse:
			return // "resolved", or the dialler's refusal of the answer
		case wire.Hello:
			if !admitted {
				cfg := d.config()
				if err := admitResolution(cfg, f.Peer(), m); err != nil {
					writeMsg(f, &wire.Msg{Type: wire.Refuse, Reason: cut(err.Error(), wire.MaxReason)})
					d.rl.Log(slog.LevelWarn, acceptCause(err), "resolution refused", "name", pub.Name, "peer", m.Name, "err", err)
					return
				}
				admitted = true
			}
			writeMsg(f, answerHello(d.config(), pub))
		}
	}
}

// admitResolution decides whether the dialler of a resolution, which
// says hello m, may learn the published host: by the rules of any flow
// this end accepts (proven name; a [[peer]] or an [accept] names pattern).
func admitResolution(cfg *config.Link, proof flow.Peer, m wire.Msg) error {
	if m.Name == "" {
		return fmt.Errorf("the peer sent no name in its hello")
	}
	if m.Mode != cfg.Interface.Mode {
		return fmt.Errorf("mode mismatch: %s runs %v, %s runs %v; both ends must run the same mode",
			m.Name, m.Mode, cfg.Name, cfg.Interface.Mode)
	}
	if _, _, err := admitAccepted(cfg, proof, m.Name); err != nil {
		return fmt.Errorf("not admitted: %w", err)
	}
	return nil
}

// answerHello is the answer for pub: its name, this end's mode, the host's
// addresses as host prefixes, and this end's name as its gateway.
func answerHello(cfg *config.Link, pub config.Publish) *wire.Msg {
	m := &wire.Msg{Type: wire.Hello, Name: pub.Name, Mode: cfg.Interface.Mode, Gateway: cfg.Name}
	for _, a := range pub.Address {
		m.Addrs = append(m.Addrs, netip.PrefixFrom(a, a.BitLen()))
	}
	return m
}

// writeMsg writes m on f, best effort: the dialler resends its hello if
// the answer is lost, and a refusal's flow is closed anyway.
func writeMsg(f peerFlow, m *wire.Msg) {
	if b, err := wire.Append(nil, m); err == nil {
		f.WriteBatch([][]byte{b}) //nolint:errcheck // best effort, as said
	}
}

// cut shortens s to at most n bytes, on a rune boundary.
func cut(s string, n int) string {
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
