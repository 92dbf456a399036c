// Package phone is the one place where phone numbers are normalised: whatever a person or a system typed
// becomes one canonical E.164 string, so that the same line is always stored, compared and sent the same way.
//
// Parsing, numbering plans and validity come from github.com/nyaruka/phonenumbers (a port of Google's
// libphonenumber); this package adds the rules a Brazilian contact center needs on top: the ninth digit of
// mobiles, country codes typed without "+", carrier-selection prefixes, and the legacy WhatsApp ids.
package phone

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Type of a number.
type Type string

const (
	// Mobile is a cellular line (for Brazil: 9 followed by eight digits under an area code).
	Mobile Type = "mobile"
	// Landline is a fixed line (for Brazil: eight digits starting with 2–5 under an area code).
	Landline Type = "landline"
	// Unknown is any other valid number: toll-free, shared-cost, VoIP, or a plan that does not tell mobiles
	// from fixed lines (such as the North American one).
	Unknown Type = "unknown"
)

// Number is a normalised phone number.
type Number struct {
	E164   string // canonical E.164, e.g. "+5547991234567"
	Type   Type
	Region string // ISO region, e.g. "BR"; empty for non-geographic numbers such as +800
}

// ErrInvalid is wrapped by every error Normalize returns for bad input.
var ErrInvalid = errors.New("invalid phone number")

// maxInputLen bounds what is worth parsing: the longest sensible spelling of a number with separators, a
// "00" prefix and a carrier code stays well below it.
const maxInputLen = 64

// maxE164Digits is the most digits E.164 allows, country code included.
const maxE164Digits = 15

// maxDigits is E.164's 15 digits plus room for an international or trunk prefix and a carrier code.
const maxDigits = 19

// brazil is Brazil's calling code, under which the ninth-digit rule applies.
const brazil = 55

// Normalize parses what a user or a system typed into the canonical number. defaultCountryCode is the
// tenant's calling code as digits ("55"), used when the input carries none.
//
// Separators and symbols are dropped; a leading "+" or "00" marks an international number; Brazilian
// trunk and carrier-selection prefixes ("0 47 …", "0 15 47 …", "0xx47 …") are understood. Letters are
// rejected, extensions ("ramal 12", "ext. 12") included: an extension cannot be dialled or messaged, and
// keeping it would make the same line look like two. An empty defaultCountryCode means the input must
// carry its own country code. A defaultCountryCode that is not a country's calling code is a configuration
// error and does not wrap ErrInvalid; it is only reported when the input needs it.
func Normalize(input, defaultCountryCode string) (Number, error) {
	digits, international, err := clean(input)
	if err != nil {
		return Number{}, err
	}

	if international {
		return parse("+"+digits, "ZZ")
	}

	// "00" is the international prefix almost everywhere, but phonenumbers reads Brazil's as "00" plus a
	// carrier code, which would take "0055…" for carrier 55 calling Norway. Try the common reading first
	// and let phonenumbers have the rest ("0021 1 415…": carrier 21 calling the US).
	if rest, ok := strings.CutPrefix(digits, "00"); ok {
		n, err := parse("+"+rest, "ZZ")
		if err == nil {
			return n, nil
		}
		if region, rerr := regionFor(defaultCountryCode); rerr == nil {
			if n, err2 := parse(digits, region); err2 == nil {
				return n, nil
			}
		}
		return Number{}, err
	}

	region, err := regionFor(defaultCountryCode)
	if err != nil {
		return Number{}, err
	}

	// phonenumbers also takes the default calling code typed without "+" off the front when the digits are
	// too long for a national number or only make sense without it: "554791234567" is +55 47 9123-4567
	// (12 digits, more than any Brazilian national number), while "55 9123 4567" stays area code 55.
	return parse(digits, region)
}

// Variants lists the E.164 forms that denote the same line, canonical first: for a Brazilian mobile, the
// 13-digit form with the ninth digit and the legacy 12-digit form without it (WhatsApp ids of old numbers still lack it). For other numbers just the canonical form.
//
// e164 may be either form of a Brazilian mobile; it must carry its country code ("+" or "00"). Variants
// returns nil when e164 is not a valid number.
func Variants(e164 string) []string {
	n, err := Normalize(e164, "")
	if err != nil {
		return nil
	}
	if legacy, ok := withoutNinthDigit(n); ok {
		return []string{n.E164, legacy}
	}
	return []string{n.E164}
}

// Digits returns the E.164 without "+", which is what WhatsApp ids look like.
func Digits(e164 string) string {
	return strings.TrimPrefix(e164, "+")
}

// clean reduces input to its ASCII digits and reports whether it was written in international form
// (a leading "+"). Error messages say what is wrong without repeating the input, which is personal data.
func clean(input string) (digits string, international bool, err error) {
	if utf8.RuneCountInString(input) > maxInputLen {
		return "", false, fmt.Errorf("%w: longer than %d characters", ErrInvalid, maxInputLen)
	}
	if strings.TrimSpace(input) == "" {
		return "", false, fmt.Errorf("%w: empty", ErrInvalid)
	}
	input = dropCarrierPlaceholder(input)

	buf := make([]byte, 0, len(input))
	for _, r := range input {
		switch {
		case r >= '0' && r <= '9':
			buf = append(buf, byte(r))
		case r == '+':
			if international || len(buf) > 0 {
				return "", false, fmt.Errorf("%w: '+' is only allowed once, before the digits", ErrInvalid)
			}
			international = true
		case unicode.IsLetter(r):
			return "", false, fmt.Errorf("%w: contains letters", ErrInvalid)
		case unicode.IsNumber(r):
			// Dropping a digit from another script would silently change the number.
			return "", false, fmt.Errorf("%w: contains digits other than 0-9", ErrInvalid)
		}
		// Anything else (spaces, dots, dashes, parentheses, slashes, other symbols) is a separator.
	}

	switch {
	case len(buf) == 0:
		return "", false, fmt.Errorf("%w: no digits", ErrInvalid)
	case len(buf) > maxDigits:
		return "", false, fmt.Errorf("%w: too many digits", ErrInvalid)
	}
	return string(buf), international, nil
}

// dropCarrierPlaceholder turns the Brazilian "0xx47 …" spelling, where "xx" stands for whichever carrier
// the caller picks, into "0 47 …", so that the trunk prefix is what remains.
func dropCarrierPlaceholder(s string) string {
	t := strings.TrimLeft(s, " (")
	rest, ok := strings.CutPrefix(t, "0")
	if !ok {
		return s
	}
	rest = strings.TrimLeft(rest, " ")
	if len(rest) < 2 || !strings.EqualFold(rest[:2], "xx") {
		return s
	}
	return "0 " + rest[2:]
}

// regionFor maps a calling code such as "55" to the region phonenumbers uses for national numbers.
func regionFor(countryCode string) (string, error) {
	if countryCode == "" {
		return "ZZ", nil
	}
	cc, err := strconv.Atoi(countryCode)
	if err != nil || cc <= 0 || strings.HasPrefix(countryCode, "0") {
		return "", fmt.Errorf("default country code %q is not a calling code", countryCode)
	}
	region := phonenumbers.GetRegionCodeForCountryCode(cc)
	if region == "ZZ" || region == "001" {
		return "", fmt.Errorf("default country code %q is not a country's calling code", countryCode)
	}
	return region, nil
}

// parse reads digits (with a leading "+" when international) for region, restores the Brazilian ninth
// digit, and accepts only valid numbers.
func parse(digits, region string) (Number, error) {
	pn, err := phonenumbers.Parse(digits, region)
	if err != nil {
		return Number{}, parseError(err)
	}
	nsn := phonenumbers.GetNationalSignificantNumber(pn)
	if pn.GetCountryCode() == brazil && isOldFormMobile(nsn) {
		nsn = nsn[:2] + "9" + nsn[2:]
		areaCode, subscriber := pn.GetNationalNumber()/1e8, pn.GetNationalNumber()%1e8
		national := areaCode*1e9 + 9e8 + subscriber
		pn.NationalNumber = &national
	}
	if !phonenumbers.IsValidNumber(pn) {
		return Number{}, invalidReason(pn)
	}

	e164 := phonenumbers.Format(pn, phonenumbers.E164)
	if len(e164) > len("+")+maxE164Digits {
		// Some plans (Germany's) have national numbers that, with the country code, exceed what E.164, and
		// so every network and WhatsApp, can carry.
		return Number{}, fmt.Errorf("%w: too long", ErrInvalid)
	}

	region = phonenumbers.GetRegionCodeForNumber(pn)
	if region == "ZZ" || region == "001" {
		region = ""
	}
	return Number{
		E164:   e164,
		Type:   typeOf(pn, nsn),
		Region: region,
	}, nil
}

// isOldFormMobile reports whether a Brazilian national significant number is an area code followed by
// eight digits starting with 6–9: a mobile from before the ninth digit (2012–2016), still typed and
// still found in contact lists.
func isOldFormMobile(nsn string) bool {
	return len(nsn) == 10 && nsn[2] >= '6' && nsn[2] <= '9'
}

// typeOf tells mobiles from landlines. For Brazil the shape of the number decides, because it is exact
// (after the ninth digit, a 9 means mobile and 2–5 a fixed line); elsewhere phonenumbers' metadata does.
func typeOf(pn *phonenumbers.PhoneNumber, nsn string) Type {
	if pn.GetCountryCode() == brazil {
		switch {
		case len(nsn) == 11 && nsn[2] == '9':
			return Mobile
		case len(nsn) == 10 && nsn[2] >= '2' && nsn[2] <= '5':
			return Landline
		}
	}
	switch phonenumbers.GetNumberType(pn) {
	case phonenumbers.MOBILE:
		return Mobile
	case phonenumbers.FIXED_LINE:
		return Landline
	default:
		return Unknown
	}
}

// withoutNinthDigit gives the legacy 12-digit form of a Brazilian mobile, when it has one: only mobiles
// whose eight-digit remainder starts with 6–9 existed before the ninth digit; dropping the 9 from any
// other would spell a landline, a different line.
func withoutNinthDigit(n Number) (string, bool) {
	if n.Type != Mobile || !strings.HasPrefix(n.E164, "+55") {
		return "", false
	}
	nsn := n.E164[len("+55"):]
	if len(nsn) != 11 || nsn[2] != '9' || nsn[3] < '6' {
		return "", false
	}
	return "+55" + nsn[:2] + nsn[3:], true
}

// parseError turns phonenumbers' parse errors into reasons a user can act on.
func parseError(err error) error {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return fmt.Errorf("%w: unknown or missing country code", ErrInvalid)
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return fmt.Errorf("%w: too short", ErrInvalid)
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return fmt.Errorf("%w: too long", ErrInvalid)
	default:
		return fmt.Errorf("%w: not a phone number", ErrInvalid)
	}
}

// invalidReason explains why a parsed number is not valid.
func invalidReason(pn *phonenumbers.PhoneNumber) error {
	switch phonenumbers.IsPossibleNumberWithReason(pn) {
	case phonenumbers.INVALID_COUNTRY_CODE:
		return fmt.Errorf("%w: unknown country code", ErrInvalid)
	case phonenumbers.TOO_SHORT:
		return fmt.Errorf("%w: too short", ErrInvalid)
	case phonenumbers.TOO_LONG:
		return fmt.Errorf("%w: too long", ErrInvalid)
	case phonenumbers.INVALID_LENGTH:
		return fmt.Errorf("%w: wrong number of digits", ErrInvalid)
	default:
		return fmt.Errorf("%w: no such area code or number range", ErrInvalid)
	}
}
