package resolver

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// SOA timers other than the minimum: the zone has no secondaries, so
// they only need to be sane.
const (
	soaRefresh = 3600
	soaRetry   = 600
	soaExpire  = 86400
)

// inDomain reports whether name is the domain or under it, in any case.
func (s *server) inDomain(name string) bool {
	n, a := len(name), len(s.apex)
	if n < a || !strings.EqualFold(name[n-a:], s.apex) {
		return false
	}
	if n == a {
		return true
	}
	if name[n-a-1] != '.' {
		return false
	}
	// "x\.ouro." is one label in the root, not a name in ouro.
	return !strings.Contains(name, `\`) || dns.IsSubDomain(s.apex, name)
}

// zone answers q, a name in the domain, with the AA bit set.
func (s *server) zone(req *dns.Msg, q dns.Question) *dns.Msg {
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		s.st.refused.Add(1)
		return s.fail(req, dns.RcodeRefused)
	}
	resp := s.reply(req)
	resp.Authoritative = true
	switch lower := strings.ToLower(q.Name); lower {
	case s.apex:
		s.apexAnswer(resp, q)
	case "ns." + s.apex:
		resp.Answer = addrRRs(q, s.nsAddrs(), s.ttl)
	default:
		if !s.nameAnswer(resp, q) {
			return resp
		}
	}
	if len(resp.Answer) > 0 {
		s.st.answered.Add(1)
	} else {
		s.negative(resp) // NODATA
	}
	return resp
}

func (s *server) apexAnswer(resp *dns.Msg, q dns.Question) {
	if q.Qtype == dns.TypeSOA || q.Qtype == dns.TypeANY {
		soa := s.soa()
		soa.Hdr.Name = q.Name
		resp.Answer = append(resp.Answer, soa)
	}
	if q.Qtype == dns.TypeNS || q.Qtype == dns.TypeANY {
		resp.Answer = append(resp.Answer, &dns.NS{Hdr: s.hdr(q.Name, dns.TypeNS), Ns: "ns." + s.apex})
		// Glue, so that a resolver need not ask again.
		resp.Extra = append(resp.Extra, addrRRs(dns.Question{Name: "ns." + s.apex, Qtype: dns.TypeANY}, s.nsAddrs(), s.ttl)...)
	}
}

// nameAnswer fills resp for NAME.DOMAIN from Names.Lookup; false: resp
// is final as it is (an error code).
func (s *server) nameAnswer(resp *dns.Msg, q dns.Question) bool {
	// Lower case: DNS names are case-insensitive, and resolvers may mix
	// the case of a query (0x20 randomisation) or answer one case from
	// another's cache; only one spelling can then be the Ouroboros name.
	name := strings.ToLower(q.Name[:len(q.Name)-len(s.apex)-1]) // without ".DOMAIN."
	if strings.Contains(name, `\`) {
		// Bytes DNS must escape make no Ouroboros name a client can mean.
		s.st.nxdomain.Add(1)
		resp.Rcode = dns.RcodeNameError
		s.negative(resp)
		return false
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.LookupTimeout)
	addrs, err := s.cfg.Names.Lookup(ctx, name)
	cancel()
	switch {
	case errors.Is(err, ErrNoName):
		s.st.nxdomain.Add(1)
		resp.Rcode = dns.RcodeNameError
		s.negative(resp)
		return false
	case errors.Is(err, ErrRefused):
		s.st.refused.Add(1)
		s.rl.Log(slog.LevelWarn, "name-refused", "dns query refused: the name refused this end", "name", name, "err", err)
		resp.Rcode = dns.RcodeRefused
		return false
	case err != nil:
		s.st.servfail.Add(1)
		if s.ctx.Err() == nil { // else the server is closing
			s.rl.Log(slog.LevelWarn, "lookup", "dns lookup failed", "name", name, "err", err)
		}
		resp.Rcode = dns.RcodeServerFailure
		return false
	}
	resp.Answer = addrRRs(q, addrs, s.ttl)
	return true
}

// negative puts the SOA in resp's authority section: its minimum (the
// TTL) is how long a resolver caches the absence (RFC 2308).
func (s *server) negative(resp *dns.Msg) {
	resp.Ns = append(resp.Ns, s.soa())
}

func (s *server) soa() *dns.SOA {
	return &dns.SOA{
		Hdr:     s.hdr(s.apex, dns.TypeSOA),
		Ns:      "ns." + s.apex,
		Mbox:    "hostmaster." + s.apex,
		Serial:  s.serial,
		Refresh: soaRefresh,
		Retry:   soaRetry,
		Expire:  soaExpire,
		Minttl:  s.ttl,
	}
}

func (s *server) hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: s.ttl}
}

// addrRRs are the A (IPv4) and AAAA (IPv6) records of addrs that q asks
// for (ANY: both), owned by q's name.
func addrRRs(q dns.Question, addrs []netip.Addr, ttl uint32) []dns.RR {
	var out []dns.RR
	for _, a := range addrs {
		a = a.Unmap()
		switch {
		case a.Is4() && (q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY):
			out = append(out, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: a.AsSlice()})
		case a.Is6() && (q.Qtype == dns.TypeAAAA || q.Qtype == dns.TypeANY):
			out = append(out, &dns.AAAA{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: ttl}, AAAA: a.AsSlice()})
		}
	}
	return out
}

// ptr answers a PTR query for an address Names.Reverse knows; nil for
// any other, which goes upstream.
func (s *server) ptr(req *dns.Msg, q dns.Question) *dns.Msg {
	a, ok := reverseAddr(q.Name)
	if !ok {
		return nil
	}
	name, ok := s.cfg.Names.Reverse(a)
	if !ok {
		return nil
	}
	target := name + "." + s.apex
	if _, ok := dns.IsDomainName(target); !ok || strings.Contains(name, `\`) {
		return nil
	}
	resp := s.reply(req)
	resp.Authoritative = true
	resp.Answer = []dns.RR{&dns.PTR{Hdr: s.hdr(q.Name, dns.TypePTR), Ptr: target}}
	s.st.answered.Add(1)
	return resp
}

// reverseAddr is the address a full in-addr.arpa or ip6.arpa name
// stands for; false for any other name (a partial one, a zone).
func reverseAddr(name string) (netip.Addr, bool) {
	lower := strings.ToLower(name)
	if rest, ok := strings.CutSuffix(lower, ".in-addr.arpa."); ok {
		var b [4]byte
		labels := strings.Split(rest, ".")
		if len(labels) != len(b) {
			return netip.Addr{}, false
		}
		for i, l := range labels {
			n, err := strconv.ParseUint(l, 10, 8)
			if err != nil || len(l) > 1 && l[0] == '0' {
				return netip.Addr{}, false
			}
			b[len(b)-1-i] = byte(n)
		}
		return netip.AddrFrom4(b), true
	}
	if rest, ok := strings.CutSuffix(lower, ".ip6.arpa."); ok {
		var b [16]byte
		labels := strings.Split(rest, ".")
		if len(labels) != 2*len(b) {
			return netip.Addr{}, false
		}
		for i, l := range labels {
			n, err := strconv.ParseUint(l, 16, 4)
			if err != nil || len(l) != 1 {
				return netip.Addr{}, false
			}
			j := len(labels) - 1 - i // the nibble's place from the address's start
			if j%2 == 0 {
				b[j/2] |= byte(n) << 4
			} else {
				b[j/2] |= byte(n)
			}
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}
