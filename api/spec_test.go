package apispec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// keylessProbes are the system operations that take no input, so they have no client error to document.
var keylessProbes = []string{"getHealth", "getReadiness", "getMetrics", "getOpenAPISpec", "getDocs"}

func init() {
	// Formats the contract uses that kin-openapi does not check by default; the server checks the same ones.
	openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
	openapi3.DefineStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail))
	openapi3.DefineStringFormatValidator("timezone", openapi3.NewCallbackValidator(func(s string) error {
		if _, err := time.LoadLocation(s); err != nil || s == "Local" {
			return errors.New("not an IANA time zone")
		}
		return nil
	}))
	openapi3.DefineStringFormatValidator("uri", openapi3.NewCallbackValidator(func(s string) error {
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return errors.New("not an absolute URI")
		}
		return nil
	}))
}

// operation is one operation of the contract with where it lives.
type operation struct {
	method, path string
	op           *openapi3.Operation
}

func (o operation) String() string {
	return fmt.Sprintf("%s (%s %s)", o.op.OperationID, strings.ToUpper(o.method), o.path)
}

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(YAML)
	if err != nil {
		t.Fatalf("load api/openapi.yaml: %v", err)
	}
	// Examples are checked one by one below, so that every bad one is reported with its operation.
	if err := doc.Validate(context.Background(), openapi3.EnableSchemaFormatValidation(), openapi3.DisableExamplesValidation()); err != nil {
		t.Fatalf("api/openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// operations lists every operation of doc in path and method order.
func operations(doc *openapi3.T) []operation {
	var ops []operation
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			ops = append(ops, operation{method: method, path: path, op: op})
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].path != ops[j].path {
			return ops[i].path < ops[j].path
		}
		return ops[i].method < ops[j].method
	})
	return ops
}

func isJSON(mediaType string) bool {
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
}

func hasExample(mt *openapi3.MediaType) bool {
	return mt.Example != nil || len(mt.Examples) > 0
}

// sortedKeys returns the keys of m in order, so failures are reported in a stable order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestEveryOperationIsDocumented(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	ops := operations(doc)
	if len(ops) < 100 {
		t.Fatalf("found only %d operations; the contract did not load whole", len(ops))
	}
	ids := map[string]bool{}
	for _, o := range ops {
		op := o.op
		if op.OperationID == "" {
			t.Errorf("%s %s has no operationId", strings.ToUpper(o.method), o.path)
			continue
		}
		if ids[op.OperationID] {
			t.Errorf("%s: operationId used twice", o)
		}
		ids[op.OperationID] = true
		if strings.TrimSpace(op.Summary) == "" {
			t.Errorf("%s has no summary", o)
		}
		if len(op.Tags) == 0 {
			t.Errorf("%s has no tags", o)
		}
		if !slices.Contains(keylessProbes, op.OperationID) && !has4xx(op) {
			t.Errorf("%s documents no 4xx response", o)
		}
		if op.RequestBody != nil && op.RequestBody.Value != nil {
			for _, name := range sortedKeys(op.RequestBody.Value.Content) {
				if isJSON(name) && !hasExample(op.RequestBody.Value.Content[name]) {
					t.Errorf("%s: request body %s has no example", o, name)
				}
			}
		}
		for code, resp := range op.Responses.Map() {
			if !strings.HasPrefix(code, "2") || resp.Value == nil {
				continue
			}
			for _, name := range sortedKeys(resp.Value.Content) {
				if isJSON(name) && !hasExample(resp.Value.Content[name]) {
					t.Errorf("%s: response %s %s has no example", o, code, name)
				}
			}
		}
	}
	for _, name := range sortedKeys(doc.Components.Responses) {
		resp := doc.Components.Responses[name].Value
		for _, mt := range sortedKeys(resp.Content) {
			if isJSON(mt) && !hasExample(resp.Content[mt]) {
				t.Errorf("components/responses/%s: %s has no example", name, mt)
			}
		}
	}
}

func has4xx(op *openapi3.Operation) bool {
	for code := range op.Responses.Map() {
		if strings.HasPrefix(code, "4") {
			return true
		}
	}
	return false
}

// exampleCase is one example to check against the schema of the media type it illustrates.
type exampleCase struct {
	where  string
	schema *openapi3.SchemaRef
	value  any
}

// mediaTypeExamples returns the examples of a media type, inline or from components/examples.
func mediaTypeExamples(where string, mt *openapi3.MediaType) []exampleCase {
	var cases []exampleCase
	if mt.Example != nil {
		cases = append(cases, exampleCase{where: where + " example", schema: mt.Schema, value: mt.Example})
	}
	for _, name := range sortedKeys(mt.Examples) {
		ex := mt.Examples[name]
		label := fmt.Sprintf("%s examples.%s", where, name)
		if ex.Ref != "" {
			label += " (" + ex.Ref + ")"
		}
		var value any
		if ex.Value != nil {
			value = ex.Value.Value
		}
		cases = append(cases, exampleCase{where: label, schema: mt.Schema, value: value})
	}
	return cases
}

func contentExamples(where string, content openapi3.Content) []exampleCase {
	var cases []exampleCase
	for _, name := range sortedKeys(content) {
		cases = append(cases, mediaTypeExamples(where+" "+name, content[name])...)
	}
	return cases
}

// allExamples collects every media-type example of doc: request bodies, responses and shared responses.
func allExamples(doc *openapi3.T) []exampleCase {
	var cases []exampleCase
	for _, o := range operations(doc) {
		if o.op.RequestBody != nil && o.op.RequestBody.Value != nil {
			cases = append(cases, contentExamples(o.String()+": request body", o.op.RequestBody.Value.Content)...)
		}
		for _, code := range sortedKeys(o.op.Responses.Map()) {
			resp := o.op.Responses.Value(code)
			if resp.Ref != "" || resp.Value == nil {
				continue // a shared response, checked once below
			}
			cases = append(cases, contentExamples(fmt.Sprintf("%s: response %s", o, code), resp.Value.Content)...)
		}
	}
	for _, name := range sortedKeys(doc.Components.Responses) {
		cases = append(cases, contentExamples("components/responses/"+name, doc.Components.Responses[name].Value.Content)...)
	}
	for _, name := range sortedKeys(doc.Components.RequestBodies) {
		cases = append(cases, contentExamples("components/requestBodies/"+name, doc.Components.RequestBodies[name].Value.Content)...)
	}
	return cases
}

// plainJSON turns a value decoded from YAML into what encoding/json would decode from the wire.
func plainJSON(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func checkExample(c exampleCase) error {
	if c.value == nil {
		return errors.New("the example has no value")
	}
	if c.schema == nil || c.schema.Value == nil {
		return errors.New("the media type has no schema")
	}
	if s, ok := c.value.(string); ok && c.schema.Value.Type.Is(openapi3.TypeString) {
		return c.schema.Value.VisitJSON(s, openapi3.EnableFormatValidation())
	}
	value, err := plainJSON(c.value)
	if err != nil {
		return fmt.Errorf("the example is not JSON: %w", err)
	}
	return c.schema.Value.VisitJSON(value, openapi3.MultiErrors(), openapi3.EnableFormatValidation())
}

func TestExamplesMatchTheirSchemas(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	cases := allExamples(doc)
	if len(cases) < 200 {
		t.Fatalf("found only %d examples; expected one per JSON request body and 2xx response at least", len(cases))
	}
	for _, c := range cases {
		if err := checkExample(c); err != nil {
			t.Errorf("%s does not match its schema:\n%v", c.where, err)
		}
	}
	for _, name := range sortedKeys(doc.Components.Schemas) {
		s := doc.Components.Schemas[name]
		if s.Value == nil || s.Value.Example == nil {
			continue
		}
		if err := checkExample(exampleCase{where: "components/schemas/" + name, schema: s, value: s.Value.Example}); err != nil {
			t.Errorf("components/schemas/%s example does not match the schema:\n%v", name, err)
		}
	}
}

func TestSharedExamplesAreUsed(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	used := map[string]bool{}
	for _, c := range allExamples(doc) {
		if i := strings.Index(c.where, "(#/components/examples/"); i >= 0 {
			used[strings.TrimSuffix(c.where[i+len("(#/components/examples/"):], ")")] = true
		}
	}
	for _, name := range sortedKeys(doc.Components.Examples) {
		if !used[name] {
			t.Errorf("components/examples/%s is not used by any media type", name)
		}
	}
}

// TestBrokenExampleFails proves the example check can fail: an example missing a required field, with a
// field the schema does not allow, or with a value outside an enum is reported.
func TestBrokenExampleFails(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	schema := doc.Components.Schemas["UserCreate"]
	if schema == nil {
		t.Fatal("components/schemas/UserCreate is missing")
	}
	good := map[string]any{"name": "João José", "email": "joao@eox.com.br", "role": "agent"}
	if err := checkExample(exampleCase{schema: schema, value: good}); err != nil {
		t.Fatalf("a valid UserCreate was rejected: %v", err)
	}
	for name, bad := range map[string]map[string]any{
		"missing required": {"name": "João José", "role": "agent"},
		"unknown field":    {"name": "João José", "email": "joao@eox.com.br", "role": "agent", "nickname": "Jota"},
		"enum":             {"name": "João José", "email": "joao@eox.com.br", "role": "owner"},
		"format":           {"name": "João José", "email": "joao", "role": "agent"},
	} {
		if err := checkExample(exampleCase{schema: schema, value: bad}); err == nil {
			t.Errorf("%s: an invalid UserCreate was accepted", name)
		}
	}
}
