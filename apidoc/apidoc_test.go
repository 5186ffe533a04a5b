package apidoc

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestDocumentIsValidOpenAPI31 loads the embedded document with
// kin-openapi and validates it as OpenAPI 3.1 (kin-openapi checks 3.1
// documents, their schemas with JSON Schema 2020-12), with its examples
// and every $ref resolved.
func TestDocumentIsValidOpenAPI31(t *testing.T) {
	doc, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi: %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableSchemaFormatValidation()); err != nil {
		t.Fatalf("the document is not valid OpenAPI 3.1: %v", err)
	}
	// Every operation has an id, a summary, a tag the document declares and
	// at least one success; every error it answers is the shared body.
	tags := map[string]bool{}
	for _, tag := range doc.Tags {
		tags[tag.Name] = true
	}
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/api/v1/") {
			t.Errorf("%s: every path is under /api/v1/", path)
		}
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.OperationID == "" || op.Summary == "" || len(op.Tags) != 1 || !tags[op.Tags[0]] {
				t.Errorf("%s: id %q, summary %q, tags %v", name, op.OperationID, op.Summary, op.Tags)
			}
			if other, ok := ids[op.OperationID]; ok {
				t.Errorf("%s: operation id %q is also %s's", name, op.OperationID, other)
			}
			ids[op.OperationID] = name
			success := false
			for status, r := range op.Responses.Map() {
				switch {
				case status[0] == '2':
					success = true
				case status[0] == '4' || status[0] == '5':
					mt := r.Value.Content.Get("application/json")
					if mt == nil || mt.Schema == nil || mt.Schema.Ref != "#/components/schemas/Error" {
						t.Errorf("%s: %s is not the shared error body", name, status)
					}
				}
			}
			if !success {
				t.Errorf("%s: no 2xx answer", name)
			}
			if op.Security == nil || len(*op.Security) > 0 { // behind the API key
				if op.Responses.Status(401) == nil {
					t.Errorf("%s: needs the API key but does not say 401", name)
				}
			}
		}
	}
}

// TestHandlersServeJSON: the JSON served is the document, valid as it
// is.
func TestHandlersServeJSON(t *testing.T) {
	h := NewHandlers()
	served, err := openapi3.NewLoader().LoadFromData(h.docJSON)
	if err != nil {
		t.Fatal(err)
	}
	if err := served.Validate(context.Background()); err != nil {
		t.Fatalf("the JSON served is not valid OpenAPI 3.1: %v", err)
	}
	var back openapi3.T
	if err := json.Unmarshal(h.docJSON, &back); err != nil {
		t.Fatal(err)
	}
	doc, _ := Load()
	if back.OpenAPI != "3.1.0" || back.Paths.Len() != doc.Paths.Len() {
		t.Fatalf("served %q with %d paths, want 3.1.0 with %d", back.OpenAPI, back.Paths.Len(), doc.Paths.Len())
	}
	if h.view.Operations < 90 || len(h.view.Groups) != len(doc.Tags) {
		t.Errorf("page: %d operations in %d groups", h.view.Operations, len(h.view.Groups))
	}
}
