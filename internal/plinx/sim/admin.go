package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// maxAdminBody bounds admin request bodies.
const maxAdminBody = 1 << 20

func (s *Server) adminRoutes(g *echo.Group) {
	g.GET("/state", s.adminState)
	g.POST("/reset", func(c echo.Context) error { s.Reset(); return c.NoContent(http.StatusNoContent) })
	g.GET("/config", func(c echo.Context) error { return c.JSON(http.StatusOK, toConfigJSON(s.Webhook())) })
	g.POST("/config", s.adminConfig)
	g.GET("/conversations", func(c echo.Context) error { return c.JSON(http.StatusOK, s.Conversations()) })
	g.POST("/conversations", s.adminConversation)
	g.POST("/numbers", s.adminNumber)
	g.POST("/numbers/default", s.adminDefaultNumber)
	g.POST("/templates", s.adminTemplate)
	g.POST("/faults", s.adminFault)
	g.GET("/messages", func(c echo.Context) error { return c.JSON(http.StatusOK, s.SentMessages()) })
	g.POST("/messages/:id/status", s.adminMessageStatus)
	g.POST("/webhooks", s.adminFire)
	g.GET("/webhooks", func(c echo.Context) error { return c.JSON(http.StatusOK, s.Deliveries()) })
	g.POST("/webhooks/:id/redeliver", s.adminRedeliver)
}

// bind decodes a JSON body strictly: unknown fields are mistakes worth reporting.
func bind(c echo.Context, v any) error {
	dec := json.NewDecoder(io.LimitReader(c.Request().Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %v", ErrInvalid, err)
	}
	return nil
}

type configJSON struct {
	WebhookURL        *string  `json:"webhook_url"`
	WebhookSecret     *string  `json:"webhook_secret"`
	AutoStatus        []string `json:"auto_status"`
	AutoStatusDelayMS *int64   `json:"auto_status_delay_ms"`
}

func toConfigJSON(w WebhookConfig) configJSON {
	ms := w.AutoStatusDelay.Milliseconds()
	if w.AutoStatus == nil {
		w.AutoStatus = []string{}
	}
	return configJSON{WebhookURL: &w.URL, WebhookSecret: &w.Secret, AutoStatus: w.AutoStatus, AutoStatusDelayMS: &ms}
}

func (s *Server) adminConfig(c echo.Context) error {
	var in configJSON
	if err := bind(c, &in); err != nil {
		return err
	}
	cfg := s.Webhook()
	if in.WebhookURL != nil {
		if *in.WebhookURL != cfg.URL && in.WebhookSecret == nil {
			cfg.Secret = "" // a new target without a secret gets a new one
		}
		cfg.URL = *in.WebhookURL
	}
	if in.WebhookSecret != nil {
		cfg.Secret = *in.WebhookSecret
	}
	if in.AutoStatus != nil {
		cfg.AutoStatus = in.AutoStatus
	}
	if in.AutoStatusDelayMS != nil {
		cfg.AutoStatusDelay = millis(*in.AutoStatusDelayMS)
	}
	cfg, err := s.SetWebhook(cfg)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toConfigJSON(cfg))
}

type faultJSON struct {
	Mode      FailureMode `json:"mode"`
	Times     int         `json:"times"`
	LatencyMS int64       `json:"latency_ms"`
	HangMS    int64       `json:"hang_ms"`
}

func (s *Server) adminState(c echo.Context) error {
	faults := map[Operation]faultJSON{}
	requests := map[Operation]int{}
	for _, op := range Operations {
		f := s.Fault(op)
		faults[op] = faultJSON{Mode: f.Mode, Times: f.Times, LatencyMS: f.Latency.Milliseconds(), HangMS: f.HangFor.Milliseconds()}
		requests[op] = s.Requests(op)
	}
	s.mu.Lock()
	defaultWhatsApp := s.st.defaultWhatsApp
	numbers := make(map[string]Number, len(s.st.numbers))
	for k, v := range s.st.numbers {
		numbers[k] = v
	}
	s.mu.Unlock()
	return c.JSON(http.StatusOK, map[string]any{
		"conversations":       s.Conversations(),
		"default_is_whatsapp": defaultWhatsApp,
		"numbers":             numbers,
		"templates":           s.Templates(),
		"faults":              faults,
		"requests":            requests,
		"messages":            s.SentMessages(),
		"config":              toConfigJSON(s.Webhook()),
		"webhooks":            s.Deliveries(),
	})
}

func (s *Server) adminConversation(c echo.Context) error {
	var in struct {
		Phone          string     `json:"phone"`
		Active         *bool      `json:"active"`
		ConversationID string     `json:"conversation_id"`
		Agent          string     `json:"agent"`
		StartedAt      *time.Time `json:"started_at"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	if !validPhone(in.Phone) || in.Active == nil {
		return fmt.Errorf("%w: phone (E.164) and active are required", ErrInvalid)
	}
	if !*in.Active {
		s.SetActive(in.Phone, false)
		return c.JSON(http.StatusOK, map[string]any{"phone": in.Phone, "active": false})
	}
	var opts []ConversationOption
	if in.ConversationID != "" {
		opts = append(opts, WithConversationID(in.ConversationID))
	}
	if in.Agent != "" {
		opts = append(opts, WithAgent(in.Agent))
	}
	if in.StartedAt != nil {
		opts = append(opts, WithStartedAt(*in.StartedAt))
	}
	return c.JSON(http.StatusOK, s.SetActive(in.Phone, true, opts...))
}

func (s *Server) adminNumber(c echo.Context) error {
	var in struct {
		Phone      string `json:"phone"`
		IsWhatsApp *bool  `json:"is_whatsapp"`
		WaID       string `json:"wa_id"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	if !validPhone(in.Phone) || in.IsWhatsApp == nil {
		return fmt.Errorf("%w: phone (E.164) and is_whatsapp are required", ErrInvalid)
	}
	switch {
	case *in.IsWhatsApp && in.WaID != "":
		s.SetWhatsAppID(in.Phone, in.WaID)
	default:
		s.SetWhatsApp(in.Phone, *in.IsWhatsApp)
	}
	return c.JSON(http.StatusOK, s.Number(in.Phone))
}

func (s *Server) adminDefaultNumber(c echo.Context) error {
	var in struct {
		IsWhatsApp *bool `json:"is_whatsapp"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	if in.IsWhatsApp == nil {
		return fmt.Errorf("%w: is_whatsapp is required", ErrInvalid)
	}
	s.SetDefaultWhatsApp(*in.IsWhatsApp)
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) adminTemplate(c echo.Context) error {
	var t Template
	if err := bind(c, &t); err != nil {
		return err
	}
	if t.Name == "" || t.Language == "" || t.Variables < 0 {
		return fmt.Errorf("%w: name, language and a variable count are required", ErrInvalid)
	}
	s.AddTemplate(t)
	return c.JSON(http.StatusOK, t)
}

func (s *Server) adminFault(c echo.Context) error {
	var in struct {
		Operation Operation    `json:"operation"`
		Mode      *FailureMode `json:"mode"`
		Times     *int         `json:"times"`
		LatencyMS *int64       `json:"latency_ms"`
		HangMS    *int64       `json:"hang_ms"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	ops := []Operation{in.Operation}
	if in.Operation == "*" {
		ops = Operations
	} else if _, ok := operationNames[in.Operation]; !ok {
		return fmt.Errorf("%w: operation must be getActiveConversation, getWhatsAppNumber, sendTemplate or *", ErrInvalid)
	}
	if in.Mode != nil && !in.Mode.valid() {
		return fmt.Errorf("%w: mode must be none, error500, error429 or timeout", ErrInvalid)
	}
	out := map[Operation]faultJSON{}
	for _, op := range ops {
		f := s.Fault(op)
		if in.Mode != nil {
			f.Mode, f.Times = *in.Mode, 0
		}
		if in.Times != nil {
			f.Times = *in.Times
		}
		if in.LatencyMS != nil {
			f.Latency = millis(*in.LatencyMS)
		}
		if in.HangMS != nil {
			f.HangFor = millis(*in.HangMS)
		}
		s.SetFault(op, f)
		out[op] = faultJSON{Mode: f.Mode, Times: f.Times, LatencyMS: f.Latency.Milliseconds(), HangMS: f.HangFor.Milliseconds()}
	}
	return c.JSON(http.StatusOK, out)
}

var operationNames = map[Operation]bool{OpGetActiveConversation: true, OpGetWhatsAppNumber: true, OpSendTemplate: true}

type fired struct {
	WebhookID  string `json:"webhook_id"`
	Type       string `json:"type"`
	StatusCode int    `json:"status_code"`
}

// firedOrFailed answers a delivery: 200 with the target's status code, 502 when it did not answer.
func firedOrFailed(c echo.Context, d Delivery, err error) error {
	if err != nil && d.WebhookID == "" {
		return err // not attempted: invalid, no target, ...
	}
	if err != nil {
		return c.JSON(http.StatusBadGateway, map[string]any{"code": "webhook_failed", "message": d.Error, "webhook_id": d.WebhookID})
	}
	return c.JSON(http.StatusOK, fired{WebhookID: d.WebhookID, Type: d.Type, StatusCode: d.StatusCode})
}

func (s *Server) adminMessageStatus(c echo.Context) error {
	var in struct {
		Status       string `json:"status"`
		ErrorCode    string `json:"error_code"`
		ErrorMessage string `json:"error_message"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	d, err := s.pushStatus(c.Request().Context(), c.Param("id"), in.Status, in.ErrorCode, in.ErrorMessage)
	return firedOrFailed(c, d, err)
}

func (s *Server) adminFire(c echo.Context) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxAdminBody))
	if err != nil {
		return fmt.Errorf("%w: body: %v", ErrInvalid, err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(body, &keys); err != nil {
		return fmt.Errorf("%w: body must be a JSON object: %v", ErrInvalid, err)
	}
	_, hasTime := keys["occurred_at"]
	_, hasConv := keys["conversation"]
	_, hasMsg := keys["message"]
	if hasTime || hasConv || hasMsg {
		if s.Webhook().URL == "" {
			return ErrNoWebhookTarget
		}
		d, err := s.FireWebhookBody(c.Request().Context(), body)
		return firedOrFailed(c, d, err)
	}
	var sc Shortcut
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		return fmt.Errorf("%w: shortcut: %v", ErrInvalid, err)
	}
	d, err := s.Fire(c.Request().Context(), sc)
	return firedOrFailed(c, d, err)
}

func (s *Server) adminRedeliver(c echo.Context) error {
	status, err := s.Redeliver(c.Request().Context(), c.Param("id"))
	if err != nil {
		if errors.Is(err, ErrUnknownDelivery) || errors.Is(err, ErrNoWebhookTarget) {
			return err
		}
		return c.JSON(http.StatusBadGateway, map[string]any{"code": "webhook_failed", "message": err.Error(), "webhook_id": c.Param("id")})
	}
	return c.JSON(http.StatusOK, fired{WebhookID: c.Param("id"), StatusCode: status})
}
