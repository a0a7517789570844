package crypt

import "encoding/binary"

// Wire format of a sealed packet. Integers are big-endian; offsets in bytes.
//
//	0        1                        9                       9+n        9+n+16
//	+--------+------------------------+-----------------------+----------+
//	| epoch  | counter                | ciphertext            | tag      |
//	| u8     | u64                    | n bytes (n = len SDU) | 16 bytes |
//	+--------+------------------------+-----------------------+----------+
//	 \____ header: the AEAD's additional data ___/
//
// The fields:
//
//   - epoch: the low 8 bits of the sender's epoch number E (a uint32 that
//     starts at 0 and grows by one at each rekey; keys.go gives the key and
//     IV of epoch E). The receiver maps the byte to the epoch number nearest
//     its own current epoch: cur + int8(byte - uint8(cur)).
//   - counter: the packet's number within its epoch. It starts at 0 in
//     every epoch, grows by one per packet and never repeats within one;
//     the sender rekeys before it reaches the rekey limit (2^32 by default).
//   - ciphertext and tag: AEAD-Seal(key(E), nonce, SDU, additional data =
//     the 9 header bytes), with the suite the flow negotiated (AES-256-GCM
//     or ChaCha20-Poly1305), whose 16-byte tag is appended.
//   - nonce (12 bytes) = IV(E) XOR (0x00000000 || counter): the counter's
//     8 bytes XORed into the IV's last 8 bytes.
//
// The receiver rejects a packet whose counter it already opened in that
// epoch, or that is 2048 or more below the highest counter it opened in that
// epoch (a replay window of 2048 counters); it updates the window only
// after the tag verified. It accepts the epochs from one before its current
// one to 127 after it (deriving the keys of the epochs in between, in case
// every packet of some epochs was lost); a packet of a later epoch that
// authenticates makes that epoch current, and the one before it previous.
// The previous epoch's key is kept for reordered packets until 1024 packets
// of the new epoch opened or 5 s passed (local policy), then erased.
//
// The header is in the clear: it tells an observer the packet count of the
// flow and when it rekeys, nothing else. The SDU (FRCT header included) is
// inside the ciphertext.
const (
	HeaderSize = 1 + 8 // epoch and counter
	TagSize    = 16    // AEAD tag, both suites
	// Overhead is what sealing adds to every SDU.
	Overhead = HeaderSize + TagSize
)

// appendHeader appends the header of packet counter in epoch to dst.
func appendHeader(dst []byte, epoch uint32, counter uint64) []byte {
	dst = append(dst, byte(epoch))
	return binary.BigEndian.AppendUint64(dst, counter)
}

// parseHeader returns the header fields of a packet at least HeaderSize long.
func parseHeader(p []byte) (epoch byte, counter uint64) {
	return p[0], binary.BigEndian.Uint64(p[1:HeaderSize])
}

// makeNonce writes the nonce of counter under iv into n.
func makeNonce(n *[IVSize]byte, iv *[IVSize]byte, counter uint64) {
	*n = *iv
	c := binary.BigEndian.Uint64(n[4:])
	binary.BigEndian.PutUint64(n[4:], c^counter)
}
