package httpapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// uploadReadWindow is how long a streamed upload may take to arrive, instead of the server's read timeout.
const uploadReadWindow = 30 * time.Minute

// limitBodies caps request bodies: the API limit for ordinary requests, the upload limit for operations
// that stream their body. A body announced over the limit is refused at once; one that grows past it fails
// when read, as a 413.
func limitBodies(apiLimit, uploadLimit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			limit := apiLimit
			if op := operationOf(c); op != nil && op.stream {
				limit = uploadLimit
				// Long uploads outlive the server's read timeout; give this request its own window.
				_ = http.NewResponseController(c.Response()).SetReadDeadline(time.Now().Add(uploadReadWindow))
			}
			if req.ContentLength > limit {
				return problemErr(req.Context(), http.StatusRequestEntityTooLarge, problemTooLarge,
					"The request body is over the size limit.")
			}
			if req.Body != nil && req.Body != http.NoBody {
				req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
			}
			return next(c)
		}
	}
}
