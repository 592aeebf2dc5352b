package testutil

import (
	"strings"
	"testing"
)

func TestFindBinaryMissingSaysWhatToInstall(t *testing.T) {
	_, err := findBinary("hmsbackup-no-such-mariadbd")
	if err == nil {
		t.Fatal("findBinary of a missing binary succeeded")
	}
	if got := err.Error(); !strings.Contains(got, "apt-get install mariadb-server mariadb-client") {
		t.Errorf("error = %q, want it to say what to install", got)
	}
}
