package android

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// SignerDigest returns the hex SHA-256 of the first certificate in a v1
// signature block (META-INF/*.RSA, *.DSA, *.EC): a PKCS#7 SignedData whose
// certificates field holds the signer's certificate. This is the digest
// apksigner prints and Play shows, so a user can tell a build from a fake.
func SignerDigest(block []byte) (string, error) {
	d, _, err := SignerInfo(block)
	return d, err
}

// SignerInfo is SignerDigest plus the certificate's subject
// ("CN=…, O=…"), "" when the certificate does not parse: the subject names
// who signed the app, one of the facts that tie a host to the app.
func SignerInfo(block []byte) (digest, subject string, err error) {
	var ci struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,tag:0"`
	}
	if _, err := asn1.Unmarshal(block, &ci); err != nil {
		return "", "", fmt.Errorf("signature block: %w", err)
	}
	var sd struct {
		Version int
		Digests asn1.RawValue
		Content asn1.RawValue
		Certs   asn1.RawValue `asn1:"optional,tag:0"`
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return "", "", fmt.Errorf("signature block: signed data: %w", err)
	}
	var cert asn1.RawValue
	if _, err := asn1.Unmarshal(sd.Certs.Bytes, &cert); err != nil || len(cert.FullBytes) == 0 {
		return "", "", fmt.Errorf("signature block: no certificate: %w", ErrFormat)
	}
	h := sha256.Sum256(cert.FullBytes)
	return hex.EncodeToString(h[:]), certSubject(cert.FullBytes), nil
}

// certSubject is a DER certificate's subject as text, or "".
func certSubject(der []byte) string {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return ""
	}
	return c.Subject.String()
}

// APK Signature Scheme v2 and v3 block ids.
const (
	blockV2 = 0x7109871a
	blockV3 = 0xf05368c0
)

// SigningBlockDigest returns the hex SHA-256 of the first signer's first
// certificate in the APK Signing Block (scheme v2 or v3), which sits just
// before the zip central directory. APKs for API 24+ are often signed with
// v2/v3 alone and carry no META-INF signature file.
// Layout: source.android.com/docs/security/features/apksigning/v2.
func SigningBlockDigest(r io.ReaderAt, size int64) (string, error) {
	d, _, err := SigningBlockInfo(r, size)
	return d, err
}

// SigningBlockInfo is SigningBlockDigest plus the certificate's subject.
func SigningBlockInfo(r io.ReaderAt, size int64) (digest, subject string, err error) {
	cd, err := centralDirOffset(r, size)
	if err != nil {
		return "", "", err
	}
	var foot [24]byte // u64 block size, then the magic
	if cd < 32 {
		return "", "", fmt.Errorf("signing block: %w", ErrNoSigningBlock)
	}
	if _, err := r.ReadAt(foot[:], cd-24); err != nil {
		return "", "", fmt.Errorf("signing block: %w", err)
	}
	if string(foot[8:]) != "APK Sig Block 42" {
		return "", "", fmt.Errorf("signing block: %w", ErrNoSigningBlock)
	}
	n := le.Uint64(foot[:])
	if n < 24 || n > 16<<20 || int64(n) > cd-8 {
		return "", "", fmt.Errorf("signing block of %d bytes: %w", n, ErrFormat)
	}
	blk := make([]byte, n-24) // the pairs, between the leading size and the footer
	if _, err := r.ReadAt(blk, cd-int64(n)); err != nil {
		return "", "", fmt.Errorf("signing block: %w", err)
	}
	for len(blk) >= 12 {
		ln := le.Uint64(blk)
		if ln < 4 || ln > uint64(len(blk)-8) {
			return "", "", fmt.Errorf("signing block pair: %w", ErrFormat)
		}
		id, val := le.Uint32(blk[8:]), blk[12:8+ln]
		if id == blockV2 || id == blockV3 {
			return firstCert(val)
		}
		blk = blk[8+ln:]
	}
	return "", "", fmt.Errorf("signing block: %w", ErrNoSigningBlock)
}

// ErrNoSigningBlock means an APK has no v2/v3 signing block.
var ErrNoSigningBlock = errors.New("no APK signing block")

// firstCert walks signers → signer → signed data → certificates → first
// certificate; each level is a u32 length-prefixed field.
func firstCert(b []byte) (string, string, error) {
	next := func(b []byte) ([]byte, []byte, bool) { // one length-prefixed field and the rest
		if len(b) < 4 || int(le.Uint32(b)) > len(b)-4 {
			return nil, nil, false
		}
		n := int(le.Uint32(b))
		return b[4 : 4+n], b[4+n:], true
	}
	signers, _, ok1 := next(b)
	signer, _, ok2 := next(signers)
	signed, _, ok3 := next(signer)
	_, rest, ok4 := next(signed) // digests
	certs, _, ok5 := next(rest)
	cert, _, ok6 := next(certs)
	ok := ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && len(cert) > 0
	if !ok {
		return "", "", fmt.Errorf("signing block: signer: %w", ErrFormat)
	}
	h := sha256.Sum256(cert)
	return hex.EncodeToString(h[:]), certSubject(cert), nil
}

// centralDirOffset finds the end-of-central-directory record in the last
// 64 KiB and returns the central directory's offset.
func centralDirOffset(r io.ReaderAt, size int64) (int64, error) {
	n := min(size, 65535+22)
	tail := make([]byte, n)
	if _, err := r.ReadAt(tail, size-n); err != nil {
		return 0, fmt.Errorf("zip end record: %w", err)
	}
	i := bytes.LastIndex(tail, []byte("PK\x05\x06"))
	if i < 0 || i+22 > len(tail) {
		return 0, fmt.Errorf("zip end record: %w", ErrFormat)
	}
	off := int64(le.Uint32(tail[i+16:]))
	if off > size {
		return 0, fmt.Errorf("zip central directory at %d: %w", off, ErrFormat)
	}
	return off, nil
}
