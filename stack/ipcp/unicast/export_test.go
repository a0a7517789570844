package unicast

import "o7s.dev/ouroboros/stack/unicast/addr"

// SetAddrForTest gives the member an address, as if it had been assigned
// it, so that tests can make two members collide.
func (p *IPCP) SetAddrForTest(a addr.Addr) {
	p.mu.Lock()
	old := p.Addr()
	p.self.Store(uint64(a))
	p.db.Remove(old)
	p.db.SetSelf(a)
	p.originateLocked()
	d := p.dht
	p.mu.Unlock()
	d.SetAddr(a)
}

// ConnectForTest returns a CEP CONNECT for a component ("dt" or "mgmt")
// from a member with the given name and address, so that tests can play a
// neighbour.
func ConnectForTest(component, name, layer string, a addr.Addr) []byte {
	comps, _ := parseComponents(component)
	return (&cep{typ: cepConnect, component: comps[0], nodeID: 7, addr: a, name: name, layer: layer}).append(nil)
}

// ForgetRouteForTest removes dst from the member's forwarding tables until
// routing next recomputes them, with the routes counted as settled long
// ago, so that tests can make a relay that has no route while its
// neighbours think it has.
func (p *IPCP) ForgetRouteForTest(dst addr.Addr) {
	for _, t := range p.pff {
		r := t.Routes()
		delete(r, dst)
		t.Replace(r)
	}
	p.reports.changed.Store(0)
}

// DirValuesForTest returns how many directory values the member holds.
func (p *IPCP) DirValuesForTest() int {
	p.mu.Lock()
	d := p.dht
	p.mu.Unlock()
	if d == nil {
		return 0
	}
	return d.Stats().Values
}
