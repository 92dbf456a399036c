// Package document validates and formats Brazilian tax ids: the CNPJ of a company, including the
// alphanumeric CNPJ issued from July 2026 (IN RFB nº 2.229/2024), and the CPF of a person.
package document

import "errors"

// ErrInvalid is wrapped by every error that reports a malformed or inconsistent document.
//
// The wrapping error's message is phrased to follow a field name ("must have 14 characters") and never
// repeats the input, because tax ids are personal data and end up in logs and API problems.
var ErrInvalid = errors.New("invalid document")

// Kind names the type of a Brazilian tax id.
type Kind string

const (
	// KindCNPJ is the 14-character id of a company (Cadastro Nacional da Pessoa Jurídica).
	KindCNPJ Kind = "cnpj"
	// KindCPF is the 11-digit id of a person (Cadastro de Pessoas Físicas).
	KindCPF Kind = "cpf"
)

const (
	cnpjLen = 14
	cpfLen  = 11
)

// invalidError carries a message meant to follow a field name while still matching ErrInvalid.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }

func invalid(msg string) error { return &invalidError{msg: msg} }

var (
	errCNPJChars       = invalid("may contain only digits, letters, '.', '/', '-' and spaces")
	errCNPJLen         = invalid("must have 14 characters")
	errCNPJCheckLetter = invalid("check digits (the last two characters) must be numeric")
	errCPFChars        = invalid("may contain only digits, '.', '/', '-' and spaces")
	errCPFLen          = invalid("must have 11 digits")
	errEitherLen       = invalid("must have 11 digits (CPF) or 14 characters (CNPJ)")
	errRepeated        = invalid("must not be a single digit repeated")
	errCheckDigits     = invalid("check digits do not match")
)

// NormalizeCNPJ strips formatting ("12.345.678/0001-95", spaces) and validates the check digits, returning the 14 canonical characters (upper-case).
func NormalizeCNPJ(s string) (string, error) {
	var buf [cnpjLen]byte
	n, _, ok := significant(s, buf[:])
	if !ok {
		return "", errCNPJChars
	}
	if n != cnpjLen {
		return "", errCNPJLen
	}
	return checkCNPJ(buf)
}

// FormatCNPJ renders canonical CNPJ as "12.345.678/0001-95".
//
// A string that is not 14 bytes long is returned unchanged, so that a bad stored value shows up as it is
// instead of being mangled or causing a panic.
func FormatCNPJ(c string) string {
	if len(c) != cnpjLen {
		return c
	}
	return c[0:2] + "." + c[2:5] + "." + c[5:8] + "/" + c[8:12] + "-" + c[12:14]
}

// NormalizeCPF strips formatting ("529.982.247-25", spaces) and validates the check digits, returning the 11 canonical digits.
func NormalizeCPF(s string) (string, error) {
	var buf [cpfLen]byte
	n, letters, ok := significant(s, buf[:])
	if !ok || letters {
		return "", errCPFChars
	}
	if n != cpfLen {
		return "", errCPFLen
	}
	return checkCPF(buf)
}

// FormatCPF renders a canonical CPF as "123.456.789-09".
//
// A string that is not 11 bytes long is returned unchanged, for the same reason as in FormatCNPJ.
func FormatCPF(c string) string {
	if len(c) != cpfLen {
		return c
	}
	return c[0:3] + "." + c[3:6] + "." + c[6:9] + "-" + c[9:11]
}

// Normalize tells whether a canonical or formatted document is a CNPJ or a CPF (by length after normalising), for fields that accept either, and returns its canonical form.
func Normalize(s string) (kind Kind, canonical string, err error) {
	var buf [cnpjLen]byte
	n, letters, ok := significant(s, buf[:])
	switch {
	case !ok:
		return "", "", errCNPJChars
	case n == cnpjLen:
		canonical, err = checkCNPJ(buf)
		kind = KindCNPJ
	case n == cpfLen:
		if letters {
			return "", "", errCPFChars
		}
		canonical, err = checkCPF([cpfLen]byte(buf[:cpfLen]))
		kind = KindCPF
	default:
		return "", "", errEitherLen
	}
	if err != nil {
		return "", "", err
	}
	return kind, canonical, nil
}

// significant copies the digits and upper-cased ASCII letters of s into buf, skipping separators. It
// returns how many it found (which may exceed len(buf); the excess is counted, not stored), whether any
// was a letter, and false if s holds any other byte. Only ASCII is accepted on purpose: strings.ToUpper
// would turn 'ı' into 'I' and full-width digits are not digits to the Receita.
func significant(s string, buf []byte) (n int, letters, ok bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' || c == '/' || c == '-' || c == ' ':
			continue
		case '0' <= c && c <= '9':
		case 'A' <= c && c <= 'Z':
			letters = true
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
			letters = true
		default:
			return 0, false, false
		}
		if n < len(buf) {
			buf[n] = c
		}
		n++
	}
	return n, letters, true
}

func checkCNPJ(c [cnpjLen]byte) (string, error) {
	if !isDigit(c[12]) || !isDigit(c[13]) {
		return "", errCNPJCheckLetter
	}
	if repeated(c[:]) {
		return "", errRepeated
	}
	if checkDigit(c[:12], 5) != c[12] || checkDigit(c[:13], 6) != c[13] {
		return "", errCheckDigits
	}
	return string(c[:]), nil
}

func checkCPF(c [cpfLen]byte) (string, error) {
	if repeated(c[:]) {
		return "", errRepeated
	}
	if checkDigit(c[:9], 10) != c[9] || checkDigit(c[:10], 11) != c[10] {
		return "", errCheckDigits
	}
	return string(c[:]), nil
}

// checkDigit computes the modulo-11 check digit of body. Weights run down from first to 2 and, for the
// CNPJ, wrap back to 9; the CPF's weights never get that far. Each character counts as its ASCII code
// minus '0', the rule the Receita chose so that letters (A = 17 … Z = 42) fit the numeric algorithm and
// every numeric CNPJ stays valid.
func checkDigit(body []byte, first int) byte {
	sum, w := 0, first
	for _, c := range body {
		sum += int(c-'0') * w
		w--
		if w < 2 {
			w = 9
		}
	}
	r := sum % 11
	if r < 2 {
		return '0'
	}
	return byte('0' + 11 - r)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func repeated(c []byte) bool {
	for _, x := range c[1:] {
		if x != c[0] {
			return false
		}
	}
	return true
}
