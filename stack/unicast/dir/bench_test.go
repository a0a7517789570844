package dir

import (
	"testing"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

func BenchmarkParseNodes(b *testing.B) {
	m := message{typ: typeNodes, sender: 5, key: nameKey("k"), cookie: 78, contacts: addrs(maxContacts, 100)}
	buf := m.appendTo(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseMessage(buf, 32); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReceiveFindNode measures answering a FIND_NODE with a table of
// about 200 contacts.
func BenchmarkReceiveFindNode(b *testing.B) {
	d, err := New(Config{ID: testID, HashLen: 32, K: 20}, 1, nullTransport{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	for a := addr.Addr(2); a < 2000; a++ {
		d.AddContact(a)
	}
	q := message{typ: typeFindNode, sender: 3, key: nameKey("k"), cookie: 1}
	buf := q.appendTo(nil)
	b.ReportMetric(float64(d.Stats().Contacts), "contacts")
	b.ReportAllocs()
	for b.Loop() {
		d.Receive(buf)
	}
}
