// Package dir is the directory of a unicast layer: a Kademlia-style
// distributed hash table that maps a name's hash to the addresses of the
// members where the name is registered.
//
// Every member runs one DHT. A member's node id is Config.ID of its
// address, so ids follow from addresses and need no exchange; the distance
// between two ids is their XOR, compared over the full id length. Each
// member keeps contacts in k-buckets, one per length of the prefix they
// share with its own id, least recently seen first.
//
// Messages are unreliable datagrams (see wire.go) carried by a Transport:
//
//	Publish/Withdraw ─► lookup FIND_NODE ─► STORE to the K closest ─► STORE_ACK
//	Lookup ─► local store ─► lookup FIND_VALUE (alpha in flight) ─► VALUE
//	Transport ─► Receive ─► parse ─► learn sender ─► answer requests (Send)
//	                                            └─► match responses to cookies ─► lookup
//	maintenance: join, bucket refresh, republish/replicate, hand-over, expiry
//
// A request that gets no answer within ResponseTimeout is sent once more; a
// contact that misses two requests in a row leaves its bucket. Values live
// TExpire after their last STORE: publishers republish their own every
// TReplicate, and holders replicate what they hold to the current K closest
// members unless someone stored it to them since their last round.
package dir
