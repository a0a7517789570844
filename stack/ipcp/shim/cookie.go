package shim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"
	"time"
)

// cookieRotate is how often the cookie secret changes; cookies made with
// the previous secret are still accepted, so a cookie lives 1 to 2 of it.
const cookieRotate = 2 * time.Minute

// cookies makes and checks the cookies of the return-routability step, as
// WireGuard's cookie reply does: under load, a FLOW_REQ without a valid
// cookie is answered with COOKIE, a MAC over the request's source address
// and endpoint id under a secret that rotates. Only a requester that
// receives at its address can repeat the request with it, so a flood from
// spoofed addresses costs the responder one MAC per packet and no state.
type cookies struct {
	mu        sync.Mutex
	cur, prev hash.Hash // HMAC-SHA256 under the current and previous secret
	rotated   time.Time
	sum       []byte
}

// make returns the cookie for a request from addr (its bytes) with src eid.
func (j *cookies) make(now time.Time, addr []byte, eid uint32) [secretLen]byte {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rotateLocked(now)
	return j.macLocked(j.cur, addr, eid)
}

// valid reports whether cookie is one made for addr and eid under the
// current or the previous secret.
func (j *cookies) valid(now time.Time, addr []byte, eid uint32, cookie []byte) bool {
	if len(cookie) != secretLen {
		return false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rotateLocked(now)
	for _, h := range []hash.Hash{j.cur, j.prev} {
		if want := j.macLocked(h, addr, eid); hmac.Equal(want[:], cookie) {
			return true
		}
	}
	return false
}

func (j *cookies) macLocked(h hash.Hash, addr []byte, eid uint32) [secretLen]byte {
	h.Reset()
	h.Write(addr)
	h.Write(binary.BigEndian.AppendUint32(j.sum[:0], eid))
	j.sum = h.Sum(j.sum[:0])
	return [secretLen]byte(j.sum[:secretLen])
}

func (j *cookies) rotateLocked(now time.Time) {
	if j.cur != nil && now.Sub(j.rotated) < cookieRotate {
		return
	}
	var key [32]byte
	rand.Read(key[:])
	j.prev, j.cur, j.rotated = j.cur, hmac.New(sha256.New, key[:]), now
	if j.prev == nil {
		j.prev = j.cur
	}
}
