package httpapi

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/oapi-codegen/nullable"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/outbound"
	"github.com/atende/atende/internal/store"
)

// webhookEndpointHandlers serve outbound webhook endpoints and their delivery logs.
type webhookEndpointHandlers struct {
	outbound *outbound.Service
}

func apiWebhookEndpoint(ep outbound.Endpoint) gen.WebhookEndpoint {
	out := gen.WebhookEndpoint{Id: ep.ID, Url: ep.URL, Description: ep.Description, Enabled: ep.Enabled,
		Events:     mapSlice(ep.Events, func(e string) gen.WebhookEventType { return gen.WebhookEventType(e) }),
		DisabledAt: nullTime(ep.DisabledAt), SecretRotatedAt: nullTime(ep.SecretRotatedAt), LastSuccessAt: nullTime(ep.LastSuccessAt),
		FailingSince: nullTime(ep.FailingSince), PendingDeliveries: ep.Pending, FailedDeliveries: ep.Failed,
		CreatedAt: ep.CreatedAt, UpdatedAt: ep.UpdatedAt, DisabledReason: nullable.NewNullNullable[gen.WebhookEndpointDisabledReason]()}
	if ep.DisabledReason != nil {
		out.DisabledReason = nullable.NewNullableWithValue(gen.WebhookEndpointDisabledReason(*ep.DisabledReason))
	}
	return out
}

func apiWebhookDelivery(d outbound.Delivery) gen.WebhookDelivery {
	return gen.WebhookDelivery{Id: d.ID, EndpointId: d.EndpointID, EventId: d.EventID, EventType: gen.WebhookEventType(d.EventType),
		Status: gen.WebhookDeliveryStatus(d.Status), Attempts: d.Attempts, NextAttemptAt: nullTime(d.NextAttemptAt),
		LastAttemptAt: nullTime(d.LastAttemptAt), LastStatusCode: nullOf(d.LastStatusCode), LastError: nullOf(d.LastError),
		SucceededAt: nullTime(d.SucceededAt), CreatedAt: d.CreatedAt}
}

func eventTypes(in []gen.WebhookEventType) []string {
	return mapSlice(in, func(e gen.WebhookEventType) string { return string(e) })
}

// ListWebhookEndpoints pages through the tenant's endpoints.
func (h webhookEndpointHandlers) ListWebhookEndpoints(ctx context.Context, req gen.ListWebhookEndpointsRequestObject) (gen.ListWebhookEndpointsResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	out, next, err := h.outbound.Endpoints(ctx, principalFrom(ctx).Tenant.ID, page)
	if err != nil {
		return nil, err
	}
	return gen.ListWebhookEndpoints200JSONResponse{Data: mapSlice(out, apiWebhookEndpoint), NextCursor: nextCursor(next)}, nil
}

// CreateWebhookEndpoint subscribes a URL; its secret is in this answer only.
func (h webhookEndpointHandlers) CreateWebhookEndpoint(ctx context.Context, req gen.CreateWebhookEndpointRequestObject) (gen.CreateWebhookEndpointResponseObject, error) {
	b := req.Body
	in := outbound.NewEndpoint{URL: b.Url, Events: eventTypes(b.Events), Enabled: b.Enabled}
	if b.Description != nil {
		in.Description = *b.Description
	}
	ep, err := h.outbound.CreateEndpoint(ctx, principalFrom(ctx).Tenant.ID, in)
	if err != nil {
		return nil, failure(ctx, err, "Webhook endpoint")
	}
	a := apiWebhookEndpoint(ep)
	body := gen.WebhookEndpointWithSecret{Id: a.Id, Url: a.Url, Description: a.Description, Events: a.Events, Enabled: a.Enabled,
		DisabledReason: nullable.NewNullNullable[gen.WebhookEndpointWithSecretDisabledReason](), DisabledAt: a.DisabledAt, SecretRotatedAt: a.SecretRotatedAt, LastSuccessAt: a.LastSuccessAt,
		FailingSince: a.FailingSince, PendingDeliveries: a.PendingDeliveries, FailedDeliveries: a.FailedDeliveries,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Secret: ep.Secret}
	if ep.DisabledReason != nil {
		body.DisabledReason = nullable.NewNullableWithValue(gen.WebhookEndpointWithSecretDisabledReason(*ep.DisabledReason))
	}
	tag, loc := etag(ep.Version), "/v1/webhook-endpoints/"+ep.ID.String()
	return gen.CreateWebhookEndpoint201JSONResponse{Body: body, Headers: gen.CreateWebhookEndpoint201ResponseHeaders{ETag: &tag, Location: &loc}}, nil
}

// GetWebhookEndpoint returns an endpoint, without its secret.
func (h webhookEndpointHandlers) GetWebhookEndpoint(ctx context.Context, req gen.GetWebhookEndpointRequestObject) (gen.GetWebhookEndpointResponseObject, error) {
	ep, err := h.outbound.Endpoint(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Webhook endpoint")
	}
	tag := etag(ep.Version)
	return gen.GetWebhookEndpoint200JSONResponse{Body: apiWebhookEndpoint(ep), Headers: gen.GetWebhookEndpoint200ResponseHeaders{ETag: &tag}}, nil
}

// UpdateWebhookEndpoint changes the fields sent; enabling resumes waiting deliveries.
func (h webhookEndpointHandlers) UpdateWebhookEndpoint(ctx context.Context, req gen.UpdateWebhookEndpointRequestObject) (gen.UpdateWebhookEndpointResponseObject, error) {
	v, err := version(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	b := req.Body
	p := outbound.EndpointPatch{URL: b.Url, Description: b.Description, Enabled: b.Enabled}
	if b.Events != nil {
		ev := eventTypes(*b.Events)
		p.Events = &ev
	}
	ep, err := h.outbound.UpdateEndpoint(ctx, principalFrom(ctx).Tenant.ID, req.Id, p, v)
	if err != nil {
		return nil, failure(ctx, err, "Webhook endpoint")
	}
	tag := etag(ep.Version)
	return gen.UpdateWebhookEndpoint200JSONResponse{Body: apiWebhookEndpoint(ep), Headers: gen.UpdateWebhookEndpoint200ResponseHeaders{ETag: &tag}}, nil
}

// DeleteWebhookEndpoint deletes an endpoint and its delivery log.
func (h webhookEndpointHandlers) DeleteWebhookEndpoint(ctx context.Context, req gen.DeleteWebhookEndpointRequestObject) (gen.DeleteWebhookEndpointResponseObject, error) {
	if err := h.outbound.DeleteEndpoint(ctx, principalFrom(ctx).Tenant.ID, req.Id); err != nil {
		return nil, failure(ctx, err, "Webhook endpoint")
	}
	return gen.DeleteWebhookEndpoint204Response{}, nil
}

// RotateWebhookEndpointSecret issues a new secret; deliveries carry both signatures for a grace period.
func (h webhookEndpointHandlers) RotateWebhookEndpointSecret(ctx context.Context, req gen.RotateWebhookEndpointSecretRequestObject) (gen.RotateWebhookEndpointSecretResponseObject, error) {
	ep, err := h.outbound.RotateSecret(ctx, principalFrom(ctx).Tenant.ID, req.Id)
	if err != nil {
		return nil, failure(ctx, err, "Webhook endpoint")
	}
	return gen.RotateWebhookEndpointSecret200JSONResponse{Secret: ep.Secret, PreviousSecretExpiresAt: *ep.PreviousExpiresAt}, nil
}

// ListWebhookDeliveries pages through an endpoint's delivery log, newest first.
func (h webhookEndpointHandlers) ListWebhookDeliveries(ctx context.Context, req gen.ListWebhookDeliveriesRequestObject) (gen.ListWebhookDeliveriesResponseObject, error) {
	page, err := store.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, failure(ctx, err, "")
	}
	var f outbound.DeliveryFilter
	if req.Params.Status != nil {
		f.Status = string(*req.Params.Status)
	}
	if req.Params.EventType != nil {
		f.EventType = string(*req.Params.EventType)
	}
	out, next, err := h.outbound.Deliveries(ctx, principalFrom(ctx).Tenant.ID, req.Id, f, page)
	if err != nil {
		return nil, failure(ctx, err, "Webhook endpoint")
	}
	return gen.ListWebhookDeliveries200JSONResponse{Data: mapSlice(out, apiWebhookDelivery), NextCursor: nextCursor(next)}, nil
}

// GetWebhookDelivery returns a delivery with its event and attempts.
func (h webhookEndpointHandlers) GetWebhookDelivery(ctx context.Context, req gen.GetWebhookDeliveryRequestObject) (gen.GetWebhookDeliveryResponseObject, error) {
	d, attempts, err := h.outbound.Delivery(ctx, principalFrom(ctx).Tenant.ID, req.Id, req.DeliveryId)
	if err != nil {
		return nil, failure(ctx, err, "Webhook delivery")
	}
	var ev gen.WebhookEvent
	if err := json.Unmarshal(d.Payload, &ev); err != nil {
		return nil, fmt.Errorf("read delivery %s's event: %w", d.ID, err)
	}
	a := apiWebhookDelivery(d)
	return gen.GetWebhookDelivery200JSONResponse{Id: a.Id, EndpointId: a.EndpointId, EventId: a.EventId, EventType: a.EventType,
		Status: a.Status, Attempts: a.Attempts, NextAttemptAt: a.NextAttemptAt, LastAttemptAt: a.LastAttemptAt,
		LastStatusCode: a.LastStatusCode, LastError: a.LastError, SucceededAt: a.SucceededAt, CreatedAt: a.CreatedAt, Event: ev,
		AttemptLog: mapSlice(attempts, func(at outbound.Attempt) gen.WebhookAttempt {
			return gen.WebhookAttempt{AttemptedAt: at.AttemptedAt, StatusCode: nullOf(at.StatusCode), Error: nullOf(at.Error),
				DurationMs: at.DurationMS, ResponseBody: nullOf(at.ResponseBody)}
		})}, nil
}

// RedeliverWebhook queues a delivery again, due now.
func (h webhookEndpointHandlers) RedeliverWebhook(ctx context.Context, req gen.RedeliverWebhookRequestObject) (gen.RedeliverWebhookResponseObject, error) {
	d, err := h.outbound.Redeliver(ctx, principalFrom(ctx).Tenant.ID, req.Id, req.DeliveryId)
	if err != nil {
		return nil, failure(ctx, err, "Webhook delivery")
	}
	return gen.RedeliverWebhook202JSONResponse(apiWebhookDelivery(d)), nil
}
