package oap

import (
	"bytes"
	"testing"
)

// TestLowOrderPointRefused checks that an all-zero X25519 key share, which
// would make the secret all zeros whatever the other end's key (a man in
// the middle fixing it), is refused at both ends.
func TestLowOrderPointRefused(t *testing.T) {
	clk := newClock()
	for _, kex := range []KEX{X25519, X25519MLKEM768} {
		req, st, err := NewRequest(Config{KEX: kex, Now: clk.Now}, serverName)
		if err != nil {
			t.Fatal(err)
		}
		resp, _, _, _, err := fixedServer(Config{Now: clk.Now}).Respond(testSource, serverName, req)
		if err != nil {
			t.Fatal(err)
		}
		off := headerSize + 8 + 1 + int(req[headerSize+8]) + 2
		zero := bytes.Clone(req)
		clear(zero[off : off+x25519Size])
		_, _, _, _, err = fixedServer(Config{Now: clk.Now}).Respond(testSource, serverName, zero)
		wantErr(t, err, ErrMalformed)

		zero = bytes.Clone(resp)
		clear(zero[headerSize+1+2 : headerSize+1+2+x25519Size])
		_, _, _, err = st.Finish(zero)
		wantErr(t, err, ErrMalformed)
	}
}
