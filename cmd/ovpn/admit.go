package main

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"o7s.dev/ouroboros/overlay/config"
	"o7s.dev/ouroboros/overlay/link"
	"o7s.dev/ouroboros/stack/flow"
)

// noProof is the reason a peer whose name nothing proves is refused.
const noProof = "%s presented no certificate (or none a CA of this host trusts, and no pinned fingerprint matches)"

// admission is what the command knows of one admitted flow: enough to
// decide again, after a reload, whether the new rules still admit it.
type admission struct {
	Dialled  bool
	OnDemand bool      // dialled on demand (a DNS lookup), not for a [[peer]]
	Proof    flow.Peer // what irmd's key exchange proved
	Hello    string    // the name the peer claimed in its hello
}

// judge decides again, under cfg, whether the peer called name that adm
// admitted is still admitted; nil if it is.
func (adm *admission) judge(cfg *config.Link, name string) error {
	h := link.Hello{Name: adm.Hello}
	var err error
	switch {
	case adm.OnDemand:
		_, err = admitOnDemand(cfg, name, adm.Proof, h)
	case adm.Dialled:
		_, err = admit(cfg, name, adm.Proof, h)
	default:
		_, err = admit(cfg, "", adm.Proof, h)
	}
	return err
}

// admitOnDemand decides who the far end of a flow this end allocated to
// dialled on demand (a DNS lookup) is: as admitDialled, except that
// dialled needs no [[peer]] entry; with authentication on, a CA must prove
// dialled (a pin counts only for a [[peer]]). Its routes are its [[peer]]
// routes, if any; the caller adds what was learned through it.
func admitOnDemand(cfg *config.Link, dialled string, proof flow.Peer, h link.Hello) (link.PeerConfig, error) {
	switch {
	case h.Name == "":
		return link.PeerConfig{}, fmt.Errorf("the peer sent no name in its hello")
	case h.Name != dialled:
		return link.PeerConfig{}, fmt.Errorf("dialled %s, but the peer says it is %s", dialled, h.Name)
	}
	proven := proof.Name == dialled || pinMatches(cfg.Peer(dialled), proof)
	if cfg.Authenticate && !proven {
		return link.PeerConfig{}, unproven(cfg, dialled, proof)
	}
	pc := link.PeerConfig{Name: dialled, Proven: proven, Lease: len(cfg.Accept.Pool) > 0}
	if p := cfg.Peer(dialled); p != nil {
		pc.Routes = slices.Clone(p.Routes)
	}
	return pc, nil
}

// admit decides who the peer behind a flow is, under cfg: the peer's
// configuration, or an error saying why it is refused (sent to the peer
// and logged). dialled is the name this end allocated the flow to, ""
// for an accepted flow. It is a pure function of its arguments.
func admit(cfg *config.Link, dialled string, proof flow.Peer, h link.Hello) (link.PeerConfig, error) {
	if h.Name == "" {
		return link.PeerConfig{}, fmt.Errorf("the peer sent no name in its hello")
	}
	var name string
	var proven bool
	var err error
	if dialled != "" {
		name, proven, err = admitDialled(cfg, dialled, proof, h.Name)
	} else {
		name, proven, err = admitAccepted(cfg, proof, h.Name)
	}
	if err != nil {
		return link.PeerConfig{}, err
	}
	pc := link.PeerConfig{Name: name, Proven: proven, Lease: len(cfg.Accept.Pool) > 0}
	if p := cfg.Peer(name); p != nil {
		pc.Routes = p.Routes
	}
	return pc, nil
}

// admitDialled checks the far end of a flow this end allocated to dialled:
// it must say it is dialled, and (authentication on) prove it.
func admitDialled(cfg *config.Link, dialled string, proof flow.Peer, claim string) (string, bool, error) {
	if claim != dialled {
		return "", false, fmt.Errorf("dialled %s, but the peer says it is %s", dialled, claim)
	}
	if cfg.Peer(dialled) == nil { // removed by a reload while it was dialled
		return "", false, fmt.Errorf("%s is no longer a [[peer]] of this link", dialled)
	}
	proven := proof.Name == dialled || pinMatches(cfg.Peer(dialled), proof)
	if cfg.Authenticate && !proven {
		return "", false, unproven(cfg, dialled, proof)
	}
	return dialled, proven, nil
}

// admitAccepted checks the dialler of a flow this end accepted: its proven
// name must be what it claims, and a [[peer]] or match an [accept] pattern.
func admitAccepted(cfg *config.Link, proof flow.Peer, claim string) (string, bool, error) {
	proved := provenName(cfg, proof, claim)
	if cfg.Authenticate {
		if proved == "" {
			return "", false, unproven(cfg, claim, proof)
		}
		if proved != claim {
			return "", false, fmt.Errorf("the peer claims %s, but its certificate names %s", claim, proved)
		}
	}
	if cfg.Peer(claim) == nil && !acceptedName(cfg, claim) {
		return "", false, fmt.Errorf("no [[peer]] entry and no [accept] names pattern matches %s", claim)
	}
	return claim, proved == claim, nil
}

// provenName is the name proof establishes for a dialler that claims
// claim: claim if its [[peer]] pins the certificate, else the name a CA
// verified, else the [[peer]] whose pinned fingerprint the certificate has.
func provenName(cfg *config.Link, proof flow.Peer, claim string) string {
	if pinMatches(cfg.Peer(claim), proof) {
		return claim
	}
	if proof.Name != "" {
		return proof.Name
	}
	if proof.Fingerprint == "" {
		return ""
	}
	for i := range cfg.Peers {
		if pinMatches(&cfg.Peers[i], proof) {
			return cfg.Peers[i].Name
		}
	}
	return ""
}

// pinMatches says whether p pins the fingerprint of proof's certificate.
func pinMatches(p *config.Peer, proof flow.Peer) bool {
	return p != nil && p.Fingerprint != "" && strings.EqualFold(p.Fingerprint, proof.Fingerprint)
}

// unproven says why name is not proven: no certificate at all, or one that
// neither a CA nor the pin vouches for.
func unproven(cfg *config.Link, name string, proof flow.Peer) error {
	p := cfg.Peer(name)
	if proof.Fingerprint != "" && p != nil && p.Fingerprint != "" {
		return fmt.Errorf("%s presented a certificate with fingerprint %s, not the pinned %s",
			name, proof.Fingerprint, p.Fingerprint)
	}
	return fmt.Errorf(noProof, name)
}

// acceptedName says whether name matches an [accept] names pattern.
func acceptedName(cfg *config.Link, name string) bool {
	for _, pat := range cfg.Accept.Names {
		if ok, _ := path.Match(pat, name); ok {
			return true
		}
	}
	return false
}
