package phone_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/phone"
)

func TestNormalize(t *testing.T) {
	t.Parallel()

	mobile := phone.Number{E164: "+5547991234567", Type: phone.Mobile, Region: "BR"}
	landline := phone.Number{E164: "+554733221100", Type: phone.Landline, Region: "BR"}
	us := phone.Number{E164: "+14155552671", Type: phone.Unknown, Region: "US"}

	tests := []struct {
		name    string
		input   string
		country string
		want    phone.Number
	}{
		{"international with spaces and dash", "+55 47 99123-4567", "55", mobile},
		{"national", "4799123-4567", "55", mobile},
		{"area code in parentheses", "(47) 99123-4567", "55", mobile},
		{"country code without plus, old-form mobile", "554791234567", "55", mobile},
		{"country code without plus", "5547991234567", "55", mobile},
		{"international old-form mobile", "+55 (47) 9123-4567", "55", mobile},
		{"national old-form mobile", "47 9123 4567", "55", mobile},
		{"trunk prefix", "0 47 99123-4567", "55", mobile},
		{"trunk prefix, old-form mobile", "047 9123-4567", "55", mobile},
		{"carrier placeholder", "0xx47 99123-4567", "55", mobile},
		{"carrier placeholder in capitals, old-form mobile", "(0XX47) 9123-4567", "55", mobile},
		{"carrier code", "0 15 47 99123-4567", "55", mobile},
		{"00 international prefix", "005547991234567", "55", mobile},
		{"dots", "+55.47.99123.4567", "55", mobile},
		{"slash and tabs", "\t47/99123-4567 ", "55", mobile},
		{"canonical under another default", "+5547991234567", "1", mobile},
		{"legacy form without default", "+554791234567", "", mobile},
		{"old-form mobile starting with 6", "47 6123 4567", "55", phone.Number{E164: "+5547961234567", Type: phone.Mobile, Region: "BR"}},
		{"São Paulo old-form mobile", "(11) 8765-4321", "55", phone.Number{E164: "+5511987654321", Type: phone.Mobile, Region: "BR"}},
		{"area code 55 is not taken for the country code", "55 9123 4567", "55", phone.Number{E164: "+5555991234567", Type: phone.Mobile, Region: "BR"}},
		{"landline", "+55 47 3322-1100", "55", landline},
		{"national landline", "47 3322-1100", "55", landline},
		{"landline with country code without plus", "554733221100", "55", landline},
		{"landline with carrier placeholder", "0xx47 3322-1100", "55", landline},
		{"São Paulo landline", "(11) 2345-6789", "55", phone.Number{E164: "+551123456789", Type: phone.Landline, Region: "BR"}},
		{"toll-free", "0800 123 4567", "55", phone.Number{E164: "+558001234567", Type: phone.Unknown, Region: "BR"}},
		{"US number under a Brazilian tenant", "+1 415 555 2671", "55", us},
		{"US number typed nationally", "(415) 555-2671", "1", us},
		{"US number without plus", "1 415 555 2671", "1", us},
		{"Brazilian international prefix with carrier code", "0021 1 415 555 2671", "55", us},
		{"Portuguese mobile", "+351 912 345 678", "55", phone.Number{E164: "+351912345678", Type: phone.Mobile, Region: "PT"}},
		{"Portuguese mobile typed nationally", "912 345 678", "351", phone.Number{E164: "+351912345678", Type: phone.Mobile, Region: "PT"}},
		{"British landline", "+44 20 7946 0958", "55", phone.Number{E164: "+442079460958", Type: phone.Landline, Region: "GB"}},
		{"non-geographic number", "+800 1234 5678", "55", phone.Number{E164: "+80012345678", Type: phone.Unknown, Region: ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := phone.Normalize(tt.input, tt.country)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)

			again, err := phone.Normalize(got.E164, "44")
			require.NoError(t, err)
			require.Equal(t, got, again, "normalising the canonical form changes it")
		})
	}
}

func TestNormalizeRejects(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		input   string
		country string
		reason  string
	}{
		{"empty", "", "55", "empty"},
		{"blank", " \t ", "55", "empty"},
		{"no digits", "(--) .", "55", "no digits"},
		{"letters", "abc", "55", "letters"},
		{"letters among digits", "47 9912E-4567", "55", "letters"},
		{"extension in Portuguese", "47 3322-1100 ramal 12", "55", "letters"},
		{"extension in English", "+55 47 3322-1100 ext. 5", "55", "letters"},
		{"digits of another script", "٤٧٩٩١٢٣٤٥٦٧", "55", "digits other than 0-9"},
		{"plus in the middle", "+55 47 +99123-4567", "55", "'+'"},
		{"plus after digits", "55+47991234567", "55", "'+'"},
		{"too short", "123", "55", "too short"},
		{"too long", "+55 47 99123-45678", "55", ""},
		{"too many digits", "47 99123 4567 4799 1234 567", "55", "too many digits"},
		{"over 64 characters", "+55 47 99123-4567" + strings.Repeat(" ", 60), "55", "64 characters"},
		{"valid in its plan but over E.164's 15 digits", "+49 2100 0000 0000 00", "55", "too long"},
		{"area code that does not exist", "+55 20 99123-4567", "55", ""},
		{"national number under a code that does not exist", "(20) 99123-4567", "55", ""},
		{"subscriber number starting with 1", "47 1123 4567", "55", ""},
		{"unknown country code", "+999 1234 5678", "55", "country code"},
		{"no country code and no default", "47 99123-4567", "", "country code"},
		{"Brazilian national number under a US tenant", "47 99123-4567", "1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := phone.Normalize(tt.input, tt.country)
			require.ErrorIs(t, err, phone.ErrInvalid)
			require.Contains(t, err.Error(), tt.reason)
			if digits := strings.Map(keepDigits, tt.input); len(digits) >= 4 {
				require.NotContains(t, err.Error(), digits, "the error repeats the number")
			}
		})
	}
}

func TestNormalizeBadDefaultCountryCode(t *testing.T) {
	t.Parallel()

	for _, country := range []string{"abc", "0", "055", "999", "800", "-55"} {
		_, err := phone.Normalize("47 99123-4567", country)
		require.Error(t, err, country)
		require.NotErrorIs(t, err, phone.ErrInvalid, "a misconfigured tenant is not the caller's bad input")

		for _, input := range []string{"+55 47 99123-4567", "0055 47 99123-4567"} {
			n, err := phone.Normalize(input, country)
			require.NoError(t, err, "the default is not needed when the input has a country code")
			require.Equal(t, "+5547991234567", n.E164)
		}
	}
}

func TestVariants(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"mobile", "+5547991234567", []string{"+5547991234567", "+554791234567"}},
		{"legacy form of a mobile", "+554791234567", []string{"+5547991234567", "+554791234567"}},
		{"landline", "+554733221100", []string{"+554733221100"}},
		{"toll-free", "+558001234567", []string{"+558001234567"}},
		{"US number", "+14155552671", []string{"+14155552671"}},
		{"Portuguese mobile", "+351912345678", []string{"+351912345678"}},
		{"invalid", "+5520991234567", nil},
		{"without country code", "47991234567", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, phone.Variants(tt.input))
		})
	}
}

func TestDigits(t *testing.T) {
	t.Parallel()

	require.Equal(t, "5547991234567", phone.Digits("+5547991234567"))
	require.Equal(t, "14155552671", phone.Digits("+14155552671"))
}

func FuzzNormalize(f *testing.F) {
	f.Add("+55 47 99123-4567", "55")
	f.Add("554791234567", "55")
	f.Add("0xx47 3322-1100", "55")
	f.Add("1 (415) 555-2671", "1")

	f.Fuzz(func(t *testing.T, input, country string) {
		n, err := phone.Normalize(input, country)
		if err != nil {
			if !errors.Is(err, phone.ErrInvalid) {
				require.False(t, isCallingCode(country), "error %q does not wrap ErrInvalid", err)
			}
			return
		}

		digits, ok := strings.CutPrefix(n.E164, "+")
		require.True(t, ok, "%q does not start with +", n.E164)
		require.NotEmpty(t, digits)
		require.LessOrEqual(t, len(digits), 15, "E.164 allows at most 15 digits")
		require.Empty(t, strings.TrimLeft(digits, "0123456789"), "%q has more than digits after +", n.E164)
		require.Contains(t, []phone.Type{phone.Mobile, phone.Landline, phone.Unknown}, n.Type)

		again, err := phone.Normalize(n.E164, country)
		require.NoError(t, err)
		require.Equal(t, n, again, "normalising %q again changes it", n.E164)

		variants := phone.Variants(n.E164)
		require.NotEmpty(t, variants)
		require.Equal(t, n.E164, variants[0])
		for _, v := range variants {
			same, err := phone.Normalize(v, "")
			require.NoError(t, err)
			require.Equal(t, n, same, "variant %q is another line", v)
		}
	})
}

// isCallingCode reports whether s names a country's calling code, so that Normalize may use it as a default.
func isCallingCode(s string) bool {
	code, err := strconv.Atoi(s)
	if err != nil || code <= 0 || strconv.Itoa(code) != s {
		return false
	}
	region := phonenumbers.GetRegionCodeForCountryCode(code)
	return region != "ZZ" && region != "001"
}

func keepDigits(r rune) rune {
	if r >= '0' && r <= '9' {
		return r
	}
	return -1
}

func BenchmarkNormalize(b *testing.B) {
	inputs := []string{"+55 47 99123-4567", "(47) 9123-4567", "554733221100", "0xx47 99123-4567", "+1 415 555 2671"}
	for i := 0; b.Loop(); i++ {
		if _, err := phone.Normalize(inputs[i%len(inputs)], "55"); err != nil {
			b.Fatal(err)
		}
	}
}
