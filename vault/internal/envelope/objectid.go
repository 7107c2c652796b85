package envelope

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/palyra/palyra-vault/vault/backend"
)

// objectIDDomain separates object-id hashes from every other hash the vault
// computes. The trailing zero byte ends the domain string.
const objectIDDomain = "palyra-vault object-id v1\x00"

// ObjectIDPrefix starts every object ID.
const ObjectIDPrefix = "obj_"

// ObjectID returns the name under which a backend stores the secret at scope
// and key: "obj_" followed by the 64 lowercase hex digits of
//
//	SHA-256("palyra-vault object-id v1" || 0x00 || scope || 0x00 || key)
//
// (docs/FORMAT.md, "Object ID"). The hash is one-way, so the ID reveals
// neither the scope nor the key, and since neither name may contain a zero
// byte, distinct (scope, key) pairs hash distinct inputs. ObjectID does not
// validate the names; the result is always a valid backend.ObjectID.
func ObjectID(scope, key string) backend.ObjectID {
	h := sha256.New()
	h.Write([]byte(objectIDDomain))
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return backend.ObjectID(ObjectIDPrefix + hex.EncodeToString(h.Sum(nil)))
}
