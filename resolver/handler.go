package resolver

import (
	"log/slog"
	"net"
	"net/netip"

	"github.com/miekg/dns"
)

// ServeDNS answers one query. miekg/dns calls it in a goroutine of its
// own for every message screen passed and that parsed, so a slow
// Names.Lookup holds up only its own client.
func (s *server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	_, tcp := w.RemoteAddr().(*net.TCPAddr)
	resp := s.answer(req, addrOf(w.RemoteAddr()), tcp)
	if resp == nil {
		return
	}
	size := dns.MaxMsgSize
	if !tcp {
		size = dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			// At most what the bridge advertises: a client (or a forged
			// source) asking for 64 KiB over UDP gets no more than
			// udpReadSize, which bounds what a spoofed query reflects.
			size = min(max(int(opt.UDPSize()), dns.MinMsgSize), udpReadSize)
		}
	}
	// A UDP client gets what fits its buffer, with TC set if that is
	// not all, and asks again over TCP.
	resp.Truncate(size)
	if err := w.WriteMsg(resp); err != nil {
		s.rl.Log(slog.LevelDebug, "write", "dns answer not sent", "client", w.RemoteAddr(), "err", err)
	}
}

// answer is the reply to req from client, or nil for none.
func (s *server) answer(req *dns.Msg, client netip.Addr, tcp bool) *dns.Msg {
	if req.Response {
		return nil // miekg drops these before us; a caller of the handler alone may not
	}
	s.st.queries.Add(1)
	switch {
	case req.Opcode != dns.OpcodeQuery:
		return s.fail(req, dns.RcodeNotImplemented)
	case len(req.Question) != 1:
		s.st.formerr.Add(1)
		return s.fail(req, dns.RcodeFormatError)
	case !s.allowed(client):
		s.st.notAllowed.Add(1)
		s.st.refused.Add(1)
		s.rl.Log(slog.LevelWarn, "not-allowed", "dns query refused: client outside [dns] allow", "client", client)
		return s.fail(req, dns.RcodeRefused)
	}
	q := req.Question[0]
	if q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR {
		// No zone transfers: the domain's names are made on demand, and
		// a forwarded transfer would be cut to its first message.
		s.st.refused.Add(1)
		return s.fail(req, dns.RcodeRefused)
	}
	if s.inDomain(q.Name) {
		return s.zone(req, q)
	}
	if q.Qtype == dns.TypePTR && q.Qclass == dns.ClassINET {
		if resp := s.ptr(req, q); resp != nil {
			return resp
		}
	}
	return s.forward(req, tcp)
}

// reply starts the answer to req: the question echoed as written,
// recursion available (the bridge forwards), and an OPT record if the
// client sent one (RFC 6891).
func (s *server) reply(req *dns.Msg) *dns.Msg {
	resp := new(dns.Msg).SetReply(req)
	resp.RecursionAvailable = true
	if req.IsEdns0() != nil {
		resp.SetEdns0(udpReadSize, false)
	}
	return resp
}

// fail is a reply to req with rcode and nothing else.
func (s *server) fail(req *dns.Msg, rcode int) *dns.Msg {
	resp := s.reply(req)
	resp.Rcode = rcode
	return resp
}
