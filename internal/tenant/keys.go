package tenant

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

// KeyPrefix starts every key atende generates, so a leaked key is recognisable in scanners and logs.
const KeyPrefix = "atd_"

// prefixLen is how much of a key is kept in clear to let people tell their keys apart.
const prefixLen = len(KeyPrefix) + 8

// NewSecret returns a random API key: "atd_" and 48 hex digits (192 bits).
func NewSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return KeyPrefix + hex.EncodeToString(b)
}

// HashSecret is what atende stores and looks keys up by. Keys are long random strings, so a fast hash is
// enough: there is nothing to brute-force.
func HashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

func secretPrefix(secret string) string {
	if len(secret) <= prefixLen {
		return secret[:len(secret)/2]
	}
	return secret[:prefixLen]
}
