package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// TokenPrefix starts every API token, so that it is recognised in a leaked
// file or log (secret scanners) and told apart from other credentials.
const TokenPrefix = "hms_"

// tokenBytes is the random part's size: 256 bits.
const tokenBytes = 32

// NewToken returns a new API token, TokenPrefix followed by 32 random
// bytes in unpadded base64url, and its hash (HashToken) to store.
func NewToken() (token string, hash []byte, err error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("generate API token: %w", err)
	}
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken returns the SHA-256 of token: what the catalog stores and
// looks tokens up by. The token's 256 random bits make a slow hash
// unnecessary.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// wellFormedToken reports whether s looks like a token NewToken made.
func wellFormedToken(s string) bool {
	rest, ok := strings.CutPrefix(s, TokenPrefix)
	if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	return err == nil && len(b) == tokenBytes
}
