package document_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/document"
)

// The seed corpus lives in testdata/fuzz/<FuzzName>/ so that plain `go test` replays it.

func FuzzNormalizeCNPJ(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		c, err := document.NormalizeCNPJ(s)
		kind, either, eitherErr := document.Normalize(s)
		if err != nil {
			require.ErrorIs(t, err, document.ErrInvalid)
			require.Empty(t, c)
			require.False(t, eitherErr == nil && kind == document.KindCNPJ,
				"Normalize accepted as a CNPJ what NormalizeCNPJ rejected")
			return
		}

		require.Len(t, c, 14)
		for i := 0; i < len(c); i++ {
			ch := c[i]
			isDigit := '0' <= ch && ch <= '9'
			isUpper := 'A' <= ch && ch <= 'Z'
			if i < 12 {
				require.True(t, isDigit || isUpper, "character %d of canonical form is %q", i, ch)
			} else {
				require.True(t, isDigit, "check digit %d is %q", i, ch)
			}
		}

		again, err := document.NormalizeCNPJ(c)
		require.NoError(t, err)
		require.Equal(t, c, again, "canonical form is not a fixed point")

		formatted := document.FormatCNPJ(c)
		require.Len(t, formatted, 18)
		back, err := document.NormalizeCNPJ(formatted)
		require.NoError(t, err)
		require.Equal(t, c, back, "Format then Normalize changed the CNPJ")

		require.NoError(t, eitherErr)
		require.Equal(t, document.KindCNPJ, kind)
		require.Equal(t, c, either)
	})
}

func FuzzNormalizeCPF(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		c, err := document.NormalizeCPF(s)
		kind, either, eitherErr := document.Normalize(s)
		if err != nil {
			require.ErrorIs(t, err, document.ErrInvalid)
			require.Empty(t, c)
			require.False(t, eitherErr == nil && kind == document.KindCPF,
				"Normalize accepted as a CPF what NormalizeCPF rejected")
			return
		}

		require.Len(t, c, 11)
		for i := 0; i < len(c); i++ {
			require.True(t, '0' <= c[i] && c[i] <= '9', "character %d of canonical form is %q", i, c[i])
		}

		again, err := document.NormalizeCPF(c)
		require.NoError(t, err)
		require.Equal(t, c, again, "canonical form is not a fixed point")

		formatted := document.FormatCPF(c)
		require.Len(t, formatted, 14)
		back, err := document.NormalizeCPF(formatted)
		require.NoError(t, err)
		require.Equal(t, c, back, "Format then Normalize changed the CPF")

		require.NoError(t, eitherErr)
		require.Equal(t, document.KindCPF, kind)
		require.Equal(t, c, either)
	})
}
