package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/atende/atende/internal/conversation"
	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/dialer"
	"github.com/atende/atende/internal/outbound"
	"github.com/atende/atende/internal/portfolio"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/ticket"
	"github.com/atende/atende/internal/validate"
)

// conflicts are the domain errors that mean "not in this state": a 409 whose detail is the error itself.
var conflicts = []error{
	tenant.ErrEmailTaken, tenant.ErrLastAdmin, tenant.ErrUserDisabled, tenant.ErrHolidayTaken,
	crm.ErrCNPJTaken, crm.ErrPhoneTaken, crm.ErrHasHistory, crm.ErrSystemResult, crm.ErrResultInUse, crm.ErrCodeTaken,
	conversation.ErrQualified, conversation.ErrNotLinked,
	dialer.ErrCampaignState, dialer.ErrSessionOpen, dialer.ErrSessionState, dialer.ErrPromptAnswered, dialer.ErrPromptExpired,
	dialer.ErrCallState, dialer.ErrDNCTaken, dialer.ErrCampaignNotEmpty,
	portfolio.ErrNameTaken, portfolio.ErrTeamNameTaken, routing.ErrTaken, routing.ErrClosed,
	ticket.ErrTemplateTaken, ticket.ErrTaskInUse, ticket.ErrClosed, ticket.ErrNotClosed, ticket.ErrLastTask,
	outbound.ErrDisabled,
}

// failure renders the outcomes the contract declares for domain errors — invalid fields (400), another
// role's business (403), unknown or another tenant's object (404), conflicts (409), stale versions (412),
// oversized bodies (413) — as problems. what names the object for 404s. Other errors pass through to the
// central handler as 500s.
func failure(ctx context.Context, err error, what string) error {
	if errs, ok := validate.As(err); ok {
		return &problemError{problem: fieldProblem(ctx, errs)}
	}
	var tooLarge *http.MaxBytesError
	var phoneTaken crm.PhoneTakenError
	switch {
	case errors.As(err, &phoneTaken):
		return problemErr(ctx, http.StatusConflict, problemConflict, fmt.Sprintf(
			"The tenant already has this phone number: phone %s. Link records to it with POST /v1/phones/%s/links.",
			phoneTaken.ID, phoneTaken.ID))
	case errors.Is(err, store.ErrBadCursor):
		return &problemError{problem: fieldProblem(ctx, validate.Errors{{Field: "cursor", Message: err.Error()}})}
	case errors.Is(err, crm.ErrNotFound), errors.Is(err, tenant.ErrNotFound), errors.Is(err, conversation.ErrNotFound),
		errors.Is(err, dialer.ErrNotFound), errors.Is(err, ticket.ErrNotFound),
		errors.Is(err, portfolio.ErrNotFound), errors.Is(err, outbound.ErrNotFound):
		return problemErr(ctx, http.StatusNotFound, problemNotFound, what+" not found.")
	case errors.Is(err, crm.ErrStale), errors.Is(err, tenant.ErrStale), errors.Is(err, conversation.ErrStale),
		errors.Is(err, dialer.ErrStale), errors.Is(err, ticket.ErrStale),
		errors.Is(err, portfolio.ErrStale), errors.Is(err, outbound.ErrStale):
		return &problemError{problem: gen412(ctx)}
	case errors.Is(err, tenant.ErrForbidden), errors.Is(err, conversation.ErrNotYours), errors.Is(err, portfolio.ErrNotSelf),
		errors.Is(err, routing.ErrNotSelf), errors.Is(err, routing.ErrNotOnList):
		return problemErr(ctx, http.StatusForbidden, problemForbidden, capitalised(err.Error())+".")
	case errors.As(err, &tooLarge):
		return problemErr(ctx, http.StatusRequestEntityTooLarge, problemTooLarge, "The request body is over the size limit.")
	}
	for _, c := range conflicts {
		if errors.Is(err, c) {
			return problemErr(ctx, http.StatusConflict, problemConflict, capitalised(c.Error())+".")
		}
	}
	return err
}
