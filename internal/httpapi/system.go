package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"time"

	_ "embed"

	"github.com/labstack/echo/v4"

	apispec "github.com/atende/atende/api"
	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/store"
)

// systemHandlers serve the probes.
type systemHandlers struct {
	db *store.DB
}

// GetHealth answers while the process serves HTTP.
func (systemHandlers) GetHealth(context.Context, gen.GetHealthRequestObject) (gen.GetHealthResponseObject, error) {
	return gen.GetHealth200JSONResponse{Status: "ok"}, nil
}

// GetReadiness checks the database and its migrations.
func (h systemHandlers) GetReadiness(ctx context.Context, _ gen.GetReadinessRequestObject) (gen.GetReadinessResponseObject, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "migrations": "ok"}
	ready := true
	if err := h.db.PingContext(ctx); err != nil {
		checks["database"] = "unreachable"
		checks["migrations"] = "unknown"
		ready = false
	} else {
		want, err := store.LatestVersion(h.db.Kind)
		if err != nil {
			return nil, err
		}
		got, dirty, err := store.SchemaVersion(ctx, h.db)
		switch {
		case err != nil:
			checks["migrations"] = "unreadable"
			ready = false
		case dirty:
			checks["migrations"] = fmt.Sprintf("version %d is dirty", got)
			ready = false
		case got != want:
			checks["migrations"] = fmt.Sprintf("at version %d, want %d", got, want)
			ready = false
		}
	}
	if !ready {
		return gen.GetReadiness503JSONResponse{Status: "unavailable", Checks: checks}, nil
	}
	return gen.GetReadiness200JSONResponse{Status: "ok", Checks: checks}, nil
}

func serveSpec(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", apispec.YAML)
}

//go:embed docs/redoc.standalone.js
var redocJS string

var docsTemplate = template.Must(template.New("docs").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — API reference</title>
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<div id="redoc"></div>
<script>{{.Script}}</script>
<script>Redoc.init({{.Spec}}, {hideDownloadButton: false, downloadFileName: "openapi.json"}, document.getElementById("redoc"));</script>
</body>
</html>
`))

// docsPage is the API reference: Redoc with the contract inlined, so it renders with no network access.
type docsPage struct {
	html []byte
	etag string
}

func newDocsPage(ct *contract) (*docsPage, error) {
	spec, err := json.Marshal(ct.doc)
	if err != nil {
		return nil, fmt.Errorf("encode the contract for /docs: %w", err)
	}
	var buf bytes.Buffer
	err = docsTemplate.Execute(&buf, map[string]any{
		"Title":  ct.doc.Info.Title,
		"Script": template.JS(redocJS),
		"Spec":   template.JS(spec),
	})
	if err != nil {
		return nil, fmt.Errorf("render /docs: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return &docsPage{html: buf.Bytes(), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}, nil
}

// docsContentSecurityPolicy lets the page run its inline script and styles and fetch nothing beyond atende:
// the Redoc bundle asks for a logo from its CDN, which the reference neither needs nor may depend on.
const docsContentSecurityPolicy = "default-src 'self' 'unsafe-inline' data: blob:; base-uri 'none'; form-action 'none'"

func (d *docsPage) serve(c echo.Context) error {
	c.Response().Header().Set("Content-Security-Policy", docsContentSecurityPolicy)
	c.Response().Header().Set("ETag", d.etag)
	c.Response().Header().Set("Cache-Control", "no-cache")
	if c.Request().Header.Get("If-None-Match") == d.etag {
		return c.NoContent(http.StatusNotModified)
	}
	return c.HTMLBlob(http.StatusOK, d.html)
}
