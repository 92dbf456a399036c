package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/validate"
)

// Problem types: stable identifiers clients can switch on.
const (
	problemValidation         = "urn:atende:problem:validation"
	problemUnauthorized       = "urn:atende:problem:unauthorized"
	problemForbidden          = "urn:atende:problem:forbidden"
	problemNotFound           = "urn:atende:problem:not-found"
	problemMethodNotAllowed   = "urn:atende:problem:method-not-allowed"
	problemConflict           = "urn:atende:problem:conflict"
	problemPrecondition       = "urn:atende:problem:precondition-failed"
	problemTooLarge           = "urn:atende:problem:payload-too-large"
	problemMediaType          = "urn:atende:problem:unsupported-media-type"
	problemIdempotencyReused  = "urn:atende:problem:idempotency-key-reused"
	problemIdempotencyBusy    = "urn:atende:problem:idempotency-key-in-flight"
	problemIdempotencyApplied = "urn:atende:problem:idempotency-key-applied"
	problemRateLimited        = "urn:atende:problem:rate-limited"
	problemInternal           = "urn:atende:problem:internal"
	problemUnavailable        = "urn:atende:problem:unavailable"
)

var problemTitles = map[string]string{
	problemValidation:         "Invalid request",
	problemUnauthorized:       "Unauthorized",
	problemForbidden:          "Forbidden",
	problemNotFound:           "Not found",
	problemMethodNotAllowed:   "Method not allowed",
	problemConflict:           "Conflict",
	problemPrecondition:       "Precondition failed",
	problemTooLarge:           "Payload too large",
	problemMediaType:          "Unsupported media type",
	problemIdempotencyReused:  "Idempotency key reused",
	problemIdempotencyBusy:    "Request in flight",
	problemIdempotencyApplied: "Request already applied",
	problemRateLimited:        "Too many requests",
	problemInternal:           "Internal error",
	problemUnavailable:        "Service unavailable",
}

// requestInfo is what problems quote about their request; the contract middleware puts it in the context.
type requestInfo struct {
	id   string
	path string
}

type requestInfoKey struct{}

func withRequestInfo(ctx context.Context, info requestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, info)
}

// newProblem builds a problem document for the request in ctx.
func newProblem(ctx context.Context, status int, kind, detail string) gen.Problem {
	p := gen.Problem{Type: kind, Title: problemTitles[kind], Status: status}
	if detail != "" {
		p.Detail = &detail
	}
	if info, ok := ctx.Value(requestInfoKey{}).(requestInfo); ok {
		if info.id != "" {
			p.RequestId = &info.id
		}
		if info.path != "" {
			p.Instance = &info.path
		}
	}
	return p
}

// validationProblem is a 400 naming each invalid field.
func validationProblem(ctx context.Context, fields []gen.FieldError) gen.Problem {
	detail := "The request has 1 invalid field."
	if len(fields) != 1 {
		detail = fmt.Sprintf("The request has %d invalid fields.", len(fields))
	}
	p := newProblem(ctx, http.StatusBadRequest, problemValidation, detail)
	p.Errors = &fields
	return p
}

// fieldProblem converts domain validation errors into a 400 problem.
func fieldProblem(ctx context.Context, errs validate.Errors) gen.Problem {
	fields := make([]gen.FieldError, len(errs))
	for i, e := range errs {
		fields[i] = gen.FieldError{Field: e.Field, Message: e.Message}
	}
	return validationProblem(ctx, fields)
}

// problemError carries a problem through echo's error path to the central error handler.
type problemError struct {
	problem gen.Problem
	headers map[string]string
}

func (e *problemError) Error() string {
	if e.problem.Detail != nil {
		return e.problem.Title + ": " + *e.problem.Detail
	}
	return e.problem.Title
}

func problemErr(ctx context.Context, status int, kind, detail string) *problemError {
	return &problemError{problem: newProblem(ctx, status, kind, detail)}
}

// writeProblem sends p as application/problem+json.
func writeProblem(c echo.Context, p gen.Problem, headers map[string]string) error {
	for k, v := range headers {
		c.Response().Header().Set(k, v)
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return err
	}
	return c.Blob(p.Status, "application/problem+json", body.Bytes())
}

// statusClientClosed is what the access log records for a request whose client went away (nginx's 499).
const statusClientClosed = 499

// errorHandler is echo's HTTPErrorHandler: every error leaves as a problem document. Unexpected errors are
// logged with the request id and answered with a 500 that reveals nothing of their cause.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			logger.ErrorContext(c.Request().Context(), "error after the response started",
				"request_id", requestID(c), "error", err)
			return
		}
		ctx := c.Request().Context()
		var (
			pe  *problemError
			he  *echo.HTTPError
			out *problemError
		)
		switch {
		case errors.Is(err, context.Canceled) && ctx.Err() != nil:
			// The client went away before the answer: nothing failed here, and nobody reads an answer.
			logger.InfoContext(ctx, "client closed the request", "request_id", requestID(c))
			_ = c.NoContent(statusClientClosed)
			return
		case store.IsUnavailable(err) || errors.Is(err, context.DeadlineExceeded):
			// The database is down, going away, or too busy to answer within the request's time: nothing was
			// applied that a retry with the same Idempotency-Key would apply twice.
			logger.WarnContext(ctx, "database unavailable", "request_id", requestID(c), "error", err)
			out = problemErr(ctx, http.StatusServiceUnavailable, problemUnavailable,
				"The database is unavailable or too busy to answer in time; retry after the delay in Retry-After.")
			out.headers = map[string]string{"Retry-After": "2"}
		case errors.As(err, &pe):
			out = pe
		case errors.As(err, &he):
			out = httpErrorProblem(ctx, c, he)
			if out.problem.Status >= 500 {
				logger.ErrorContext(ctx, "request failed", "request_id", requestID(c), "error", err)
			}
		default:
			logger.ErrorContext(ctx, "request failed", "request_id", requestID(c), "error", err)
			out = problemErr(ctx, http.StatusInternalServerError, problemInternal,
				"An unexpected error occurred; quote the request_id when reporting it.")
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(out.problem.Status)
			return
		}
		if werr := writeProblem(c, out.problem, out.headers); werr != nil {
			logger.ErrorContext(ctx, "write problem", "request_id", requestID(c), "error", werr)
		}
	}
}

// httpErrorProblem maps the errors echo itself raises (routing, body limit, binding) to problems.
func httpErrorProblem(ctx context.Context, c echo.Context, he *echo.HTTPError) *problemError {
	ctx = withRequestInfo(ctx, requestInfo{id: requestID(c), path: c.Request().URL.Path})
	switch he.Code {
	case http.StatusNotFound:
		return problemErr(ctx, he.Code, problemNotFound,
			fmt.Sprintf("There is no %s %s in this API.", c.Request().Method, c.Request().URL.Path))
	case http.StatusMethodNotAllowed:
		return problemErr(ctx, he.Code, problemMethodNotAllowed,
			fmt.Sprintf("%s is not allowed on %s.", c.Request().Method, c.Request().URL.Path))
	case http.StatusRequestEntityTooLarge:
		return problemErr(ctx, he.Code, problemTooLarge, "The request body is over the size limit.")
	case http.StatusUnsupportedMediaType:
		return problemErr(ctx, he.Code, problemMediaType, "Send the request body as application/json.")
	case http.StatusBadRequest:
		return problemErr(ctx, he.Code, problemValidation, "The request could not be read.")
	case http.StatusUnauthorized:
		return problemErr(ctx, he.Code, problemUnauthorized, "Authentication is required.")
	case http.StatusServiceUnavailable:
		return problemErr(ctx, he.Code, problemUnavailable, "The service is unavailable; retry shortly.")
	}
	if he.Code >= 400 && he.Code < 500 {
		return &problemError{problem: gen.Problem{Type: "about:blank", Title: http.StatusText(he.Code), Status: he.Code}}
	}
	return problemErr(ctx, http.StatusInternalServerError, problemInternal,
		"An unexpected error occurred; quote the request_id when reporting it.")
}

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// Typed problem bodies for the responses the contract declares; handlers wrap them in the operation's
// generated response type.

func badRequest(ctx context.Context, errs validate.Errors) gen.BadRequestApplicationProblemPlusJSONResponse {
	return gen.BadRequestApplicationProblemPlusJSONResponse(fieldProblem(ctx, errs))
}

func notFound(ctx context.Context, what string) gen.NotFoundApplicationProblemPlusJSONResponse {
	return gen.NotFoundApplicationProblemPlusJSONResponse(newProblem(ctx, http.StatusNotFound, problemNotFound, what+" not found."))
}

func conflict(ctx context.Context, detail string) gen.ConflictApplicationProblemPlusJSONResponse {
	return gen.ConflictApplicationProblemPlusJSONResponse(newProblem(ctx, http.StatusConflict, problemConflict, detail))
}

func forbidden(ctx context.Context, detail string) gen.ForbiddenApplicationProblemPlusJSONResponse {
	return gen.ForbiddenApplicationProblemPlusJSONResponse(newProblem(ctx, http.StatusForbidden, problemForbidden, detail))
}

func preconditionFailed(ctx context.Context) gen.PreconditionFailedApplicationProblemPlusJSONResponse {
	return gen.PreconditionFailedApplicationProblemPlusJSONResponse(gen412(ctx))
}

func gen412(ctx context.Context) gen.Problem {
	return newProblem(ctx, http.StatusPreconditionFailed, problemPrecondition,
		"The object changed since the ETag sent in If-Match; read it again and retry.")
}

// version reads If-Match, failing with 412 for a value this API never issued.
func version(ctx context.Context, h *string) (*int64, error) {
	v, ok := ifMatch(h)
	if !ok {
		return nil, &problemError{problem: gen412(ctx)}
	}
	return v, nil
}

// capitalised returns s with its first letter upper-cased, for error sentences.
func capitalised(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
