package assess

import (
	"crypto/sha256"
	"math/big"
	"strings"

	"github.com/gownscan/gown/internal/lazyre"
)

// Bitcoin addresses in ransom notes are checked by their own checksums, so
// that a random 34-character string in a document is not taken for one:
// base58check (BIP-13 P2PKH "1…" and P2SH "3…") and bech32/bech32m (BIP-173,
// BIP-350, "bc1…").

var btcCandidate = lazyre.New(`\b(?:[13][1-9A-HJ-NP-Za-km-z]{25,34}|(?i:bc1)[02-9ac-hj-np-z]{11,71})\b`)

// findBitcoin returns the first valid bitcoin address in text.
func findBitcoin(text string) (string, bool) {
	for _, c := range btcCandidate.FindAllString(text, 16) {
		if validBitcoin(c) {
			return c, true
		}
	}
	return "", false
}

func validBitcoin(a string) bool {
	if strings.HasPrefix(strings.ToLower(a), "bc1") {
		return validBech32(a)
	}
	return validBase58Check(a)
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// validBase58Check decodes a legacy address: 25 bytes, version 0x00 (P2PKH)
// or 0x05 (P2SH), and a checksum of the first four bytes of the double
// SHA-256 of the rest.
func validBase58Check(a string) bool {
	n := new(big.Int)
	b58 := big.NewInt(58)
	for i := 0; i < len(a); i++ {
		d := strings.IndexByte(base58Alphabet, a[i])
		if d < 0 {
			return false
		}
		n.Mul(n, b58).Add(n, big.NewInt(int64(d)))
	}
	raw := n.Bytes()
	// Each leading '1' is a leading zero byte.
	zeros := len(a) - len(strings.TrimLeft(a, "1"))
	raw = append(make([]byte, zeros), raw...)
	if len(raw) != 25 || (raw[0] != 0x00 && raw[0] != 0x05) {
		return false
	}
	h1 := sha256.Sum256(raw[:21])
	h2 := sha256.Sum256(h1[:])
	return string(h2[:4]) == string(raw[21:])
}

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// validBech32 checks a segwit address's checksum: the BCH code of BIP-173
// (witness version 0, constant 1) or BIP-350 (versions 1 to 16, constant
// 0x2bc830a3), over the expanded human-readable part "bc" and the data.
func validBech32(a string) bool {
	if strings.ToLower(a) != a && strings.ToUpper(a) != a {
		return false // mixed case is invalid
	}
	a = strings.ToLower(a)
	sep := strings.LastIndexByte(a, '1')
	if sep != 2 || len(a) < 14 || len(a) > 90 || a[:2] != "bc" {
		return false
	}
	data := make([]int, 0, len(a)-3)
	for i := sep + 1; i < len(a); i++ {
		d := strings.IndexByte(bech32Charset, a[i])
		if d < 0 {
			return false
		}
		data = append(data, d)
	}
	values := []int{int('b') >> 5, int('c') >> 5, 0, int('b') & 31, int('c') & 31}
	values = append(values, data...)
	chk := bech32Polymod(values)
	version := data[0]
	switch {
	case version == 0:
		return chk == 1
	case version <= 16:
		return chk == 0x2bc830a3
	}
	return false
}

func bech32Polymod(values []int) int {
	gen := [5]int{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := 1
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ v
		for i := 0; i < 5; i++ {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}
