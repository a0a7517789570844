package crypt

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// keyVector is the expected key schedule output for the test secret and
// transcript. The hex strings were computed once, independently of this
// package and of Go, by testdata/vectors.py: RFC 5869 HKDF written out with
// Python's hmac and hashlib, and the AEADs of the Python 'cryptography'
// package (run: python3 testdata/vectors.py).
type keyVector struct {
	suite            Suite
	i2rKey, i2rIV    string
	r2iKey, r2iIV    string
	e1Key, e1IV      string // the initiator's sending direction at epoch 1
	pktE0C0, pktE0C7 string // "Ouroboros!" sealed by the initiator
	pktE1C0          string
}

func keyVectors() []keyVector {
	return []keyVector{{
		suite:   AES256GCM,
		i2rKey:  "88ac2be344d368d8163a38eeb01810131a63b1129bf71f2078f3139c1a07adf8",
		i2rIV:   "25a28bea2fcb1c7529cdc9b5",
		r2iKey:  "d3c312e7248a620138115d346e073e9b4394df2d87b3aff10e6ab5036c8a2e47",
		r2iIV:   "3940155f56e3245d13af09a4",
		e1Key:   "07b698bed45e25b4203f09fb186f59efb615f821f7c75bf400bf398465a56355",
		e1IV:    "d08d428933a2d5710d6faf16",
		pktE0C0: "0000000000000000004d58e9827fd8f83032b40fc1ce88e2e69cb57310e55c789351be",
		pktE0C7: "00000000000000000738416504a8231a8de8b54fb24a095aaf5ed88eccf9c04e1aff0b",
		pktE1C0: "0100000000000000008d92cc0e670763f1427ca7a5b46a8b457bf4a8483e9f908c2085",
	}, {
		suite:   ChaCha20Poly1305,
		i2rKey:  "eef81c3258a950d8a088c25ab78467fe73a138bac6d527672327cb106c8028c0",
		i2rIV:   "16ddcde191d373c93f1ce123",
		r2iKey:  "86b94ada60f3b633acb6d0994668e4426416ba55db4ddca0ae3e8a070904059c",
		r2iIV:   "b21cfbf862a1a07c676fb7e9",
		e1Key:   "30df6036a945053c3735d96131183500ffbf99b7317eef721c0ef8cb5a62e61b",
		e1IV:    "099b546c3ac8e44b45298413",
		pktE0C0: "00000000000000000077370b607e8f7a34ca2721321d786c3ef8b9fce15f2d0175753f",
		pktE0C7: "0000000000000000073192cb25e835f5a0ad0794d4a482c1aa9a46e9bc541370e72b54",
		pktE1C0: "01000000000000000001c7a5a40959e3bd1878e7770e679543de4907df0769d461f549",
	}}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in vector: %v", err)
	}
	return b
}

func checkSecret(t *testing.T, what string, got keyIV, key, iv []byte) {
	t.Helper()
	if !bytes.Equal(got.key[:], key) || !bytes.Equal(got.iv[:], iv) {
		t.Errorf("%s: key %x iv %x, want key %x iv %x", what, got.key, got.iv, key, iv)
	}
}

func TestKeyScheduleVector(t *testing.T) {
	for _, v := range keyVectors() {
		t.Run(v.suite.String(), func(t *testing.T) {
			ini, resp := keyPair(t, v.suite)
			i2rKey, i2rIV := unhex(t, v.i2rKey), unhex(t, v.i2rIV)
			r2iKey, r2iIV := unhex(t, v.r2iKey), unhex(t, v.r2iIV)
			checkSecret(t, "initiator send", ini.send, i2rKey, i2rIV)
			checkSecret(t, "responder recv", resp.recv, i2rKey, i2rIV)
			checkSecret(t, "responder send", resp.send, r2iKey, r2iIV)
			checkSecret(t, "initiator recv", ini.recv, r2iKey, r2iIV)
			e1, err := ini.send.next(1)
			if err != nil {
				t.Fatal(err)
			}
			checkSecret(t, "initiator send, epoch 1", e1, unhex(t, v.e1Key), unhex(t, v.e1IV))
		})
	}
}

// TestPacketVector checks the whole wire format (header, nonce, AAD,
// rekeyed key) against packets sealed by the independent implementation.
func TestPacketVector(t *testing.T) {
	for _, v := range keyVectors() {
		t.Run(v.suite.String(), func(t *testing.T) {
			s, o := pipe(t, v.suite, Options{RekeyPackets: 8})
			msg := []byte("Ouroboros!")
			var got [][]byte
			for range 9 { // counters 0..7 of epoch 0, then counter 0 of epoch 1
				p, err := s.Seal(nil, msg)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, p)
			}
			for _, c := range []struct {
				got  []byte
				want string
			}{{got[0], v.pktE0C0}, {got[7], v.pktE0C7}, {got[8], v.pktE1C0}} {
				want := unhex(t, c.want)
				if !bytes.Equal(c.got, want) {
					t.Errorf("sealed %x\nwant   %x", c.got, want)
				}
				mustOpen(t, o, want, msg, "vector packet")
			}
		})
	}
}

func TestDeriveKeysInputs(t *testing.T) {
	base, _ := keyPair(t, AES256GCM)
	if _, err := DeriveKeys(AES256GCM, seq(0, minSecret-1), testTranscript(), true); err == nil {
		t.Error("a secret shorter than 16 bytes was accepted")
	}
	other := func(s Suite, sec, tr []byte) Keys {
		k, err := DeriveKeys(s, sec, tr, true)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	for name, k := range map[string]Keys{
		"suite":      other(ChaCha20Poly1305, testSecret(), testTranscript()),
		"secret":     other(AES256GCM, seq(1, 32), testTranscript()),
		"transcript": other(AES256GCM, testSecret(), seq(0x21, 32)),
	} {
		if k.send == base.send || k.recv == base.recv {
			t.Errorf("changing the %s does not change the keys", name)
		}
	}
	if base.send == base.recv {
		t.Error("both directions have the same key")
	}
	k := base
	k.Erase()
	if k != (Keys{}) {
		t.Error("Erase left key material")
	}
	if base.Suite() != AES256GCM {
		t.Errorf("Suite() = %v", base.Suite())
	}
}
