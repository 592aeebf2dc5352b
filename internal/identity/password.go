package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters. Each hash records those it was
// made with, so verifying works after Params change.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over the memory
	Threads uint8  // lanes (parallelism)
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams suit a 2-core server: RFC 9106's second recommended
// choice (64 MiB, 3 passes) with 2 lanes, one per core, a 16-byte salt and
// a 32-byte hash; well above OWASP's minimum (19 MiB, t=2, p=1). One hash
// takes 55-65 ms on a 2-core AMD EPYC server (BenchmarkHashPassword) and holds
// 64 MiB while it runs, so callers that hash for the network (sign-in)
// should rate-limit and allow only a few at once.
func DefaultParams() Params {
	return Params{Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}
}

// Limits on parameters read from a stored hash, so a tampered hash cannot
// make verification take gigabytes or minutes.
const (
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 16
	maxKeyLen  = 128
	minSaltLen = 8
)

// errMalformedHash is returned for a stored hash that is not argon2id PHC.
var errMalformedHash = errors.New("password hash is not an argon2id hash in PHC form")

// HashPassword returns password's argon2id hash with a fresh random salt,
// in PHC form: $argon2id$v=19$m=65536,t=3,p=2$SALT$HASH (unpadded base64).
func HashPassword(p Params, password string) (string, error) {
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 || p.SaltLen < minSaltLen || p.KeyLen == 0 {
		return "", fmt.Errorf("hash password: argon2id parameters %+v are not usable", p)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: read random salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches encoded, a hash made by
// HashPassword, comparing in constant time. It returns an error (and
// false) for a malformed hash or parameters beyond sane limits.
func VerifyPassword(encoded, password string) (bool, error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// decodeHash parses a PHC argon2id hash.
func decodeHash(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, errMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, fmt.Errorf("%w: version %q", errMalformedHash, parts[2])
	}
	var p Params
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads) != parts[3] {
		return Params{}, nil, nil, fmt.Errorf("%w: parameters %q", errMalformedHash, parts[3])
	}
	if p.Memory == 0 || p.Memory > maxMemory || p.Time == 0 || p.Time > maxTime || p.Threads == 0 || p.Memory < 8*uint32(p.Threads) {
		return Params{}, nil, nil, fmt.Errorf("%w: parameters %q out of range", errMalformedHash, parts[3])
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < minSaltLen {
		return Params{}, nil, nil, fmt.Errorf("%w: salt", errMalformedHash)
	}
	key, err := base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > maxKeyLen {
		return Params{}, nil, nil, fmt.Errorf("%w: hash", errMalformedHash)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// Password rules.
const (
	MinPasswordLen = 12   // characters (runes)
	MaxPasswordLen = 1024 // bytes, bounding the work of hashing
)

// CheckPassword returns EINVALID, saying which rule it breaks, unless
// password is at least MinPasswordLen characters, at most MaxPasswordLen
// bytes, valid UTF-8, and is not the user name (in any case) nor contains
// a name of 4 or more characters.
func CheckPassword(userName, password string) error {
	switch {
	case !utf8.ValidString(password):
		return backup.Errorf(backup.EINVALID, "the password is not valid UTF-8 text")
	case utf8.RuneCountInString(password) < MinPasswordLen:
		return backup.Errorf(backup.EINVALID, "the password is too short: use at least %d characters (or let hmsbackup generate one)", MinPasswordLen)
	case len(password) > MaxPasswordLen:
		return backup.Errorf(backup.EINVALID, "the password is too long: use at most %d bytes", MaxPasswordLen)
	case strings.EqualFold(password, userName),
		len(userName) >= 4 && strings.Contains(strings.ToLower(password), strings.ToLower(userName)):
		return backup.Errorf(backup.EINVALID, "the password must not be or contain the user name")
	}
	return nil
}

// passwordAlphabet has no characters easily mistaken for one another
// (0/O, 1/l/I) and nothing a shell or a form would mangle.
const passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// GeneratedPasswordLen is the length of GeneratePassword's passwords:
// 20 of 57 symbols, about 116 bits.
const GeneratedPasswordLen = 20

// GeneratePassword returns a random password of GeneratedPasswordLen
// characters of an unambiguous alphabet, from crypto/rand, each character
// uniformly chosen.
func GeneratePassword() (string, error) {
	const n = len(passwordAlphabet)
	limit := 256 - 256%n // reject bytes >= limit: no modulo bias
	out := make([]byte, 0, GeneratedPasswordLen)
	buf := make([]byte, 32)
	for len(out) < GeneratedPasswordLen {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < GeneratedPasswordLen {
				out = append(out, passwordAlphabet[int(b)%n])
			}
		}
	}
	return string(out), nil
}
