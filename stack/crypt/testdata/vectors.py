# Independent computation of the stack/crypt test vectors: RFC 5869 HKDF
# written out with hmac/hashlib, AEADs from the 'cryptography' package.
import hmac, hashlib, struct
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

def extract(salt, ikm): return hmac.new(salt, ikm, hashlib.sha256).digest()
def expand(prk, info, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest(); out += t; i += 1
    return out[:n]

secret = bytes(range(32)); transcript = bytes(range(0x20, 0x40))
for suite, aead in ((1, AESGCM), (2, ChaCha20Poly1305)):
    prk = extract(transcript, secret)
    i2r = expand(prk, b"o7s/crypt/v1 initiator->responder" + bytes([suite]), 44)
    r2i = expand(prk, b"o7s/crypt/v1 responder->initiator" + bytes([suite]), 44)
    e1 = expand(i2r[:32], b"o7s/crypt/v1 rekey" + struct.pack(">I", 1), 44)
    print("suite", suite)
    print(" i2r key", i2r[:32].hex(), "iv", i2r[32:].hex())
    print(" r2i key", r2i[:32].hex(), "iv", r2i[32:].hex())
    print(" i2r e1 key", e1[:32].hex(), "iv", e1[32:].hex())
    for epoch, ctr, kiv in ((0, 0, i2r), (0, 7, i2r), (1, 0, e1)):
        hdr = bytes([epoch & 0xff]) + struct.pack(">Q", ctr)
        nonce = kiv[32:36] + bytes(a ^ b for a, b in zip(kiv[36:], struct.pack(">Q", ctr)))
        pkt = hdr + aead(kiv[:32]).encrypt(nonce, b"Ouroboros!", hdr)
        print(" packet e%d c%d" % (epoch, ctr), pkt.hex())
