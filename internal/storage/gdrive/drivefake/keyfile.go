package drivefake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
)

// WriteServiceAccountKey writes to path (mode 0600) a service-account key
// file with a new RSA key whose token endpoint is tokenURL, e.g. a
// Server's TokenURL.
func WriteServiceAccountKey(path, tokenURL string) error {
	b, err := ServiceAccountKey(tokenURL)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	return os.Chmod(path, 0o600) // in case it existed with another mode
}

// ServiceAccountKey returns a service-account key file's content with a
// new RSA key whose token endpoint is tokenURL.
func ServiceAccountKey(tokenURL string) ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "hms-test",
		"private_key_id": "k1",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   "backup@hms-test.iam.gserviceaccount.com",
		"client_id":      "1",
		"token_uri":      tokenURL,
	})
}
