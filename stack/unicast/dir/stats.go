package dir

import "sync/atomic"

// Stats are a DHT's counters, for irm and tests.
type Stats struct {
	Contacts int // contacts in the buckets
	Values   int // values held, own ones included
	Own      int // keys published and not withdrawn

	Sent       uint64 // messages handed to the Transport
	SendErrors uint64 // of those, refused by it
	Received   uint64 // messages given to Receive
	Timeouts   uint64 // requests that got no answer in time

	// Dropped counts received messages dropped, by cause: malformed,
	// version, key-length, sender (address 0), self (our own address),
	// cookie (a response matching no request), closed, store-full,
	// not-publisher (a removal from another member than the value's).
	Dropped map[string]uint64

	Lookups        uint64 // calls of Lookup
	LookupFailures uint64 // of those, failed (not found or otherwise)
}

// dropCause indexes the drop counters.
type dropCause int

const (
	dropMalformed dropCause = iota
	dropVersion
	dropKeyLen
	dropSender
	dropSelf
	dropCookie
	dropClosed
	dropStoreFull
	dropNotPublisher
	numDropCauses
)

var dropNames = [numDropCauses]string{
	"malformed", "version", "key-length", "sender", "self", "cookie", "closed",
	"store-full", "not-publisher",
}

// counters are updated without the DHT's lock.
type counters struct {
	sent, sendErrors, received, timeouts atomic.Uint64
	lookups, lookupFailures              atomic.Uint64
	dropped                              [numDropCauses]atomic.Uint64
}

func (c *counters) fill(s *Stats) {
	s.Sent, s.SendErrors = c.sent.Load(), c.sendErrors.Load()
	s.Received, s.Timeouts = c.received.Load(), c.timeouts.Load()
	s.Lookups, s.LookupFailures = c.lookups.Load(), c.lookupFailures.Load()
	s.Dropped = map[string]uint64{}
	for i := range c.dropped {
		if v := c.dropped[i].Load(); v != 0 {
			s.Dropped[dropNames[i]] = v
		}
	}
}
