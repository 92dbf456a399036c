package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/validate"
)

// validateRequests checks every request of a contract operation against the contract (parameters, body,
// content type) before any handler runs. Failures are a 400 naming each field; an unsupported body type
// is a 415 and an oversized body a 413.
func validateRequests() echo.MiddlewareFunc {
	opts := &openapi3filter.Options{
		MultiError:         true,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, // done by authenticate
		KeepValidatedValue: true,
	}
	streamOpts := *opts
	streamOpts.ExcludeRequestBody = true
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			op := operationOf(c)
			if op == nil {
				return next(c)
			}
			params := make(map[string]string, len(c.ParamNames()))
			for i, name := range c.ParamNames() {
				params[name] = c.ParamValues()[i]
			}
			input := &openapi3filter.RequestValidationInput{
				Request: c.Request(), PathParams: params, Route: op.route, Options: opts,
			}
			if op.stream {
				// The body is read by the handler as it streams; only its media type is checked here, and the
				// validator must not see the body at all (its security step would read it whole).
				if err := checkStreamType(c, op); err != nil {
					return err
				}
				body := c.Request().Body
				input.Options = &streamOpts
				input.Request = c.Request().Clone(c.Request().Context())
				input.Request.Body = http.NoBody
				err := openapi3filter.ValidateRequest(c.Request().Context(), input)
				c.Request().Body = body
				if err != nil {
					return requestProblem(c, err)
				}
				return next(c)
			}
			if err := rejectNUL(c, params); err != nil {
				return err
			}
			if err := openapi3filter.ValidateRequest(c.Request().Context(), input); err != nil {
				return requestProblem(c, err)
			}
			return next(c)
		}
	}
}

// rejectNUL refuses NUL characters in parameters and in the strings of a JSON body: no text atende stores
// may hold one (PostgreSQL's text cannot, and a NUL inside SQL text ends it early), so they are a client's
// mistake to name, not a database error to meet later.
func rejectNUL(c echo.Context, params map[string]string) error {
	ctx := c.Request().Context()
	var errs validate.Errors
	for name, v := range params {
		if strings.ContainsRune(v, 0) {
			errs.Add(name, "must not contain NUL characters")
		}
	}
	for name, vs := range c.Request().URL.Query() {
		for _, v := range vs {
			if strings.ContainsRune(v, 0) {
				errs.Add(name, "must not contain NUL characters")
				break
			}
		}
	}
	if body := c.Request().Body; body != nil && body != http.NoBody {
		b, err := io.ReadAll(body)
		if err != nil {
			return requestProblem(c, err)
		}
		c.Request().Body = io.NopCloser(bytes.NewReader(b))
		if bytes.Contains(b, []byte(`\u0000`)) {
			var doc any
			if json.Unmarshal(b, &doc) == nil {
				findNUL(doc, "", &errs)
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &problemError{problem: fieldProblem(ctx, errs)}
}

// findNUL names every string (or key) holding a NUL character in a decoded JSON document.
func findNUL(v any, path string, errs *validate.Errors) {
	at := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch x := v.(type) {
	case string:
		if strings.ContainsRune(x, 0) {
			field := path
			if field == "" {
				field = "body"
			}
			errs.Add(field, "must not contain NUL characters")
		}
	case []any:
		for i, e := range x {
			findNUL(e, at(strconv.Itoa(i)), errs)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if strings.ContainsRune(k, 0) {
				errs.Add(at(strings.ReplaceAll(k, "\x00", "")), "must not contain NUL characters")
				continue
			}
			findNUL(x[k], at(k), errs)
		}
	}
}

// checkStreamType accepts a streamed body only in a media type the operation declares.
func checkStreamType(c echo.Context, op *operation) error {
	body := op.route.Operation.RequestBody
	if body == nil || body.Value == nil {
		return nil
	}
	if body.Value.Content.Get(c.Request().Header.Get(echo.HeaderContentType)) == nil {
		types := make([]string, 0, len(body.Value.Content))
		for t := range body.Value.Content {
			types = append(types, t)
		}
		sort.Strings(types)
		return problemErr(c.Request().Context(), http.StatusUnsupportedMediaType, problemMediaType,
			"Send the request body as "+strings.Join(types, " or ")+".")
	}
	return nil
}

// requestProblem turns kin-openapi's validation errors into one problem.
func requestProblem(c echo.Context, err error) error {
	ctx := c.Request().Context()
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return problemErr(ctx, http.StatusRequestEntityTooLarge, problemTooLarge, "The request body is over the size limit.")
	}
	var fields []fieldMessage
	for _, e := range flatten(err) {
		var re *openapi3filter.RequestError
		if !errors.As(e, &re) {
			fields = append(fields, fieldMessage{"", "is invalid"})
			continue
		}
		if re.RequestBody != nil && strings.HasPrefix(re.Reason, "header Content-Type has unexpected value") {
			return problemErr(ctx, http.StatusUnsupportedMediaType, problemMediaType,
				"Send the request body as application/json.")
		}
		fields = append(fields, requestErrorFields(re)...)
	}
	sort.SliceStable(fields, func(i, j int) bool { return fields[i].field < fields[j].field })
	return &problemError{problem: validationProblem(ctx, toFieldErrors(fields))}
}

type fieldMessage struct{ field, message string }

// flatten expands nested MultiErrors (not through wrapping, which would lose the RequestError around one).
func flatten(err error) []error {
	if me, ok := err.(openapi3.MultiError); ok {
		var out []error
		for _, e := range me {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func requestErrorFields(re *openapi3filter.RequestError) []fieldMessage {
	prefix := ""
	if re.Parameter != nil {
		prefix = re.Parameter.Name
	}
	switch {
	case errors.Is(re.Err, openapi3filter.ErrInvalidRequired):
		if re.Parameter != nil {
			return []fieldMessage{{prefix, "is required"}}
		}
		return []fieldMessage{{"body", "is required"}}
	case errors.Is(re.Err, openapi3filter.ErrInvalidEmptyValue):
		return []fieldMessage{{prefix, "must not be empty"}}
	}
	var out []fieldMessage
	for _, e := range flatten(re.Err) {
		var se *openapi3.SchemaError
		if errors.As(e, &se) {
			out = append(out, schemaErrorField(prefix, se))
			continue
		}
		field := prefix
		if field == "" {
			field = "body"
		}
		msg := "is invalid"
		if re.RequestBody != nil {
			msg = "must be a valid JSON document"
		} else if re.Parameter != nil {
			msg = fmt.Sprintf("must be a valid %s parameter", re.Parameter.In)
		}
		out = append(out, fieldMessage{field, msg})
	}
	return out
}

// schemaErrorField names the field a schema error is about and words the failure without the value.
func schemaErrorField(prefix string, se *openapi3.SchemaError) fieldMessage {
	path := se.JSONPointer()
	if prefix != "" {
		path = append([]string{prefix}, path...)
	}
	msg := se.Reason
	switch se.SchemaField {
	case "properties":
		// The reason is `property "x" is unsupported`: name the property itself.
		if name, ok := quoted(se.Reason); ok && strings.HasSuffix(se.Reason, "is unsupported") {
			path = append(path, name)
			msg = "is not a known field"
		}
	case "required":
		msg = "is required"
	case "minProperties":
		msg = "must set at least one field"
	case "format":
		msg = fmt.Sprintf("must be a valid %s", se.Schema.Format)
		if se.Schema.Format == "timezone" {
			msg = "must be an IANA time zone, such as America/Sao_Paulo"
		}
	case "type":
		msg = fmt.Sprintf("must be of type %s", schemaType(se.Schema))
	case "enum":
		vals := make([]string, len(se.Schema.Enum))
		for i, v := range se.Schema.Enum {
			vals[i] = fmt.Sprint(v)
		}
		msg = "must be one of " + strings.Join(vals, ", ")
	case "pattern":
		msg = "has an invalid format"
		if se.Schema.Description != "" {
			msg += ": " + strings.TrimSuffix(se.Schema.Description, ".")
		}
	}
	field := strings.Join(path, ".")
	if field == "" {
		field = "body"
	}
	return fieldMessage{field, msg}
}

func schemaType(s *openapi3.Schema) string {
	if s.Type == nil || len(*s.Type) == 0 {
		return "any"
	}
	return strings.Join(*s.Type, " or ")
}

func quoted(s string) (string, bool) {
	i := strings.IndexByte(s, '"')
	if i < 0 {
		return "", false
	}
	j := strings.IndexByte(s[i+1:], '"')
	if j < 0 {
		return "", false
	}
	return s[i+1 : i+1+j], true
}

func toFieldErrors(fs []fieldMessage) []gen.FieldError {
	out := make([]gen.FieldError, len(fs))
	for i, f := range fs {
		out[i] = gen.FieldError{Field: f.field, Message: f.message}
	}
	return out
}
