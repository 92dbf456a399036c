package sim

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"

	plinxapi "github.com/atende/atende/gen/plinx"
)

// operationByRoute maps echo's route patterns (from the generated RegisterHandlers) to operations.
var operationByRoute = map[string]Operation{
	"/v1/conversations/active":    OpGetActiveConversation,
	"/v1/whatsapp/numbers/:phone": OpGetWhatsAppNumber,
	"/v1/messages/templates":      OpSendTemplate,
}

// contractRouter finds the contract's operation for a request, to validate it.
func contractRouter() routers.Router {
	spec, err := plinxapi.GetSwagger()
	if err != nil {
		panic(fmt.Sprintf("sim: embedded Plinx spec: %v", err))
	}
	spec.Servers = nil // match any host
	r, err := gorillamux.NewRouter(spec)
	if err != nil {
		panic(fmt.Sprintf("sim: Plinx spec router: %v", err))
	}
	return r
}

func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler
	e.Use(s.plinxMiddleware)
	plinxapi.RegisterHandlers(e, plinxapi.NewStrictHandler(plinxAPI{s}, nil))
	s.adminRoutes(e.Group("/_admin"))
	return e
}

// errorHandler renders every error as the contract's {code, message}.
func errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, msg := http.StatusInternalServerError, "internal error"
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		status, msg = he.Code, fmt.Sprint(he.Message)
	case errors.Is(err, ErrInvalid):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, ErrNoConversation), errors.Is(err, ErrUnknownDelivery):
		status, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, ErrNoWebhookTarget):
		status, msg = http.StatusConflict, err.Error()
	}
	_ = c.JSON(status, plinxapi.Error{Code: codeFor(status), Message: msg})
}

func codeFor(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusConflict:
		return "conflict"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	if status >= 500 {
		return "internal_error"
	}
	return "error"
}

// plinxMiddleware runs in front of the Plinx operations: count, inject latency and failures (a failing
// Plinx fails whatever the token), check the token, validate against the contract.
func (s *Server) plinxMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		op, ok := operationByRoute[c.Path()]
		if !ok {
			return next(c)
		}
		f := s.takeFault(op)
		ctx := c.Request().Context()
		if f.Latency > 0 && !s.wait(ctx, f.Latency) {
			return nil // the client gave up or the simulator is closing: nobody reads the answer
		}
		switch f.Mode {
		case FailError500:
			return c.JSON(http.StatusInternalServerError, plinxapi.Error{Code: "internal_error", Message: "simulated failure"})
		case FailError429:
			c.Response().Header().Set("Retry-After", "1")
			return c.JSON(http.StatusTooManyRequests, plinxapi.Error{Code: "rate_limited", Message: "simulated rate limit"})
		case FailTimeout:
			hang := f.HangFor
			if hang <= 0 {
				hang = s.opts.HangFor
			}
			if !s.wait(ctx, hang) {
				return nil
			}
			return c.JSON(http.StatusServiceUnavailable, plinxapi.Error{Code: "unavailable", Message: "simulated timeout"})
		}
		if !s.authorized(c.Request()) {
			return c.JSON(http.StatusUnauthorized, plinxapi.Error{Code: "unauthorized", Message: "missing or wrong bearer token"})
		}
		if err := s.validate(ctx, c.Request()); err != nil {
			return c.JSON(http.StatusBadRequest, plinxapi.Error{Code: "invalid_request", Message: err.Error()})
		}
		return next(c)
	}
}

// takeFault counts a request of op and returns the fault to apply to it, using up one of a FailNext's.
func (s *Server) takeFault(op Operation) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.requests[op]++
	f := s.st.faults[op]
	applied := f
	if f.Times > 0 && f.Mode != FailNone && f.Mode != "" {
		f.Times--
		if f.Times == 0 {
			f.Mode = FailNone
		}
		s.st.faults[op] = f
	}
	return applied
}

// wait waits d; false when the request or the simulator ended first.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.baseCtx.Done():
		return false
	}
}

func (s *Server) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") &&
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(s.opts.Token)) == 1
}

// validate checks the request against api/plinx.yaml. The message names what is wrong, never the value.
func (s *Server) validate(ctx context.Context, r *http.Request) error {
	route, params, err := s.router.FindRoute(r)
	if err != nil {
		return errors.New("no such operation")
	}
	for k, v := range params { // the router keeps them escaped (%2B for '+')
		if u, err := url.PathUnescape(v); err == nil {
			params[k] = u
		}
	}
	err = openapi3filter.ValidateRequest(ctx, &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	})
	if err == nil {
		return nil
	}
	where := "request"
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		switch {
		case re.Parameter != nil:
			where = "parameter " + re.Parameter.Name
		case re.RequestBody != nil:
			where = "request body"
		}
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		if f := se.JSONPointer(); len(f) > 0 {
			where += " field " + strings.Join(f, ".")
		}
		return fmt.Errorf("invalid %s: %s", where, se.Reason)
	}
	if re != nil && re.Parameter == nil { // parameter errors may hold the value: not shown
		switch {
		case re.Reason != "":
			return fmt.Errorf("invalid %s: %s", where, re.Reason) // e.g. the content type
		case re.Err != nil:
			return fmt.Errorf("invalid %s: %v", where, re.Err)
		}
	}
	return fmt.Errorf("invalid %s", where)
}

// plinxAPI implements the generated strict server on the simulator's state.
type plinxAPI struct{ s *Server }

var _ plinxapi.StrictServerInterface = plinxAPI{}

// GetActiveConversation answers from the active conversations.
func (a plinxAPI) GetActiveConversation(_ context.Context, req plinxapi.GetActiveConversationRequestObject) (plinxapi.GetActiveConversationResponseObject, error) {
	c, ok := a.s.Conversation(req.Params.Phone)
	if !ok {
		return plinxapi.GetActiveConversation200JSONResponse{Active: false}, nil
	}
	out := plinxapi.GetActiveConversation200JSONResponse{Active: true, ConversationId: &c.ID,
		StartedAt: &c.StartedAt, LastMessageAt: &c.LastMessageAt}
	if c.Agent != "" {
		out.Agent = &c.Agent
	}
	return out, nil
}

// GetWhatsAppNumber answers from the numbers set and the default.
func (a plinxAPI) GetWhatsAppNumber(_ context.Context, req plinxapi.GetWhatsAppNumberRequestObject) (plinxapi.GetWhatsAppNumberResponseObject, error) {
	n := a.s.Number(req.Phone)
	out := plinxapi.GetWhatsAppNumber200JSONResponse{IsWhatsapp: n.IsWhatsApp}
	if n.IsWhatsApp {
		out.WaId = &n.WaID
	}
	return out, nil
}

// SendTemplate accepts a send to a WhatsApp number of a known template with the right variable count.
func (a plinxAPI) SendTemplate(_ context.Context, req plinxapi.SendTemplateRequestObject) (plinxapi.SendTemplateResponseObject, error) {
	b := req.Body
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.numberLocked(b.To).IsWhatsApp {
		return plinxapi.SendTemplate422JSONResponse{Code: "not_whatsapp", Message: "the number is not a WhatsApp account"}, nil
	}
	t, ok := s.st.templates[templateKey(b.Template, b.Language)]
	if !ok {
		return plinxapi.SendTemplate404JSONResponse{Code: "template_not_found",
			Message: fmt.Sprintf("template %q (%s) does not exist", b.Template, b.Language)}, nil
	}
	if len(b.Variables) != t.Variables {
		return plinxapi.SendTemplate422JSONResponse{Code: "template_rejected",
			Message: fmt.Sprintf("template %q takes %d variables, got %d", t.Name, t.Variables, len(b.Variables))}, nil
	}
	m := SentMessage{ID: newID("wamid.", 12), To: b.To, Template: b.Template, Language: b.Language,
		Variables: append([]string{}, b.Variables...), Status: "queued", SentAt: s.now(), Statuses: []StatusChange{}}
	if b.Reference != nil {
		m.Reference = *b.Reference
	}
	s.st.sent = append(s.st.sent, m)
	if s.st.webhook.URL != "" {
		for _, st := range s.st.webhook.AutoStatus {
			s.enqueueLocked(queuedStatus{messageID: m.ID, status: st, delay: s.st.webhook.AutoStatusDelay})
		}
	}
	return plinxapi.SendTemplate202JSONResponse{MessageId: m.ID, Status: plinxapi.TemplateAcceptedStatusQueued}, nil
}
