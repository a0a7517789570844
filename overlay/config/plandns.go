package config

import "fmt"

// publishPlan says what is done for each [[publish]] entry.
func (l *Link) publishPlan() []string {
	var out []string
	for _, p := range l.Publish {
		out = append(out, fmt.Sprintf("publish host %s as %q: register the name in layer %q and answer flows for it with the host's addresses",
			joined(p.Address), p.Name, l.Layer))
	}
	return out
}

// dnsPlan describes the DNS bridge, if [dns] is there.
func (l *Link) dnsPlan() []string {
	d := l.DNS
	if d == nil {
		return nil
	}
	line := fmt.Sprintf("DNS bridge for NAME.%s: listen on ", d.Domain)
	if len(d.Listen) == 0 {
		line += "the first tunnel address, port 53"
	} else {
		line += joined(d.Listen)
	}
	line += "; forward other names to "
	if len(d.Upstream) == 0 {
		line += "the nameservers of /etc/resolv.conf"
	} else {
		line += joined(d.Upstream)
	}
	line += "; answer clients in "
	if len(d.Allow) == 0 {
		line += "the link's subnets, its peers' routes, its pool and loopback"
	} else {
		line += joined(d.Allow)
	}
	line += fmt.Sprintf(", at most %d queries/s each", d.Rate)
	demand := fmt.Sprintf("DNS bridge: a name queried with no flow gets one on demand, closed after %s without data", durString(d.Idle))
	if !d.OnDemand {
		demand = "DNS bridge: answer only peers that are up; other names are refused (on_demand = false)"
	}
	return []string{line, demand}
}

// dnsWarnings warns of OVPN_DNS_* variables that start no bridge, of a
// bridge that any address may use, and of published names that a DNS
// client cannot ask for well.
func (l *Link) dnsWarnings() []string {
	var out []string
	for i, p := range l.Publish {
		// Any Ouroboros name can be published, but a bridge is asked for
		// NAME.DOMAIN: resolvers and stub libraries refuse or fold what
		// is not a lower-case host name.
		if checkDomain(p.Name) != nil {
			out = append(out, fmt.Sprintf("[[publish]] %d name: %q is not a DNS host name (labels of lower-case letters, digits and '-', at most 63 bytes each): DNS clients may fail to ask a bridge for it", i+1, p.Name))
		}
	}
	for _, env := range l.ignoredEnv {
		out = append(out, fmt.Sprintf("$%s is set, but the file has no [dns] table: ignored; add [dns] to run the DNS bridge", env))
	}
	if l.DNS != nil {
		for _, p := range l.DNS.Allow {
			if p.Bits() == 0 {
				out = append(out, fmt.Sprintf("[dns] allow: %s lets every %s address use the bridge: an open resolver wherever listen is reachable", p, familyName(p.Addr())))
			}
		}
	}
	return out
}
