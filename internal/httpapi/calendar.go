package httpapi

import (
	"context"
	"time"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// calendarHandlers serve the tenant's holidays and business-day arithmetic.
type calendarHandlers struct {
	tenants *tenant.Service
	clock   clock.Clock
}

// ListHolidays lists the national and tenant holidays of a year.
func (h calendarHandlers) ListHolidays(ctx context.Context, req gen.ListHolidaysRequestObject) (gen.ListHolidaysResponseObject, error) {
	p := principalFrom(ctx)
	year := h.clock.Now().Year()
	if loc, err := time.LoadLocation(p.Tenant.Timezone); err == nil {
		year = h.clock.Now().In(loc).Year()
	}
	if req.Params.Year != nil {
		year = *req.Params.Year
	}
	out, err := h.tenants.HolidaysOf(ctx, p.Tenant.ID, year)
	if err != nil {
		return nil, err
	}
	return gen.ListHolidays200JSONResponse{Data: mapSlice(out, apiDayOff)}, nil
}

// CreateHoliday adds a tenant holiday.
func (h calendarHandlers) CreateHoliday(ctx context.Context, req gen.CreateHolidayRequestObject) (gen.CreateHolidayResponseObject, error) {
	hol, err := h.tenants.CreateHoliday(ctx, principalFrom(ctx).Tenant.ID, req.Body.Date.Time, req.Body.Name)
	if err != nil {
		return nil, failure(ctx, err, "Holiday")
	}
	d, _ := time.Parse(time.DateOnly, hol.Date)
	return gen.CreateHoliday201JSONResponse(apiDayOff(tenant.DayOff{Date: d, Name: hol.Name, Holiday: &hol})), nil
}

// DeleteHoliday removes a tenant holiday.
func (h calendarHandlers) DeleteHoliday(ctx context.Context, req gen.DeleteHolidayRequestObject) (gen.DeleteHolidayResponseObject, error) {
	if err := h.tenants.DeleteHoliday(ctx, principalFrom(ctx).Tenant.ID, req.Id); err != nil {
		return nil, failure(ctx, err, "Holiday")
	}
	return gen.DeleteHoliday204Response{}, nil
}

// GetNextBusinessDay answers "the next business day at HH:MM" in the tenant's calendar.
func (h calendarHandlers) GetNextBusinessDay(ctx context.Context, req gen.GetNextBusinessDayRequestObject) (gen.GetNextBusinessDayResponseObject, error) {
	p := principalFrom(ctx)
	cal, err := h.tenants.Calendar(ctx, p.Tenant.ID)
	if err != nil {
		return nil, err
	}
	from := h.clock.Now()
	if req.Params.From != nil {
		from = *req.Params.From
	}
	at := p.Tenant.BusinessHours().Opens
	if req.Params.At != nil {
		if at, err = tenant.ParseTimeOfDay(*req.Params.At); err != nil {
			return nil, failure(ctx, validate.Field("at", "must be HH:MM"), "")
		}
	}
	next, ok := cal.NextBusinessDayAt(from, at)
	if !ok {
		return nil, failure(ctx, validate.Field("from", "no business day in the next three years"), "")
	}
	return gen.GetNextBusinessDay200JSONResponse{At: next, Timezone: p.Tenant.Timezone}, nil
}
