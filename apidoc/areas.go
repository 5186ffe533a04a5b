package apidoc

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"

	"go.yaml.in/yaml/v4"
)

// merge is the document as JSON: openapi.yaml with every areas/*.yaml
// merged in. An area file has the document's shape but only these keys:
// paths, components (schemas, parameters, requestBodies, responses) and
// tags. A path or component named twice is an error, not an override.
func merge() ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(source, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	names, err := fs.Glob(areas, "areas/*.yaml")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	for _, name := range names {
		buf, err := fs.ReadFile(areas, name)
		if err != nil {
			return nil, err
		}
		var area map[string]any
		if err := yaml.Unmarshal(buf, &area); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := mergeArea(doc, area); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	addForbidden(doc)
	return json.Marshal(doc)
}

func mergeArea(doc, area map[string]any) error {
	for key, v := range area {
		switch key {
		case "paths":
			if err := mergeMap(doc, "paths", v); err != nil {
				return err
			}
		case "components":
			parts, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("components is not a map")
			}
			comps, _ := doc["components"].(map[string]any)
			if comps == nil {
				comps = map[string]any{}
				doc["components"] = comps
			}
			for section, entries := range parts {
				if err := mergeMap(comps, section, entries); err != nil {
					return fmt.Errorf("components: %w", err)
				}
			}
		case "tags":
			tags, ok := v.([]any)
			if !ok {
				return fmt.Errorf("tags is not a list")
			}
			have, _ := doc["tags"].([]any)
			doc["tags"] = append(have, tags...)
		default:
			return fmt.Errorf("an area file holds paths, components and tags only, not %q", key)
		}
	}
	return nil
}

// mergeMap adds the entries of v to parent[key], refusing a name twice.
func mergeMap(parent map[string]any, key string, v any) error {
	add, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s is not a map", key)
	}
	into, _ := parent[key].(map[string]any)
	if into == nil {
		into = map[string]any{}
		parent[key] = into
	}
	for name, entry := range add {
		if _, dup := into[name]; dup {
			return fmt.Errorf("%s %q is already in the document", key, name)
		}
		into[name] = entry
	}
	return nil
}

// addForbidden gives every operation that takes the API key the 403 a key
// scoped to a role (or a staff member's role) may answer for any route
// (server/roles.go): written once here rather than on every operation.
func addForbidden(doc map[string]any) {
	paths, _ := doc["paths"].(map[string]any)
	for _, item := range paths {
		ops, _ := item.(map[string]any)
		for method, op := range ops {
			o, ok := op.(map[string]any)
			if !ok || method == "parameters" {
				continue
			}
			if sec, ok := o["security"].([]any); ok && len(sec) == 0 {
				continue // public: no key, no role
			}
			responses, _ := o["responses"].(map[string]any)
			if responses == nil {
				continue
			}
			if _, ok := responses["403"]; !ok {
				responses["403"] = map[string]any{"$ref": "#/components/responses/Forbidden"}
			}
		}
	}
}
