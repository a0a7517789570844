package resolver

import "github.com/miekg/dns"

// HandlerOf is the handler s serves with, for tests that drive it with
// a fake dns.ResponseWriter.
func HandlerOf(s *Server) dns.Handler { return s.s }

// NewHandler is a handler for cfg that serves no address.
func NewHandler(cfg Config) (dns.Handler, error) { return newServer(cfg) }

// Bind binds a UDP socket and a TCP listener on one port, as the server
// does.
var Bind = bind
