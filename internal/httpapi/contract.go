package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

	apispec "github.com/atende/atende/api"
	"github.com/atende/atende/internal/tenant"
)

// Security schemes of the contract.
const (
	schemeAPIKey   = "apiKey"
	schemeOperator = "operatorKey"
)

// StreamBodyExtension marks operations whose request body is streamed to the handler, not validated whole.
const StreamBodyExtension = "x-atende-stream-body"

// SignedWebhookExtension marks public operations that authenticate by a webhook signature.
const SignedWebhookExtension = "x-atende-signed-webhook"

// RolesExtension lists, on each operation authenticated by an API key, the roles allowed to call it.
const RolesExtension = "x-atende-roles"

func init() {
	// Formats the contract uses that kin-openapi does not check by default.
	openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
	openapi3.DefineStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail))
	openapi3.DefineStringFormatValidator("timezone", openapi3.NewCallbackValidator(func(s string) error {
		if _, err := time.LoadLocation(s); err != nil || s == "Local" {
			return errors.New("not an IANA time zone")
		}
		return nil
	}))
}

// operation is one operation of the contract, with what the middleware needs to enforce it.
type operation struct {
	id    string
	route *routers.Route
	// scheme is the security scheme required, or "" for public operations.
	scheme string
	roles  []tenant.Role
	// idempotent is set on operations that accept an Idempotency-Key header.
	idempotent bool
	// signed is set on webhook operations authenticated by a Standard Webhooks signature instead of a key.
	signed bool
	// stream is set on operations whose body is streamed to the handler (large uploads): the validator
	// leaves the body alone and the larger upload limit applies.
	stream bool
	// events is set on operations that answer with a stream of Server-Sent Events, open for as long as the
	// client listens.
	events bool
}

func (op *operation) allows(r tenant.Role) bool { return slices.Contains(op.roles, r) }

// contract indexes the OpenAPI document by echo route (method and path pattern).
type contract struct {
	doc *openapi3.T
	ops map[string]*operation
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// echoPath converts an OpenAPI path template to echo's pattern, as the generated router registers it.
func echoPath(p string) string { return pathParam.ReplaceAllString(p, ":$1") }

func routeKey(method, echoPattern string) string { return method + " " + echoPattern }

// loadContract loads the embedded document and checks the rules atende relies on: every operation
// declares its security, and every API-key operation lists its roles.
func loadContract() (*contract, error) {
	// The whole document, not the generated server's copy: that one leaves out the operations served by
	// hand (the event stream among them), and those are authenticated like the rest.
	doc, err := openapi3.NewLoader().LoadFromData(apispec.YAML)
	if err != nil {
		return nil, fmt.Errorf("load embedded OpenAPI document: %w", err)
	}
	doc.Servers = nil
	c := &contract{doc: doc, ops: map[string]*operation{}}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			o := &operation{
				id:    op.OperationID,
				route: &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op},
			}
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			switch {
			case len(security) == 0:
			case len(security) == 1 && len(security[0]) == 1:
				for name := range security[0] {
					o.scheme = name
				}
			default:
				return nil, fmt.Errorf("operation %s: exactly one security scheme (or none) is supported", op.OperationID)
			}
			if o.scheme == schemeAPIKey {
				if o.roles, err = operationRoles(op); err != nil {
					return nil, err
				}
			}
			o.stream, _ = op.Extensions[StreamBodyExtension].(bool)
			o.signed, _ = op.Extensions[SignedWebhookExtension].(bool)
			if ok := op.Responses.Status(http.StatusOK); ok != nil && ok.Value != nil && ok.Value.Content.Get("text/event-stream") != nil {
				o.events = true
			}
			for _, p := range op.Parameters {
				if p.Value != nil && p.Value.In == openapi3.ParameterInHeader && http.CanonicalHeaderKey(p.Value.Name) == headerIdempotencyKey {
					o.idempotent = true
				}
			}
			c.ops[routeKey(method, echoPath(path))] = o
		}
	}
	return c, nil
}

func operationRoles(op *openapi3.Operation) ([]tenant.Role, error) {
	raw, ok := op.Extensions[RolesExtension].([]any)
	if !ok || len(raw) == 0 {
		return nil, fmt.Errorf("operation %s: %s must list the roles allowed", op.OperationID, RolesExtension)
	}
	roles := make([]tenant.Role, 0, len(raw))
	for _, r := range raw {
		s, _ := r.(string)
		if !tenant.Role(s).Valid() {
			return nil, fmt.Errorf("operation %s: unknown role %v in %s", op.OperationID, r, RolesExtension)
		}
		roles = append(roles, tenant.Role(s))
	}
	return roles, nil
}

func (c *contract) lookup(method, echoPattern string) *operation {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	return c.ops[routeKey(method, echoPattern)]
}

func rolesText(roles []tenant.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}
