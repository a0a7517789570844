package udp

import (
	"net"
	"net/netip"
	"time"
)

// linkPoll is how often the IPCP looks at the interface it is bound on.
const linkPoll = 250 * time.Millisecond

// routineLink watches the interface that holds the bound address: when it
// goes down (or loses the address), the layer's flows are reported down to
// their applications at once, rather than after FRCT's peer timeout. New
// flows work again once it is back. An IPCP bound to the wildcard address
// has no one interface to watch.
func (p *IPCP) routineLink(addr netip.Addr, done <-chan struct{}) {
	if addr.IsUnspecified() {
		return
	}
	t := time.NewTicker(linkPoll)
	defer t.Stop()
	// Start from the interface's actual state: a veth just set up has no
	// carrier for a moment, and that is not a link going down.
	up := linkUp(addr)
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		now := linkUp(addr)
		if up && !now {
			p.log.Warn("interface down: flows reported down", "ipcp", p.name, "addr", addr)
			p.DownAll()
		} else if !up && now {
			p.log.Info("interface up again", "ipcp", p.name, "addr", addr)
		}
		up = now
	}
}

// linkUp reports whether an interface that is up and running holds addr.
func linkUp(addr netip.Addr) bool {
	ifs, err := net.Interfaces()
	if err != nil {
		return true // cannot tell: do not take flows down
	}
	for _, ifi := range ifs {
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == addr {
					return ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagRunning != 0
				}
			}
		}
	}
	return false
}
