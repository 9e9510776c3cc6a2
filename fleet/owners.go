package fleet

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/redact"
)

// Owners turns the identifiers an MDM gives for a device's user (an e-mail
// address, a user principal name, a user name) into what the results store
// keeps: a keyed hash and a masked form, never the identifier.
//
// Why a keyed hash: a re-import must recognise the same owner to update
// rather than add, and the report must count distinct owners; neither needs
// to know who they are. The team that runs gown has the MDM to look up a
// device's user by the device's id. A plain hash of an e-mail address is
// reversed by hashing a company's staff list; keyed with a random key the
// store holds, the hashes mean nothing outside that store and cannot be
// joined with another's. (Anyone who has the store has the key: the hash is
// pseudonymisation, not anonymisation, and the masked form is what people
// see.)
type Owners struct {
	key []byte
}

// NewOwners hashes with key (gown.FleetStore.OwnerKey).
func NewOwners(key []byte) *Owners { return &Owners{key: key} }

// Ref returns the stored form of an owner identifier, nil for none. The
// identifier is compared case-insensitively (e-mail addresses and UPNs are
// case-insensitive in practice).
func (o *Owners) Ref(identifier string) *gown.OwnerRef {
	id := strings.ToLower(strings.TrimSpace(identifier))
	if id == "" {
		return nil
	}
	m := hmac.New(sha256.New, o.key)
	m.Write([]byte(id))
	return &gown.OwnerRef{Key: hex.EncodeToString(m.Sum(nil)), Masked: MaskOwner(id)}
}

// MaskOwner masks an owner identifier for display: an e-mail address or
// UPN as redact.MaskEmail does ("a***@a***.com"), a user name to its first
// letter ("a***").
func MaskOwner(id string) string {
	if strings.Contains(id, "@") {
		return redact.MaskEmail(id)
	}
	return redact.Mask("", id)
}
