package httpapi

import (
	"context"
	"errors"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// settingsHandlers read and change the tenant's settings.
type settingsHandlers struct {
	tenants *tenant.Service
}

// GetSettings returns the tenant's settings.
func (h settingsHandlers) GetSettings(ctx context.Context, _ gen.GetSettingsRequestObject) (gen.GetSettingsResponseObject, error) {
	t, err := h.tenants.Settings(ctx, principalFrom(ctx).Tenant.ID)
	if err != nil {
		return nil, err
	}
	tag := etag(t.Version)
	return gen.GetSettings200JSONResponse{Body: apiSettings(t), Headers: gen.GetSettings200ResponseHeaders{ETag: &tag}}, nil
}

// UpdateSettings changes the settings and flags sent.
func (h settingsHandlers) UpdateSettings(ctx context.Context, req gen.UpdateSettingsRequestObject) (gen.UpdateSettingsResponseObject, error) {
	version, ok := ifMatch(req.Params.IfMatch)
	if !ok {
		return gen.UpdateSettings412ApplicationProblemPlusJSONResponse{PreconditionFailedApplicationProblemPlusJSONResponse: preconditionFailed(ctx)}, nil
	}
	patch := tenant.SettingsPatch{Timezone: req.Body.Timezone, DefaultCountryCode: req.Body.DefaultCountryCode}
	if b := req.Body.BusinessHours; b != nil {
		hours := tenant.BusinessHours{}
		for _, d := range b.Days {
			wd, _ := tenant.ParseWeekday(string(d))
			hours.Days = append(hours.Days, wd)
		}
		hours.Opens, _ = tenant.ParseTimeOfDay(b.Opens)
		hours.Closes, _ = tenant.ParseTimeOfDay(b.Closes)
		patch.BusinessHours = &hours
	}
	if req.Body.Features != nil {
		patch.PortfolioRouting = req.Body.Features.PortfolioRouting
		patch.PortfolioAutoInclude = req.Body.Features.PortfolioAutoInclude
	}
	patch.TrackingURLTemplate = nullablePatch(req.Body.TrackingUrlTemplate)
	patch.SurveyURLTemplate = nullablePatch(req.Body.SurveyUrlTemplate)
	t, err := h.tenants.UpdateSettings(ctx, principalFrom(ctx).Tenant.ID, patch, version)
	if errs, ok := validate.As(err); ok {
		return gen.UpdateSettings400ApplicationProblemPlusJSONResponse{BadRequestApplicationProblemPlusJSONResponse: badRequest(ctx, errs)}, nil
	}
	if errors.Is(err, tenant.ErrStale) {
		return gen.UpdateSettings412ApplicationProblemPlusJSONResponse{PreconditionFailedApplicationProblemPlusJSONResponse: preconditionFailed(ctx)}, nil
	}
	if err != nil {
		return nil, err
	}
	tag := etag(t.Version)
	return gen.UpdateSettings200JSONResponse{Body: apiSettings(t), Headers: gen.UpdateSettings200ResponseHeaders{ETag: &tag}}, nil
}
