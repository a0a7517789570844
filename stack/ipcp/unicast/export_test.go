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
