package palyrars

// OpenPartForTest exposes openPart for the RFC 8439 vector test.
func OpenPartForTest(key, nonce, ct, tag, aad []byte) ([]byte, error) {
	return openPart(key, b64.EncodeToString(nonce), b64.EncodeToString(ct), b64.EncodeToString(tag), aad, "test")
}

// KEKFromSeedForTest exposes kekFromSeed.
func KEKFromSeedForTest(seed []byte) KEK { return kekFromSeed(seed) }
