// Package validate carries field-level validation failures from domain rules to the API, which renders
// them as a 400 problem naming each field.
package validate

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError is one invalid field.
type FieldError struct {
	// Field is the API field name, dotted for nested fields ("admin.email").
	Field string
	// Message says what is wrong, without repeating the submitted value.
	Message string
}

// Errors is a set of invalid fields; it is an error when not empty.
type Errors []FieldError

// Error lists the fields.
func (e Errors) Error() string {
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Add records an invalid field.
func (e *Errors) Add(field, format string, args ...any) {
	*e = append(*e, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns e as an error, or nil when no field is invalid.
func (e Errors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

// Field returns an Errors with a single invalid field.
func Field(field, format string, args ...any) error {
	var e Errors
	e.Add(field, format, args...)
	return e
}

// As extracts the field errors from err, if it carries any.
func As(err error) (Errors, bool) {
	var e Errors
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
