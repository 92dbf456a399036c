package httpapi

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/dialer"
	"github.com/atende/atende/internal/events"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/telephony"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// Campaign defaults when a request leaves them out.
const (
	defaultMaxAttempts    = 3
	defaultPriority       = 50
	defaultRetryNoAnswer  = 3600
	defaultRetryBusy      = 900
	defaultRetryFailed    = 1800
	defaultRetryWhatsApp  = 7200
	sseKeepAliveInterval  = 15 * time.Second
	defaultPromptSeconds  = 30
	millisecondsPerSecond = 1000
)

// dialerHandlers serve the dialer: settings, campaigns and entries, the do-not-call list, sessions, prompts
// and calls.
type dialerHandlers struct {
	dialer *dialer.Service
}

// GetDialerSettings returns the tenant's dialer settings.
func (h dialerHandlers) GetDialerSettings(ctx context.Context, _ gen.GetDialerSettingsRequestObject) (gen.GetDialerSettingsResponseObject, error) {
	st, err := h.dialer.Settings(ctx, principalFrom(ctx).Tenant.ID)
	if err != nil {
		return nil, err
	}
	tag := etag(st.Version)
	return gen.GetDialerSettings200JSONResponse{Body: apiDialerSettings(st), Headers: gen.GetDialerSettings200ResponseHeaders{ETag: &tag}}, nil
}

// UpdateDialerSettings changes the settings sent.
func (h dialerHandlers) UpdateDialerSettings(ctx context.Context, req gen.UpdateDialerSettingsRequestObject) (gen.UpdateDialerSettingsResponseObject, error) {
	v, err := version(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	b := req.Body
	p := dialer.SettingsPatch{DialActiveWhatsApp: b.DialActiveWhatsapp, CheckTimeoutMS: b.CheckTimeoutMs}
	if b.PromptTimeoutSeconds != nil {
		ms := *b.PromptTimeoutSeconds * millisecondsPerSecond
		p.PromptTimeoutMS = &ms
	}
	if b.UnavailableBackoffSeconds != nil {
		ms := *b.UnavailableBackoffSeconds * millisecondsPerSecond
		p.UnavailableBackoffMS = &ms
	}
	if t := b.Telephony; t != nil {
		p.TelephonyAdapter, p.TelephonyURL, p.TelephonySecret = strPtr(t.Adapter), t.Url, t.Secret
	}
	st, err := h.dialer.UpdateSettings(ctx, principalFrom(ctx).Tenant.ID, p, v)
	if err != nil {
		return nil, failure(ctx, err, "Dialer settings")
	}
	tag := etag(st.Version)
	return gen.UpdateDialerSettings200JSONResponse{Body: apiDialerSettings(st), Headers: gen.UpdateDialerSettings200ResponseHeaders{ETag: &tag}}, nil
}

// ListCampaigns pages through campaigns.
func (h dialerHandlers) ListCampaigns(ctx context.Context, req gen.ListCampaignsRequestObject) (gen.ListCampaignsResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.dialer.Campaigns(ctx, principalFrom(ctx).Tenant.ID, strPtr(req.Params.Status), page)
	if err != nil {
		return nil, err
	}
	return gen.ListCampaigns200JSONResponse{Data: mapSlice(out, apiCampaign), NextCursor: nextCursor(next)}, nil
}

// CreateCampaign creates a campaign in draft.
func (h dialerHandlers) CreateCampaign(ctx context.Context, req gen.CreateCampaignRequestObject) (gen.CreateCampaignResponseObject, error) {
	b := req.Body
	in := dialer.NewCampaign{
		Name: b.Name, WindowDays: weekdays(b.Window.Days), WindowStart: b.Window.Start, WindowEnd: b.Window.End,
		MaxAttempts: orDefault(b.MaxAttempts, defaultMaxAttempts), Priority: orDefault(b.Priority, defaultPriority),
		RetryNoAnswerS: defaultRetryNoAnswer, RetryBusyS: defaultRetryBusy, RetryFailedS: defaultRetryFailed, RetryWhatsAppS: defaultRetryWhatsApp,
	}
	if r := b.Retry; r != nil {
		in.RetryNoAnswerS = orDefault(r.NoAnswerSeconds, in.RetryNoAnswerS)
		in.RetryBusyS = orDefault(r.BusySeconds, in.RetryBusyS)
		in.RetryFailedS = orDefault(r.FailedSeconds, in.RetryFailedS)
		in.RetryWhatsAppS = orDefault(r.WhatsappSeconds, in.RetryWhatsAppS)
	}
	c, err := h.dialer.CreateCampaign(ctx, principalFrom(ctx).Tenant.ID, in)
	if err != nil {
		return nil, failure(ctx, err, "Campaign")
	}
	tag, loc := etag(c.Version), "/v1/campaigns/"+c.ID.String()
	return gen.CreateCampaign201JSONResponse{Body: apiCampaign(c), Headers: gen.CreateCampaign201ResponseHeaders{ETag: &tag, Location: &loc}}, nil
}

// GetCampaign returns a campaign.
func (h dialerHandlers) GetCampaign(ctx context.Context, req gen.GetCampaignRequestObject) (gen.GetCampaignResponseObject, error) {
	c, err := h.dialer.Campaign(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Campaign")
	}
	tag := etag(c.Version)
	return gen.GetCampaign200JSONResponse{Body: apiCampaign(c), Headers: gen.GetCampaign200ResponseHeaders{ETag: &tag}}, nil
}

// UpdateCampaign changes a campaign's settings.
func (h dialerHandlers) UpdateCampaign(ctx context.Context, req gen.UpdateCampaignRequestObject) (gen.UpdateCampaignResponseObject, error) {
	v, err := version(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	b := req.Body
	p := dialer.CampaignPatch{Name: b.Name, MaxAttempts: b.MaxAttempts, Priority: b.Priority}
	if w := b.Window; w != nil {
		days := weekdays(w.Days)
		p.WindowDays, p.WindowStart, p.WindowEnd = &days, &w.Start, &w.End
	}
	if r := b.Retry; r != nil {
		p.RetryNoAnswerS, p.RetryBusyS, p.RetryFailedS, p.RetryWhatsAppS = r.NoAnswerSeconds, r.BusySeconds, r.FailedSeconds, r.WhatsappSeconds
	}
	c, err := h.dialer.UpdateCampaign(ctx, principalFrom(ctx).Tenant.ID, req.Id, p, v)
	if err != nil {
		return nil, failure(ctx, err, "Campaign")
	}
	tag := etag(c.Version)
	return gen.UpdateCampaign200JSONResponse{Body: apiCampaign(c), Headers: gen.UpdateCampaign200ResponseHeaders{ETag: &tag}}, nil
}

func (h dialerHandlers) setStatus(ctx context.Context, id uuid.UUID, status string) (gen.Campaign, error) {
	c, err := h.dialer.SetCampaignStatus(ctx, principalFrom(ctx).Tenant.ID, id, status)
	if err != nil {
		return gen.Campaign{}, failure(ctx, err, "Campaign")
	}
	return apiCampaign(c), nil
}

// StartCampaign starts or resumes a campaign.
func (h dialerHandlers) StartCampaign(ctx context.Context, req gen.StartCampaignRequestObject) (gen.StartCampaignResponseObject, error) {
	c, err := h.setStatus(ctx, req.Id, dialer.CampaignRunning)
	return gen.StartCampaign200JSONResponse(c), err
}

// PauseCampaign pauses a campaign.
func (h dialerHandlers) PauseCampaign(ctx context.Context, req gen.PauseCampaignRequestObject) (gen.PauseCampaignResponseObject, error) {
	c, err := h.setStatus(ctx, req.Id, dialer.CampaignPaused)
	return gen.PauseCampaign200JSONResponse(c), err
}

// StopCampaign stops a campaign for good.
func (h dialerHandlers) StopCampaign(ctx context.Context, req gen.StopCampaignRequestObject) (gen.StopCampaignResponseObject, error) {
	c, err := h.setStatus(ctx, req.Id, dialer.CampaignStopped)
	return gen.StopCampaign200JSONResponse(c), err
}

// ListCampaignEntries pages through a campaign's entries.
func (h dialerHandlers) ListCampaignEntries(ctx context.Context, req gen.ListCampaignEntriesRequestObject) (gen.ListCampaignEntriesResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.dialer.Entries(ctx, principalFrom(ctx).Tenant.ID, req.Id, dialer.EntryFilter{Status: strPtr(req.Params.Status)}, page)
	if err != nil {
		return nil, failure(ctx, err, "Campaign")
	}
	return gen.ListCampaignEntries200JSONResponse{Data: mapSlice(out, apiEntry), NextCursor: nextCursor(next)}, nil
}

// AddCampaignEntries queues customers.
func (h dialerHandlers) AddCampaignEntries(ctx context.Context, req gen.AddCampaignEntriesRequestObject) (gen.AddCampaignEntriesResponseObject, error) {
	targets := make([]dialer.Target, len(req.Body.Entries))
	for i, t := range req.Body.Entries {
		targets[i] = dialer.Target{CompanyID: t.CompanyId, ContactID: t.ContactId, LeadID: t.LeadId, PhoneID: t.PhoneId, Number: t.Number, DueAt: t.DueAt}
	}
	out, rejects, err := h.dialer.AddEntries(ctx, principalFrom(ctx).Actor(), req.Id, targets)
	if err != nil {
		return nil, failure(ctx, err, "Campaign")
	}
	errs := make([]gen.FieldError, len(rejects))
	for i, r := range rejects {
		errs[i] = gen.FieldError{Field: r.Field, Message: r.Message}
	}
	return gen.AddCampaignEntries201JSONResponse{Data: mapSlice(out, apiEntry), Errors: errs}, nil
}

// GetCampaignEntry returns an entry with its transitions.
func (h dialerHandlers) GetCampaignEntry(ctx context.Context, req gen.GetCampaignEntryRequestObject) (gen.GetCampaignEntryResponseObject, error) {
	tenantID := principalFrom(ctx).Tenant.ID
	e, err := h.dialer.Entry(ctx, tenantID, req.Id, req.EntryId)
	if err != nil {
		return nil, failure(ctx, err, "Entry")
	}
	evs, err := h.dialer.DialEvents(ctx, tenantID, e.ID)
	if err != nil {
		return nil, err
	}
	a := apiEntry(e)
	out := gen.EntryDetail{Id: a.Id, CampaignId: a.CampaignId, CompanyId: a.CompanyId, ContactId: a.ContactId, LeadId: a.LeadId,
		PhoneId: a.PhoneId, Number: a.Number, Status: a.Status, DueAt: a.DueAt, Attempts: a.Attempts, LastOutcome: a.LastOutcome,
		CloseReason: a.CloseReason, FollowUpId: a.FollowUpId, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
		Transitions: make([]gen.EntryTransition, len(evs))}
	for i, ev := range evs {
		out.Transitions[i] = gen.EntryTransition{Kind: ev.Kind, Reason: nullOf(ev.Reason), Attempt: ev.Attempt, At: ev.CreatedAt}
	}
	return gen.GetCampaignEntry200JSONResponse(out), nil
}

// RemoveCampaignEntry takes a queued entry out of the queue.
func (h dialerHandlers) RemoveCampaignEntry(ctx context.Context, req gen.RemoveCampaignEntryRequestObject) (gen.RemoveCampaignEntryResponseObject, error) {
	if err := h.dialer.RemoveEntry(ctx, principalFrom(ctx).Tenant.ID, req.Id, req.EntryId); err != nil {
		return nil, failure(ctx, err, "Entry")
	}
	return gen.RemoveCampaignEntry204Response{}, nil
}

// ListDNC pages through the do-not-call list.
func (h dialerHandlers) ListDNC(ctx context.Context, req gen.ListDNCRequestObject) (gen.ListDNCResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.dialer.DNCs(ctx, principalFrom(ctx).Actor(), req.Params.Number, page)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	return gen.ListDNC200JSONResponse{Data: mapSlice(out, apiDNC), NextCursor: nextCursor(next)}, nil
}

// AddDNC adds a number to the do-not-call list.
func (h dialerHandlers) AddDNC(ctx context.Context, req gen.AddDNCRequestObject) (gen.AddDNCResponseObject, error) {
	d, err := h.dialer.AddDNC(ctx, principalFrom(ctx).Actor(), req.Body.Number, req.Body.Reason)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	return gen.AddDNC201JSONResponse(apiDNC(d)), nil
}

// RemoveDNC removes a number from the do-not-call list.
func (h dialerHandlers) RemoveDNC(ctx context.Context, req gen.RemoveDNCRequestObject) (gen.RemoveDNCResponseObject, error) {
	if err := h.dialer.RemoveDNC(ctx, principalFrom(ctx).Tenant.ID, req.Id); err != nil {
		return nil, failure(ctx, err, "Number")
	}
	return gen.RemoveDNC204Response{}, nil
}

// ListDialerSessions pages through sessions.
func (h dialerHandlers) ListDialerSessions(ctx context.Context, req gen.ListDialerSessionsRequestObject) (gen.ListDialerSessionsResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.dialer.Sessions(ctx, principalFrom(ctx).Actor(), dialer.SessionFilter{CampaignID: req.Params.CampaignId, Status: strPtr(req.Params.Status)}, page)
	if err != nil {
		return nil, err
	}
	return gen.ListDialerSessions200JSONResponse{Data: mapSlice(out, apiSession), NextCursor: nextCursor(next)}, nil
}

// JoinDialer opens the caller's session on a campaign.
func (h dialerHandlers) JoinDialer(ctx context.Context, req gen.JoinDialerRequestObject) (gen.JoinDialerResponseObject, error) {
	s, err := h.dialer.Join(ctx, principalFrom(ctx).Actor(), req.Body.CampaignId)
	if errors.Is(err, dialer.ErrNotFound) {
		return nil, failure(ctx, validate.Field("campaign_id", "no such campaign"), "")
	}
	if err != nil {
		return nil, failure(ctx, err, "Campaign")
	}
	return gen.JoinDialer201JSONResponse(apiSession(s)), nil
}

// GetDialerSession returns a session with its prompt and call.
func (h dialerHandlers) GetDialerSession(ctx context.Context, req gen.GetDialerSessionRequestObject) (gen.GetDialerSessionResponseObject, error) {
	s, err := h.dialer.Session(ctx, principalFrom(ctx).Actor(), req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Session")
	}
	return gen.GetDialerSession200JSONResponse(apiSession(s)), nil
}

// PauseDialerSession pauses a session.
func (h dialerHandlers) PauseDialerSession(ctx context.Context, req gen.PauseDialerSessionRequestObject) (gen.PauseDialerSessionResponseObject, error) {
	reason := "agent"
	if req.Body != nil && req.Body.Reason != nil && strings.TrimSpace(*req.Body.Reason) != "" {
		reason = strings.TrimSpace(*req.Body.Reason)
	}
	s, err := h.dialer.Pause(ctx, principalFrom(ctx).Actor(), req.Id, reason)
	if err != nil {
		return nil, failure(ctx, err, "Session")
	}
	return gen.PauseDialerSession200JSONResponse(apiSession(s)), nil
}

// ResumeDialerSession makes a paused session ready.
func (h dialerHandlers) ResumeDialerSession(ctx context.Context, req gen.ResumeDialerSessionRequestObject) (gen.ResumeDialerSessionResponseObject, error) {
	s, err := h.dialer.Resume(ctx, principalFrom(ctx).Actor(), req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Session")
	}
	return gen.ResumeDialerSession200JSONResponse(apiSession(s)), nil
}

// LeaveDialerSession closes a session.
func (h dialerHandlers) LeaveDialerSession(ctx context.Context, req gen.LeaveDialerSessionRequestObject) (gen.LeaveDialerSessionResponseObject, error) {
	s, err := h.dialer.Leave(ctx, principalFrom(ctx).Actor(), req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Session")
	}
	return gen.LeaveDialerSession200JSONResponse(apiSession(s)), nil
}

// AnswerDialerPrompt settles a prompt.
func (h dialerHandlers) AnswerDialerPrompt(ctx context.Context, req gen.AnswerDialerPromptRequestObject) (gen.AnswerDialerPromptResponseObject, error) {
	p, err := h.dialer.AnswerPrompt(ctx, principalFrom(ctx).Actor(), req.Id, req.Body.PauseDialer)
	if err != nil {
		return nil, failure(ctx, err, "Prompt")
	}
	return gen.AnswerDialerPrompt200JSONResponse(apiPrompt(p)), nil
}

// GetCall returns a call.
func (h dialerHandlers) GetCall(ctx context.Context, req gen.GetCallRequestObject) (gen.GetCallResponseObject, error) {
	c, err := h.dialer.Call(ctx, principalFrom(ctx).Actor(), req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Call")
	}
	return gen.GetCall200JSONResponse(apiCall(c)), nil
}

// ReportCallEvent applies telephony's report of a call's progress.
func (h dialerHandlers) ReportCallEvent(ctx context.Context, req gen.ReportCallEventRequestObject) (gen.ReportCallEventResponseObject, error) {
	actor := principalFrom(ctx).Actor()
	ev := telephony.Event{TenantID: actor.TenantID, CallID: req.Id, Kind: string(req.Body.Event)}
	if req.Body.At != nil {
		ev.At = req.Body.At.UTC()
	}
	if err := h.dialer.CallEvent(ctx, ev); err != nil {
		return nil, failure(ctx, err, "Call")
	}
	c, err := h.dialer.Call(ctx, tenant.Actor{TenantID: actor.TenantID, Role: tenant.RoleAdmin}, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Call")
	}
	return gen.ReportCallEvent200JSONResponse(apiCall(c)), nil
}

// QualifyCall records an answered call's result.
func (h dialerHandlers) QualifyCall(ctx context.Context, req gen.QualifyCallRequestObject) (gen.QualifyCallResponseObject, error) {
	c, it, err := h.dialer.QualifyCall(ctx, principalFrom(ctx).Actor(), req.Id, dialer.CallQualification{
		ResultID: req.Body.ResultId, Notes: req.Body.Notes, FollowUpAt: req.Body.FollowUpAt,
	})
	if err != nil {
		return nil, failure(ctx, err, "Call")
	}
	return gen.QualifyCall201JSONResponse{Call: apiCall(c), Interaction: apiInteraction(it)}, nil
}

// sessionEvents streams a session's events to its screen (GET /v1/dialer/sessions/{id}/events).
func sessionEvents(d *dialer.Service, hub *events.Hub) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		p := principalFrom(ctx)
		id, err := uuid.Parse(c.Param("id"))
		if err != nil {
			return failure(ctx, validate.Field("id", "must be a valid uuid"), "")
		}
		if _, err := d.Session(ctx, p.Actor(), id); err != nil {
			return failure(ctx, err, "Session")
		}
		after := uuid.Nil
		if last := c.Request().Header.Get("Last-Event-ID"); last != "" {
			if after, err = uuid.Parse(last); err != nil {
				return failure(ctx, validate.Field("Last-Event-ID", "must be an event id"), "")
			}
		}
		stream, err := hub.Subscribe(ctx, p.Tenant.ID, id, after)
		if err != nil {
			return err
		}
		return events.WriteSSE(ctx, c.Response(), stream, sseKeepAliveInterval)
	}
}

func weekdays(in []gen.Weekday) []time.Weekday {
	out := make([]time.Weekday, 0, len(in))
	for _, d := range in {
		if wd, ok := tenant.ParseWeekday(string(d)); ok {
			out = append(out, wd)
		}
	}
	return out
}

func orDefault(v *int, def int) int {
	if v == nil {
		return def
	}
	return *v
}
