package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/atende/atende/internal/idempotency"
)

const headerIdempotencyKey = "Idempotency-Key"

// replayedHeaders are the response headers stored with an idempotent response and sent on replays.
var replayedHeaders = []string{echo.HeaderContentType, echo.HeaderLocation, "ETag"}

// idempotent makes POSTs with an Idempotency-Key safe to retry: the first response is stored per caller and
// key and replayed; the same key with another request is a 422, and while the first runs, a 409. Server
// errors are not stored, so the client can retry them.
func idempotent(keys *idempotency.Store, logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			op := operationOf(c)
			key := c.Request().Header.Get(headerIdempotencyKey)
			who, authenticated := callerFrom(c.Request().Context())
			if op == nil || !op.idempotent || key == "" || !authenticated {
				return next(c)
			}
			ctx := c.Request().Context()
			scope := "operator"
			if who.principal != nil {
				scope = "key:" + who.principal.Key.ID.String()
			}
			hash, err := requestHash(c)
			if err != nil {
				return err
			}
			decision, rec, err := keys.Begin(ctx, scope, key, hash)
			if err != nil {
				return err
			}
			switch decision {
			case idempotency.Mismatch:
				return problemErr(ctx, http.StatusUnprocessableEntity, problemIdempotencyReused,
					"This Idempotency-Key was already used for a different request.")
			case idempotency.InFlight:
				e := problemErr(ctx, http.StatusConflict, problemIdempotencyBusy,
					"A request with this Idempotency-Key is still being processed; retry shortly.")
				e.headers = map[string]string{"Retry-After": "1"}
				return e
			case idempotency.Applied:
				return problemErr(ctx, http.StatusConflict, problemIdempotencyApplied,
					"A request with this Idempotency-Key was applied, but the server failed before answering it; "+
						"it is not applied again. Read the resource to see its state.")
			case idempotency.Replay:
				for k, v := range rec.ResponseHeaders {
					c.Response().Header().Set(k, v)
				}
				c.Response().Header().Set("Idempotent-Replayed", "true")
				c.Response().WriteHeader(rec.ResponseStatus)
				_, err := c.Response().Write(rec.ResponseBody)
				return err
			}

			rec2 := &recorder{ResponseWriter: c.Response().Writer}
			c.Response().Writer = rec2
			c.SetRequest(c.Request().WithContext(keys.Applying(ctx, scope, key)))
			err = next(c)
			if err != nil {
				c.Error(err) // render now, through the recorder, to store what the client receives
			}
			status := c.Response().Status
			// Storing or releasing must not depend on the client still listening.
			bg := context.WithoutCancel(ctx)
			if status >= 500 || status == statusClientClosed {
				if rerr := keys.Release(bg, scope, key); rerr != nil {
					logger.ErrorContext(ctx, "release idempotency key", "request_id", requestID(c), "error", rerr)
				}
				return nil
			}
			headers := map[string]string{}
			for _, h := range replayedHeaders {
				if v := c.Response().Header().Get(h); v != "" {
					headers[h] = v
				}
			}
			if serr := keys.Complete(bg, scope, key, status, headers, rec2.body.Bytes()); serr != nil {
				logger.ErrorContext(ctx, "store idempotent response", "request_id", requestID(c), "error", serr)
			}
			return nil
		}
	}
}

// requestHash fingerprints the request (method, path, query and body) so a reused key can be told apart.
// The body is restored afterwards, keeping the validated value the request validator left on it.
func requestHash(c echo.Context) ([]byte, error) {
	req := c.Request()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if v, ok := req.Body.(interface{ ValidatedValue() any }); ok {
		req.Body = &validatedBody{Reader: bytes.NewReader(body), value: v.ValidatedValue}
	} else {
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	return idempotency.Fingerprint(req.Method, req.URL.RequestURI(), body), nil
}

type validatedBody struct {
	*bytes.Reader
	value func() any
}

func (b *validatedBody) Close() error        { return nil }
func (b *validatedBody) ValidatedValue() any { return b.value() }

// recorder keeps a copy of the response body as it is written.
type recorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.body.Write(p)
	return r.ResponseWriter.Write(p)
}
