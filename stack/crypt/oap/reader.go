package oap

import (
	"encoding/binary"
	"fmt"
)

// reader decodes a message front to back. The first failure sticks: later
// reads return zero values and end reports the first error, so decoders
// read straight through without checking each field.
type reader struct {
	msg []byte
	off int
	err error
	kex KEX
	id  [idSize]byte
}

// newReader checks the size and the common header of msg, of type typ.
func newReader(msg []byte, typ byte) (*reader, error) {
	if len(msg) > MaxMessage {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(msg), MaxMessage)
	}
	if len(msg) < headerSize {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrMalformed, len(msg), headerSize)
	}
	if msg[0] != Version {
		return nil, fmt.Errorf("%w: version %d, this end speaks %d", ErrVersion, msg[0], Version)
	}
	if msg[1] != typ {
		return nil, fmt.Errorf("%w: message type %d, want %d", ErrMalformed, msg[1], typ)
	}
	r := &reader{msg: msg, off: headerSize, kex: KEX(msg[2])}
	if r.kex.rank() == 0 {
		return nil, fmt.Errorf("%w: unknown key exchange %d", ErrMalformed, msg[2])
	}
	if msg[3] != 0 {
		return nil, fmt.Errorf("%w: flags %#x, want 0", ErrMalformed, msg[3])
	}
	copy(r.id[:], msg[4:headerSize])
	return r, nil
}

// fail records the first error.
func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at byte %d", ErrMalformed, what, r.off)
	}
}

// bytes returns the next n bytes, or nil if they are not all there.
func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.msg)-r.off {
		r.fail(fmt.Sprintf("%d bytes announced, %d left", n, len(r.msg)-r.off))
		return nil
	}
	b := r.msg[r.off : r.off+n : r.off+n]
	r.off += n
	return b
}

func (r *reader) u8() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() int {
	if b := r.bytes(2); b != nil {
		return int(binary.BigEndian.Uint16(b))
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.bytes(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// share reads a key share whose length must be exactly want.
func (r *reader) share(want int) []byte {
	n := r.u16()
	if r.err == nil && n != want {
		r.fail(fmt.Sprintf("%v key share of %d bytes, want %d", r.kex, n, want))
	}
	return r.bytes(n)
}

// chain reads the certificate count and the certificates.
func (r *reader) chain() [][]byte {
	c := int(r.u8())
	if r.err != nil {
		return nil
	}
	if c > MaxCerts {
		r.fail(fmt.Sprintf("%d certificates, at most %d", c, MaxCerts))
		return nil
	}
	var certs [][]byte
	for range c {
		n := r.u16()
		if r.err == nil && (n == 0 || n > MaxCertSize) {
			r.fail(fmt.Sprintf("certificate of %d bytes, want 1..%d", n, MaxCertSize))
		}
		if b := r.bytes(n); b != nil {
			certs = append(certs, b)
		}
	}
	return certs
}

// sig reads the signature, which must be present exactly when the message
// carries certificates.
func (r *reader) sig(signed bool) []byte {
	n := r.u16()
	switch {
	case r.err != nil:
	case signed && (n == 0 || n > maxSig):
		r.fail(fmt.Sprintf("signature of %d bytes, want 1..%d", n, maxSig))
	case !signed && n != 0:
		r.fail(fmt.Sprintf("signature of %d bytes without a certificate", n))
	}
	return r.bytes(n)
}

// end reports the first error, or trailing bytes.
func (r *reader) end() error {
	if r.err == nil && r.off != len(r.msg) {
		r.err = fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(r.msg)-r.off)
	}
	return r.err
}
