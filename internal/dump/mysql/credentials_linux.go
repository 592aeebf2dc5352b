package mysql

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// memCredentials puts content in a sealed in-memory file readable by its
// owner only: it lives as long as a process holds it and is never on disk.
func memCredentials(content []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate("hmsbackup-mysql-credentials", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd:hmsbackup-mysql-credentials")
	// A memfd starts with mode 0777, and the tools ignore a world-writable
	// option file.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		return nil, err
	}
	// Nobody, the tools included, can change it now.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
