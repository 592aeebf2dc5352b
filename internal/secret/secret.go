// Package secret seals small secret values (a webhook URL with its token)
// so that they are never stored in clear. Values are sealed with
// AES-256-GCM under a key kept outside the catalog: the base64 text of 32
// bytes in HMSBACKUP_SECRET_KEY, or else the file secret.key in the data
// directory, created (mode 0600) the first time a value is sealed. A key
// file readable by anyone but its owner is refused.
//
// A sealed value names its key (by a short id, not the key), so opening it
// with another key says so instead of failing obscurely, and it is bound
// to its label (the setting it belongs to), so it cannot be passed off as
// another setting's value.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

const (
	// EnvKey is the environment variable that may hold the key.
	EnvKey = "HMSBACKUP_SECRET_KEY"
	// KeyFile is the key file's name in the data directory.
	KeyFile = "secret.key"
	// KeySize is the key's length in bytes.
	KeySize = 32
)

// Errors of Open, for errors.Is.
var (
	// ErrWrongKey: the value was sealed with another key.
	ErrWrongKey = errors.New("sealed with another key")
	// ErrDamaged: the value is not one Seal made, or was altered, or
	// belongs to another label.
	ErrDamaged = errors.New("sealed value is damaged")
	// ErrNoKey: there is no key to open values with (no environment
	// variable, no key file).
	ErrNoKey = errors.New("no secret key")
)

// version is the first byte of a sealed value: version, key id (4 bytes),
// nonce (12 bytes), then the ciphertext with its 16-byte tag.
const (
	version   = 1
	idSize    = 4
	nonceSize = 12
	overhead  = 1 + idSize + nonceSize + 16
)

// Box seals and opens values under one key. Safe for concurrent use.
type Box struct {
	aead cipher.AEAD
	id   [idSize]byte
}

// NewBox returns a Box for a KeySize-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key: %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	b := &Box{aead: aead}
	sum := sha256.Sum256(append([]byte("hmsbackup secret key id\x00"), key...))
	copy(b.id[:], sum[:])
	return b, nil
}

// KeyID names the key in messages (8 hex digits of a hash of it); it
// reveals nothing useful about the key.
func (b *Box) KeyID() string { return hex.EncodeToString(b.id[:]) }

// Seal encrypts plaintext for label (e.g. "webhook_url"). Each call uses a
// fresh random nonce, so sealing one value twice gives different bytes.
func (b *Box) Seal(label string, plaintext []byte) ([]byte, error) {
	out := make([]byte, 1+idSize+nonceSize, overhead+len(plaintext))
	out[0] = version
	copy(out[1:], b.id[:])
	nonce := out[1+idSize:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal %s: %w", label, err)
	}
	return b.aead.Seal(out, nonce, plaintext, b.additional(label)), nil
}

// Open returns what Seal sealed for label. It fails with ErrWrongKey if
// another key sealed it, and ErrDamaged if it is not a value Seal made for
// label, or was altered.
func (b *Box) Open(label string, sealed []byte) ([]byte, error) {
	if len(sealed) < overhead || sealed[0] != version {
		return nil, backup.Wrap(ErrDamaged, backup.ECORRUPT, "open %s: not a value hmsbackup sealed (%d bytes)", label, len(sealed))
	}
	if id := sealed[1 : 1+idSize]; string(id) != string(b.id[:]) {
		return nil, backup.Wrap(ErrWrongKey, backup.EINVALID, "open %s: it was sealed with key %s, not with this key (%s)", label, hex.EncodeToString(id), b.KeyID())
	}
	nonce, ciphertext := sealed[1+idSize:1+idSize+nonceSize], sealed[1+idSize+nonceSize:]
	plain, err := b.aead.Open(nil, nonce, ciphertext, b.additional(label))
	if err != nil {
		return nil, backup.Wrap(ErrDamaged, backup.ECORRUPT, "open %s: it fails authentication (altered, or sealed for another setting)", label)
	}
	return plain, nil
}

// additional binds a sealed value to its label, format and key.
func (b *Box) additional(label string) []byte {
	return append(append([]byte("hmsbackup:"+label+"\x00"), version), b.id[:]...)
}

// GenerateKey returns a new random key.
func GenerateKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate secret key: %w", err)
	}
	return key, nil
}

// ParseKey reads a key written as base64 (standard or URL alphabet,
// padded or not) of KeySize bytes. Its errors never include the text.
func ParseKey(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		key, err := enc.DecodeString(text)
		if err != nil {
			continue
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("it is base64 of %d bytes, not %d (make one with: head -c 32 /dev/urandom | base64)", len(key), KeySize)
		}
		return key, nil
	}
	return nil, fmt.Errorf("it is not base64 (make one with: head -c 32 /dev/urandom | base64)")
}

// LoadKey returns the key: envValue's (the value of EnvKey) if it is not
// empty, else the one in dir's KeyFile. When there is neither and create
// is true, it writes a new key to the file (mode 0600, atomically: when
// processes race, all get the key that was written first); when create is
// false it returns ErrNoKey. A malformed key, or a key file readable by
// others than its owner, is refused with EINVALID saying why.
func LoadKey(envValue, dir string, create bool) ([]byte, error) {
	if envValue != "" {
		key, err := ParseKey(envValue)
		if err != nil {
			return nil, backup.Wrap(err, backup.EINVALID, "%s is malformed", EnvKey)
		}
		return key, nil
	}
	path := filepath.Join(dir, KeyFile)
	key, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if !create {
		return nil, backup.Wrap(ErrNoKey, backup.ENOTFOUND, "%s is not set and %s does not exist", EnvKey, path)
	}
	return createKeyFile(path)
}

// readKeyFile reads the key at path; fs.ErrNotExist if there is none.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, backup.Wrap(err, backup.EINVALID, "read secret key file")
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, backup.Wrap(err, backup.EINVALID, "read secret key file %s", path)
	}
	if !fi.Mode().IsRegular() {
		return nil, backup.Errorf(backup.EINVALID, "secret key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, backup.Errorf(backup.EINVALID, "secret key file %s has mode %04o, so others than its owner may read it: refusing to use it (chmod 600 %s, and consider the secrets it sealed exposed)", path, perm, path)
	}
	text, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, backup.Wrap(err, backup.EINVALID, "read secret key file %s", path)
	}
	key, err := ParseKey(string(text))
	if err != nil {
		return nil, backup.Wrap(err, backup.EINVALID, "secret key file %s is malformed", path)
	}
	return key, nil
}

// createKeyFile writes a new key to path unless a key appears there first,
// and returns the key path holds.
func createKeyFile(path string) ([]byte, error) {
	key, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create secret key file: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".secret.key-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("create secret key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("create secret key file %s: %w", path, err)
	}
	// Link fails if another process made the file meanwhile: use theirs.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeyFile(path)
		}
		return nil, fmt.Errorf("create secret key file %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return key, nil
}

// Keyring loads its key on first use (see LoadKey), so that a key file is
// created only when a value is first sealed. Safe for concurrent use.
type Keyring struct {
	envValue, dir string

	mu  sync.Mutex
	box *Box
}

// NewKeyring returns a Keyring for the key in envValue (EnvKey's value),
// or else in dir's KeyFile.
func NewKeyring(envValue, dir string) *Keyring { return &Keyring{envValue: envValue, dir: dir} }

// Seal seals plaintext for label, creating the key file if there is no key.
func (k *Keyring) Seal(label string, plaintext []byte) ([]byte, error) {
	b, err := k.load(true)
	if err != nil {
		return nil, fmt.Errorf("seal %s: %w", label, err)
	}
	return b.Seal(label, plaintext)
}

// Open opens what Seal sealed for label; with no key at all it fails with
// ErrNoKey. See Box.Open.
func (k *Keyring) Open(label string, sealed []byte) ([]byte, error) {
	b, err := k.load(false)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", label, err)
	}
	return b.Open(label, sealed)
}

func (k *Keyring) load(create bool) (*Box, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.box != nil {
		return k.box, nil
	}
	key, err := LoadKey(k.envValue, k.dir, create)
	if err != nil {
		return nil, err
	}
	if k.box, err = NewBox(key); err != nil {
		return nil, err
	}
	return k.box, nil
}
