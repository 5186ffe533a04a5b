package apidoc

import (
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Page is what api_docs.html receives: the document's operations grouped
// by tag, in the document's tag order, and its named schemas.
type Page struct {
	Title, Version, Description string
	Groups                      []Group
	Schemas                     []Schema
	// Operations counts the operations.
	Operations int
}

// Group is one tag's operations.
type Group struct {
	Name, Description string
	Operations        []Operation
}

// Operation is one method on one path.
type Operation struct {
	Method, Path, ID, Summary, Description string
	// Public: no API key needed.
	Public     bool
	Parameters []Parameter
	Body       *Body
	Responses  []Response
}

// Anchor is the operation's fragment id on the page.
func (o Operation) Anchor() string { return "op-" + o.ID }

// Parameter is a path or query parameter.
type Parameter struct {
	Name, In, Description string
	Type                  Type
	Required              bool
}

// Body is a request body.
type Body struct {
	ContentType, Description string
	Required                 bool
	Type                     Type
	Fields                   []Field // an inline object's fields
}

// Response is one status an operation answers.
type Response struct {
	Status, Description, ContentType string
	Type                             Type
	Fields                           []Field // an inline object's fields
	// Error: the shared error body.
	Error bool
}

// Schema is a named schema (components.schemas) and its fields.
type Schema struct {
	Name, Description string
	Fields            []Field
}

// Anchor is the schema's fragment id on the page.
func (s Schema) Anchor() string { return "schema-" + s.Name }

// Field is a property of an object.
type Field struct {
	Name, Description string
	Type              Type
	Required          bool
}

// Type is a schema as one line: Text, and Ref, the named schema it links
// to (empty for none).
type Type struct {
	Text, Ref string
}

// Anchor is the fragment id of the named schema the type links to.
func (t Type) Anchor() string { return "schema-" + t.Ref }

var methodOrder = map[string]int{"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}

func newPage(doc *openapi3.T) Page {
	p := Page{Title: doc.Info.Title, Version: doc.Info.Version, Description: doc.Info.Description}
	groups := map[string]*Group{}
	var order []string
	for _, tag := range doc.Tags {
		groups[tag.Name] = &Group{Name: tag.Name, Description: tag.Description}
		order = append(order, tag.Name)
	}
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			o := operation(doc, path, method, item, op)
			tag := "Other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			g, ok := groups[tag]
			if !ok {
				g = &Group{Name: tag}
				groups[tag] = g
				order = append(order, tag)
			}
			g.Operations = append(g.Operations, o)
			p.Operations++
		}
	}
	for _, name := range order {
		g := groups[name]
		sort.Slice(g.Operations, func(i, j int) bool {
			a, b := g.Operations[i], g.Operations[j]
			if a.Path != b.Path {
				return a.Path < b.Path
			}
			return methodOrder[a.Method] < methodOrder[b.Method]
		})
		if len(g.Operations) > 0 {
			p.Groups = append(p.Groups, *g)
		}
	}
	names := make([]string, 0, len(doc.Components.Schemas))
	for name := range doc.Components.Schemas {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := doc.Components.Schemas[name].Value
		p.Schemas = append(p.Schemas, Schema{Name: name, Description: s.Description, Fields: fields(s)})
	}
	return p
}

func operation(doc *openapi3.T, path, method string, item *openapi3.PathItem, op *openapi3.Operation) Operation {
	o := Operation{Method: method, Path: path, ID: op.OperationID, Summary: op.Summary, Description: op.Description}
	if o.ID == "" {
		o.ID = strings.ToLower(method) + strings.NewReplacer("/", "-", "{", "", "}", "", ".", "-").Replace(path)
	}
	security := doc.Security
	if op.Security != nil {
		security = *op.Security
	}
	o.Public = len(security) == 0
	for _, params := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, ref := range params {
			pr := ref.Value
			o.Parameters = append(o.Parameters, Parameter{Name: pr.Name, In: pr.In, Description: pr.Description,
				Type: typeOf(pr.Schema), Required: pr.Required})
		}
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		rb := op.RequestBody.Value
		for ct, mt := range rb.Content {
			b := &Body{ContentType: ct, Description: rb.Description, Required: rb.Required, Type: typeOf(mt.Schema)}
			if mt.Schema != nil && mt.Schema.Ref == "" && mt.Schema.Value != nil {
				b.Fields = fields(mt.Schema.Value)
			}
			o.Body = b
		}
	}
	for status, ref := range op.Responses.Map() {
		rv := ref.Value
		r := Response{Status: status}
		if rv.Description != nil {
			r.Description = *rv.Description
		}
		for ct, mt := range rv.Content {
			r.ContentType, r.Type = ct, typeOf(mt.Schema)
			if mt.Schema != nil && mt.Schema.Ref == "" && mt.Schema.Value != nil {
				r.Fields = fields(mt.Schema.Value)
			}
		}
		r.Error = r.Type.Ref == "Error"
		o.Responses = append(o.Responses, r)
	}
	sort.Slice(o.Responses, func(i, j int) bool { return o.Responses[i].Status < o.Responses[j].Status })
	return o
}

// fields are an object schema's properties, required ones first, each
// group in name order.
func fields(s *openapi3.Schema) []Field {
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	var out []Field
	for name, ref := range s.Properties {
		f := Field{Name: name, Type: typeOf(ref), Required: required[name]}
		if ref.Value != nil {
			f.Description = ref.Value.Description
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Required != out[j].Required {
			return out[i].Required
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// typeOf says a schema in one line: a named schema by its name, an array
// as "array of …", a map as "map of …", "or null" when null is allowed.
func typeOf(ref *openapi3.SchemaRef) Type {
	if ref == nil || ref.Value == nil {
		return Type{Text: "any"}
	}
	if ref.Ref != "" {
		name := ref.Ref[strings.LastIndex(ref.Ref, "/")+1:]
		return Type{Text: name, Ref: name}
	}
	s := ref.Value
	nullable := false
	var kinds []string
	if s.Type != nil {
		for _, k := range s.Type.Slice() {
			if k == openapi3.TypeNull {
				nullable = true
				continue
			}
			kinds = append(kinds, k)
		}
	}
	var t Type
	switch {
	case len(s.OneOf) > 0:
		var parts []string
		for _, alt := range s.OneOf {
			at := typeOf(alt)
			if at.Text == "null" {
				nullable = true
				continue
			}
			parts = append(parts, at.Text)
			if at.Ref != "" {
				t.Ref = at.Ref
			}
		}
		t.Text = strings.Join(parts, " | ")
	case len(kinds) == 1 && kinds[0] == openapi3.TypeArray:
		item := typeOf(s.Items)
		t = Type{Text: "array of " + item.Text, Ref: item.Ref}
	case len(kinds) == 1 && kinds[0] == openapi3.TypeObject && s.AdditionalProperties.Schema != nil:
		item := typeOf(s.AdditionalProperties.Schema)
		t = Type{Text: "map of " + item.Text, Ref: item.Ref}
	case len(kinds) > 0:
		t.Text = strings.Join(kinds, " | ")
		if s.Format != "" {
			t.Text += " (" + s.Format + ")"
		}
		if len(s.Enum) > 0 {
			var vs []string
			for _, v := range s.Enum {
				if str, ok := v.(string); ok {
					vs = append(vs, str)
				}
			}
			if len(vs) > 0 {
				t.Text += ": " + strings.Join(vs, ", ")
			}
		}
	case len(kinds) == 0 && nullable:
		return Type{Text: "null"}
	default:
		t.Text = "any"
	}
	if nullable {
		t.Text += " | null"
	}
	return t
}

// Key is the group's name as a message id's last part ("PC store" is
// pc_store), the page's anchor for it.
func (g Group) Key() string { return strings.ReplaceAll(strings.ToLower(g.Name), " ", "_") }
