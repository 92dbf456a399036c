// Package apispec embeds the OpenAPI contract as written, to serve it at GET /openapi.yaml.
package apispec

import _ "embed"

// YAML is api/openapi.yaml.
//
//go:embed openapi.yaml
var YAML []byte
