package httpapi

import (
	"strings"

	"github.com/oapi-codegen/nullable"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/dialer"
)

func apiDialerSettings(s dialer.Settings) gen.DialerSettings {
	return gen.DialerSettings{
		DialActiveWhatsapp: s.DialActiveWhatsApp, PromptTimeoutSeconds: s.PromptTimeoutMS / millisecondsPerSecond,
		CheckTimeoutMs: s.CheckTimeoutMS, UnavailableBackoffSeconds: s.UnavailableBackoffMS / millisecondsPerSecond,
		Telephony: gen.TelephonySettings{Adapter: gen.TelephonySettingsAdapter(s.TelephonyAdapter), Url: nullOf(s.TelephonyURL),
			SecretSet: s.TelephonySecret != nil},
		UpdatedAt: s.UpdatedAt,
	}
}

func apiCampaign(c dialer.Campaign) gen.Campaign {
	days := []gen.Weekday{}
	for _, d := range c.Days() {
		days = append(days, gen.Weekday(strings.ToLower(d.String())))
	}
	return gen.Campaign{
		Id: c.ID, Name: c.Name, Status: gen.CampaignStatus(c.Status),
		Window:      gen.CallingWindow{Days: days, Start: c.WindowStart, End: c.WindowEnd},
		MaxAttempts: c.MaxAttempts, Priority: c.Priority,
		Retry: gen.RetryRules{NoAnswerSeconds: &c.RetryNoAnswerS, BusySeconds: &c.RetryBusyS, FailedSeconds: &c.RetryFailedS,
			WhatsappSeconds: &c.RetryWhatsAppS},
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

func apiEntry(e dialer.Entry) gen.Entry {
	return gen.Entry{
		Id: e.ID, CampaignId: e.CampaignID, CompanyId: nullOf(e.CompanyID), ContactId: nullOf(e.ContactID), LeadId: nullOf(e.LeadID),
		PhoneId: e.PhoneID, Number: e.E164, Status: gen.EntryStatus(e.Status), DueAt: e.DueAt, Attempts: e.Attempts,
		LastOutcome: nullOf(e.LastOutcome), CloseReason: nullOf(e.CloseReason), FollowUpId: nullOf(e.FollowUpID),
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
	}
}

func apiDNC(d dialer.DNC) gen.DNC {
	return gen.DNC{Id: d.ID, Number: d.E164, Reason: nullOf(d.Reason), CreatedAt: d.CreatedAt}
}

func apiPrompt(p dialer.Prompt) gen.Prompt {
	return gen.Prompt{Id: p.ID, EntryId: p.EntryID, Text: p.Text, Status: gen.PromptStatus(p.Status), ExpiresAt: p.ExpiresAt,
		AnsweredAt: nullOf(p.AnsweredAt), CreatedAt: p.CreatedAt}
}

func apiCall(c dialer.Call) gen.Call {
	out := gen.Call{
		Id: c.ID, EntryId: c.EntryID, CampaignId: c.CampaignID, Attempt: c.Attempt, SessionId: c.SessionID, AgentId: c.AgentID,
		Number: c.E164, Status: gen.CallStatus(c.Status), PlacedAt: nullOf(c.PlacedAt), AnsweredAt: nullOf(c.AnsweredAt),
		EndedAt: nullOf(c.EndedAt), QualifiedAt: nullOf(c.QualifiedAt), InteractionId: nullOf(c.InteractionID),
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Outcome: nullable.NewNullNullable[gen.CallOutcome](),
	}
	if c.Outcome != nil {
		out.Outcome = nullable.NewNullableWithValue(gen.CallOutcome(*c.Outcome))
	}
	return out
}

func apiSession(s dialer.Session) gen.Session {
	out := gen.Session{
		Id: s.ID, CampaignId: s.CampaignID, UserId: s.UserID, Status: gen.SessionStatus(s.Status), PauseReason: nullOf(s.PauseReason),
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
		Prompt: nullable.NewNullNullable[gen.Prompt](), Call: nullable.NewNullNullable[gen.Call](),
	}
	if s.Prompt != nil {
		out.Prompt = nullable.NewNullableWithValue(apiPrompt(*s.Prompt))
	}
	if s.Call != nil {
		out.Call = nullable.NewNullableWithValue(apiCall(*s.Call))
	}
	return out
}
