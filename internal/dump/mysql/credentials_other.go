//go:build !linux

package mysql

import (
	"errors"
	"os"
)

// memCredentials is Linux only; elsewhere the credentials go in a 0600 file.
func memCredentials(content []byte) (*os.File, error) {
	return nil, errors.New("in-memory credentials files need Linux")
}
