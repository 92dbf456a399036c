package config

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDefaults(t *testing.T) {
	for _, k := range []string{"ATENDE_ADDR", "ATENDE_DATABASE_URL", "ATENDE_OPERATOR_KEY", "ATENDE_BOOTSTRAP_ADMIN_KEY", "ATENDE_LOG_LEVEL"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	c, err := Load()
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", c.Addr)
	require.Equal(t, "sqlite://./var/atende.db", c.DatabaseURL)
}

func TestSecretsFromFilesAndNeverPrinted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "op")
	require.NoError(t, os.WriteFile(path, []byte("operator-key-from-a-file-0123\n"), 0o600))
	t.Setenv("ATENDE_OPERATOR_KEY_FILE", path)
	c, err := Load()
	require.NoError(t, err)
	require.Equal(t, "operator-key-from-a-file-0123", c.OperatorKey.Reveal())
	require.NotContains(t, fmt.Sprintf("%v %+v %s", c, c, c.OperatorKey), "operator-key-from-a-file")

	t.Setenv("ATENDE_OPERATOR_KEY", "another-operator-key-012345")
	_, err = Load()
	require.ErrorContains(t, err, "not both")
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Setenv("ATENDE_DATABASE_URL", "mysql://x")
	t.Setenv("ATENDE_LOG_LEVEL", "loud")
	t.Setenv("ATENDE_OPERATOR_KEY", "short")
	_, err := Load()
	require.Error(t, err)
	for _, want := range []string{"ATENDE_DATABASE_URL", "ATENDE_LOG_LEVEL", "ATENDE_OPERATOR_KEY"} {
		require.ErrorContains(t, err, want)
	}
	t.Setenv("ATENDE_DATABASE_URL", "sqlite://x.db")
	t.Setenv("ATENDE_LOG_LEVEL", "info")
	t.Setenv("ATENDE_OPERATOR_KEY", "")
	t.Setenv("ATENDE_BODY_LIMIT", "lots")
	_, err = Load()
	require.ErrorContains(t, err, "ATENDE_BODY_LIMIT")
}
