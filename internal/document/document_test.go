package document_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/document"
)

// The alphanumeric CNPJs below other than the Receita's example were generated with a separate
// implementation of the check-digit rule (ASCII code minus 48, modulo 11) and pasted as literals, so a
// change to the package's arithmetic cannot silently agree with itself.
var validCNPJs = []struct {
	in        string
	canonical string
	formatted string
}{
	{"11.222.333/0001-81", "11222333000181", "11.222.333/0001-81"},
	{"11222333000181", "11222333000181", "11.222.333/0001-81"},
	{"45.997.418/0001-53", "45997418000153", "45.997.418/0001-53"},
	{" 45 997 418 0001 53 ", "45997418000153", "45.997.418/0001-53"},
	{"45.997.418/000153", "45997418000153", "45.997.418/0001-53"},
	{"00.000.000/0001-91", "00000000000191", "00.000.000/0001-91"},
	// The Receita Federal's example of the alphanumeric CNPJ.
	{"12.ABC.345/01DE-35", "12ABC34501DE35", "12.ABC.345/01DE-35"},
	{"12.abc.345/01de-35", "12ABC34501DE35", "12.ABC.345/01DE-35"},
	{"12aBc34501dE35", "12ABC34501DE35", "12.ABC.345/01DE-35"},
	{"AB.CDE.FGH/IJKL-80", "ABCDEFGHIJKL80", "AB.CDE.FGH/IJKL-80"},
	{"A1.B2C.3D4/E5F6-68", "A1B2C3D4E5F668", "A1.B2C.3D4/E5F6-68"},
	{"ZZ.123.456/0001-06", "ZZ123456000106", "ZZ.123.456/0001-06"},
	{"7T.9QX.2K8/0001-40", "7T9QX2K8000140", "7T.9QX.2K8/0001-40"},
	{"11.222.333/000A-96", "11222333000A96", "11.222.333/000A-96"},
}

var validCPFs = []struct {
	in        string
	canonical string
	formatted string
}{
	{"529.982.247-25", "52998224725", "529.982.247-25"},
	{"52998224725", "52998224725", "529.982.247-25"},
	{"111.444.777-35", "11144477735", "111.444.777-35"},
	{" 111 444 777 35 ", "11144477735", "111.444.777-35"},
	{"123.456.789-09", "12345678909", "123.456.789-09"},
	{"123456789/09", "12345678909", "123.456.789-09"},
}

const (
	msgCNPJChars   = "may contain only digits, letters, '.', '/', '-' and spaces"
	msgCNPJLen     = "must have 14 characters"
	msgCNPJLetter  = "check digits (the last two characters) must be numeric"
	msgCPFChars    = "may contain only digits, '.', '/', '-' and spaces"
	msgCPFLen      = "must have 11 digits"
	msgEitherLen   = "must have 11 digits (CPF) or 14 characters (CNPJ)"
	msgRepeated    = "must not be a single digit repeated"
	msgCheckDigits = "check digits do not match"
)

var invalidCNPJs = []struct {
	in   string
	want string
}{
	{"", msgCNPJLen},
	{"./- ", msgCNPJLen},
	{"11.222.333/0001-8", msgCNPJLen},
	{"11.222.333/0001-811", msgCNPJLen},
	{"52998224725", msgCNPJLen},
	{"11.222.333/0001-82", msgCheckDigits},
	{"11.222.333/0001-18", msgCheckDigits},
	{"11.222.333/0002-81", msgCheckDigits},
	{"12.ABC.345/01DF-35", msgCheckDigits},
	{"12.ABC.345/01DE-53", msgCheckDigits},
	{"00.000.000/0000-00", msgRepeated},
	{"11111111111111", msgRepeated},
	{"99.999.999/9999-99", msgRepeated},
	{"11.222.333/0001-8A", msgCNPJLetter},
	{"12.ABC.345/01DE-3E", msgCNPJLetter},
	{"12.ABC.345/01DE-AB", msgCNPJLetter},
	{"11_222_333_0001_81", msgCNPJChars},
	{"11.222.333\\0001-81", msgCNPJChars},
	{"11,222,333/0001-81", msgCNPJChars},
	{"11.222.333/0001-81\n", msgCNPJChars},
	{"11.222.333/0001\t81", msgCNPJChars},
	{"11.222.333/0001\u201381", msgCNPJChars},      // en dash
	{"\uff11\uff11.222.333/0001-81", msgCNPJChars}, // full-width digits
	{"12.\u00c0BC.345/01DE-35", msgCNPJChars},      // letter outside A-Z
	{"12.\u0131BC.345/01DE-35", msgCNPJChars},      // dotless i, which strings.ToUpper maps to 'I'
	{"11.222.333/0001-81\x00", msgCNPJChars},
}

var invalidCPFs = []struct {
	in   string
	want string
}{
	{"", msgCPFLen},
	{"529.982.247-2", msgCPFLen},
	{"529.982.247-255", msgCPFLen},
	{"11.222.333/0001-81", msgCPFLen},
	{"529.982.247-26", msgCheckDigits},
	{"529.982.247-52", msgCheckDigits},
	{"529.982.274-25", msgCheckDigits},
	{"111.111.111-11", msgRepeated},
	{"000.000.000-00", msgRepeated},
	{"99999999999", msgRepeated},
	{"529.982.247-2A", msgCPFChars},
	{"ABC.982.247-25", msgCPFChars},
	{"529.982.247-2x", msgCPFChars},
	{"529,982,247-25", msgCPFChars},
	{"529.982.247_25", msgCPFChars},
	{"529.982.247\u201325", msgCPFChars},
}

func TestNormalizeCNPJ(t *testing.T) {
	t.Parallel()

	for _, tc := range validCNPJs {
		t.Run("valid "+tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := document.NormalizeCNPJ(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.canonical, got)
		})
	}
	for _, tc := range invalidCNPJs {
		t.Run("invalid "+tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := document.NormalizeCNPJ(tc.in)
			requireInvalid(t, tc.in, tc.want, err)
			require.Empty(t, got)
		})
	}
}

func TestNormalizeCPF(t *testing.T) {
	t.Parallel()

	for _, tc := range validCPFs {
		t.Run("valid "+tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := document.NormalizeCPF(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.canonical, got)
		})
	}
	for _, tc := range invalidCPFs {
		t.Run("invalid "+tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := document.NormalizeCPF(tc.in)
			requireInvalid(t, tc.in, tc.want, err)
			require.Empty(t, got)
		})
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()

	for _, tc := range validCNPJs {
		kind, got, err := document.Normalize(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, document.KindCNPJ, kind, tc.in)
		require.Equal(t, tc.canonical, got, tc.in)
	}
	for _, tc := range validCPFs {
		kind, got, err := document.Normalize(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, document.KindCPF, kind, tc.in)
		require.Equal(t, tc.canonical, got, tc.in)
	}

	invalid := []struct {
		in   string
		want string
	}{
		{"", msgEitherLen},
		{"1234", msgEitherLen},
		{"529.982.247-2", msgEitherLen},
		{"1122233300018", msgEitherLen},
		{"112223330001811", msgEitherLen},
		{"11.222.333/0001-82", msgCheckDigits},
		{"529.982.247-26", msgCheckDigits},
		{"111.111.111-11", msgRepeated},
		{"00000000000000", msgRepeated},
		// Eleven characters make it a CPF, so letters are not allowed even though a CNPJ may have them.
		{"529.982.247-2A", msgCPFChars},
		{"12.ABC.345/01DE-3E", msgCNPJLetter},
		{"529.982.247+25", msgCNPJChars},
	}
	for _, tc := range invalid {
		kind, got, err := document.Normalize(tc.in)
		requireInvalid(t, tc.in, tc.want, err)
		require.Empty(t, kind, tc.in)
		require.Empty(t, got, tc.in)
	}
}

func TestFormatRoundTrip(t *testing.T) {
	t.Parallel()

	for _, tc := range validCNPJs {
		require.Equal(t, tc.formatted, document.FormatCNPJ(tc.canonical))
		back, err := document.NormalizeCNPJ(document.FormatCNPJ(tc.canonical))
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.canonical, back)
	}
	for _, tc := range validCPFs {
		require.Equal(t, tc.formatted, document.FormatCPF(tc.canonical))
		back, err := document.NormalizeCPF(document.FormatCPF(tc.canonical))
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.canonical, back)
	}
}

func TestFormatLeavesWrongLengthAlone(t *testing.T) {
	t.Parallel()

	// A value that was never normalised must show up as stored, not cut into pieces.
	require.Equal(t, "1122233300018", document.FormatCNPJ("1122233300018"))
	require.Equal(t, "11.222.333/0001-81", document.FormatCNPJ("11.222.333/0001-81"))
	require.Equal(t, "", document.FormatCNPJ(""))
	require.Equal(t, "5299822472", document.FormatCPF("5299822472"))
	require.Equal(t, "529.982.247-25", document.FormatCPF("529.982.247-25"))
	require.Equal(t, "", document.FormatCPF(""))
}

// requireInvalid checks that err is the expected validation failure and does not repeat the document.
func requireInvalid(t *testing.T, in, want string, err error) {
	t.Helper()
	require.ErrorIs(t, err, document.ErrInvalid, "input %q", in)
	require.EqualError(t, err, want, "input %q", in)
	if bare := stripSeparators(in); len(bare) >= 4 {
		require.NotContains(t, strings.ToUpper(err.Error()), strings.ToUpper(bare), "error repeats the input")
	}
}

func stripSeparators(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune("./- ", r) {
			return -1
		}
		return r
	}, s)
}
