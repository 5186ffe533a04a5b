package i18n

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// maxUncheckedErrors bounds the error messages the source test cannot check:
// a fault.X call whose format (or NotFound's what) is not a string the
// source spells out (a variable, a "%s" filled with a message made
// elsewhere). Those show in English whatever the reader's language. There
// are 4 (the test logs where): pcstore's intQuery message, and 3 pcstore
// errors that quote a Go error (%v). Lower the bound when one goes; never
// raise it to let a new one in: write the format at the call instead, so
// that the catalog can key it.
const maxUncheckedErrors = 4

// TestErrorCatalogCoversSource reads the repository's Go source (not its
// tests) and finds every error a person may read: fault.Invalid,
// fault.Conflict, fault.NotFound, fault.Unauthorized, fault.Forbidden,
// fault.TooManyRequests and engine.CheckID (and the same calls inside
// package fault and package engine). Every format the source spells out
// must have a translation in errors/zh-CN.toml with the same verbs, and
// every field named to fault.Invalid (fault.Text, fault.MultilineText,
// engine.CheckID) a "field <name>" entry.
func TestErrorCatalogCoversSource(t *testing.T) {
	c := mustCatalog(t)
	zh := c.ErrorFormats(ZhCN)
	found, err := scanErrorCalls(moduleRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	missing := map[string][]string{} // catalog key → where it is used
	for _, u := range found.formats {
		tr, ok := zh[u.key]
		if !ok || tr == "" {
			missing[u.key] = append(missing[u.key], u.pos)
			continue
		}
		if ve, vz := Verbs(u.key), Verbs(tr); !slices.Equal(ve, vz) {
			t.Errorf("%s: %q has verbs %v, its translation %q %v", u.pos, u.key, ve, tr, vz)
		}
	}
	for _, u := range found.fields {
		key := "field " + u.key
		if tr, ok := zh[key]; !ok || tr == "" {
			missing[key] = append(missing[key], u.pos)
		}
	}
	keys := make([]string, 0, len(missing))
	for k := range missing {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Errorf("errors/zh-CN.toml has no translation of %q (%s)", k, strings.Join(missing[k], ", "))
	}
	for _, u := range found.unchecked {
		t.Logf("unchecked (not a literal): %s: %s", u.pos, u.key)
	}
	t.Logf("error calls: %d formats, %d fields checked; %d unchecked (at most %d)",
		len(found.formats), len(found.fields), len(found.unchecked), maxUncheckedErrors)
	if len(found.unchecked) > maxUncheckedErrors {
		t.Errorf("%d error messages are not literal formats the catalog can key (at most %d): see the log",
			len(found.unchecked), maxUncheckedErrors)
	}
}

// moduleRoot is the directory holding go.mod, above this package.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

// use is one catalog key (a format, a field name) and where the source
// uses it.
type use struct{ key, pos string }

type errorCalls struct {
	formats, fields, unchecked []use
}

const (
	faultPath  = "microshop/tenants/fault"
	enginePath = "microshop/tenants/engine"
)

// checkIDFormat is the format engine.CheckID passes to fault.Invalid.
const checkIDFormat = "%q is not %s %s id"

// A sink is where a string argument becomes an error message: the argument
// at index of a call to a function, as a format (with suffix, NotFound's
// " not found") or a field name.
type sink struct {
	index  int
	field  bool
	suffix string
}

// faultSinks are the fault and engine functions that make an error.
var faultSinks = map[string][]sink{
	"fault.Invalid":         {{index: 0, field: true}, {index: 1}},
	"fault.Text":            {{index: 0, field: true}},
	"fault.MultilineText":   {{index: 0, field: true}},
	"fault.Conflict":        {{index: 0}},
	"fault.Unauthorized":    {{index: 0}},
	"fault.Forbidden":       {{index: 0}},
	"fault.TooManyRequests": {{index: 0}},
	"fault.New":             {{index: 2}},
	".WithField":            {{index: 0, field: true}},
	"fault.NotFound":        {{index: 0, suffix: " not found"}},
	"engine.CheckID":        {{index: 0, field: true}},
}

// scanErrorCalls parses every non-test Go file under root and lists the
// error formats and fields its fault calls name. A package's helper that
// passes its own parameter on as a format, a what or a field (row(ctx,
// what, …) ending in fault.NotFound(what)) is followed: its callers' literals
// are checked. So is a struct field (fault.NotFound(t.what)): the literals
// the package's composite literals give that field.
func scanErrorCalls(root string) (errorCalls, error) {
	var out errorCalls
	fset := token.NewFileSet()
	pkgs := map[string][]*ast.File{} // directory → its files
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkgs[filepath.Dir(path)] = append(pkgs[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		return out, err
	}
	dirs := make([]string, 0, len(pkgs))
	for dir := range pkgs {
		dirs = append(dirs, dir)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		rel, _ := filepath.Rel(root, dir)
		scanPackage(fset, root, filepath.ToSlash(rel), pkgs[dir], &out)
	}
	return out, nil
}

// scanPackage adds one package's error calls to out.
func scanPackage(fset *token.FileSet, root, rel string, files []*ast.File, out *errorCalls) {
	consts := stringConsts(files)
	keyed := keyedStrings(files)
	local := map[string][]sink{} // the package's helpers that make errors
	// name is the sink table's name for the function call calls, "" if
	// it is neither a fault function nor one of the package's helpers.
	name := func(f *ast.File, call *ast.CallExpr) string {
		fun := call.Fun
		switch x := fun.(type) {
		case *ast.IndexExpr:
			fun = x.X
		case *ast.IndexListExpr:
			fun = x.X
		}
		switch fun := fun.(type) {
		case *ast.SelectorExpr:
			if x, ok := fun.X.(*ast.Ident); ok {
				switch {
				case x.Name == importName(f, faultPath) && importName(f, faultPath) != "":
					return "fault." + fun.Sel.Name
				case x.Name == importName(f, enginePath) && importName(f, enginePath) != "":
					return "engine." + fun.Sel.Name
				}
				for _, imp := range f.Imports {
					p, _ := strconv.Unquote(imp.Path.Value)
					if x.Name == importName(f, p) {
						return "" // another package's function
					}
				}
			}
			return "." + fun.Sel.Name // a method of the package's
		case *ast.Ident:
			switch rel {
			case "tenants/fault":
				if _, ok := faultSinks["fault."+fun.Name]; ok {
					return "fault." + fun.Name
				}
			case "tenants/engine":
				if _, ok := faultSinks["engine."+fun.Name]; ok {
					return "engine." + fun.Name
				}
			}
			return "." + fun.Name
		}
		return ""
	}
	sinks := func(fn string) []sink {
		if s, ok := faultSinks[fn]; ok {
			return s
		}
		return local[fn]
	}
	// Find the helpers, helpers of helpers, until no more turn up.
	for changed := true; changed; {
		changed = false
		eachCall(files, func(f *ast.File, decl *ast.FuncDecl, call *ast.CallExpr) {
			for _, sk := range sinks(name(f, call)) {
				if sk.index >= len(call.Args) {
					continue
				}
				id, ok := call.Args[sk.index].(*ast.Ident)
				if !ok {
					continue
				}
				if i := paramIndex(decl, id.Name); i >= 0 {
					helper := "." + decl.Name.Name
					w := sink{index: i, field: sk.field, suffix: sk.suffix}
					if !slices.Contains(local[helper], w) {
						local[helper] = append(local[helper], w)
						changed = true
					}
				}
			}
		})
	}
	eachCall(files, func(f *ast.File, decl *ast.FuncDecl, call *ast.CallExpr) {
		fn := name(f, call)
		p := fset.Position(call.Pos())
		pos := fmt.Sprintf("%s:%d", filepath.ToSlash(strings.TrimPrefix(p.Filename, root+string(filepath.Separator))), p.Line)
		if fn == "engine.CheckID" {
			out.formats = append(out.formats, use{checkIDFormat, pos})
		}
		for _, sk := range sinks(fn) {
			if sk.index >= len(call.Args) {
				continue
			}
			arg := call.Args[sk.index]
			var vals []string
			if s, ok := constString(arg, consts); ok {
				vals = []string{s}
			} else if id, ok := arg.(*ast.Ident); ok && paramIndex(decl, id.Name) >= 0 {
				continue // a helper's parameter: its callers are checked
			} else if sel, ok := arg.(*ast.SelectorExpr); ok && len(keyed[sel.Sel.Name]) > 0 {
				vals = keyed[sel.Sel.Name]
			} else if sk.field {
				// A field built at run time (items[3].price): English.
				continue
			}
			if !sk.field && !slices.ContainsFunc(vals, func(s string) bool {
				return strings.ContainsFunc(verb.ReplaceAllString(s, ""), unicode.IsLetter)
			}) {
				// Not a literal, or only "%s": the message is made elsewhere.
				out.unchecked = append(out.unchecked, use{fn + "(" + exprString(fset, call) + ")", pos})
				continue
			}
			for _, v := range vals {
				switch {
				case sk.field && v != "":
					out.fields = append(out.fields, use{v, pos})
				case !sk.field:
					out.formats = append(out.formats, use{v + sk.suffix, pos})
				}
			}
		}
	})
}

// eachCall calls fn with every call in files and the function declaration
// it is in (nil outside one).
func eachCall(files []*ast.File, fn func(*ast.File, *ast.FuncDecl, *ast.CallExpr)) {
	for _, f := range files {
		for _, d := range f.Decls {
			decl, _ := d.(*ast.FuncDecl)
			ast.Inspect(d, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok {
					fn(f, decl, call)
				}
				return true
			})
		}
	}
}

// paramIndex is the index of decl's parameter called name, -1 if it has
// none of that name.
func paramIndex(decl *ast.FuncDecl, name string) int {
	if decl == nil || decl.Type.Params == nil {
		return -1
	}
	i := 0
	for _, field := range decl.Type.Params.List {
		if len(field.Names) == 0 {
			i++
			continue
		}
		for _, n := range field.Names {
			if n.Name == name {
				return i
			}
			i++
		}
	}
	return -1
}

// keyedStrings maps a struct field name to the literals the package's
// composite literals give it (what: "segment").
func keyedStrings(files []*ast.File) map[string][]string {
	out := map[string][]string{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			kv, ok := n.(*ast.KeyValueExpr)
			if !ok {
				return true
			}
			if k, ok := kv.Key.(*ast.Ident); ok {
				if s, ok := constString(kv.Value, nil); ok {
					out[k.Name] = append(out[k.Name], s)
				}
			}
			return true
		})
	}
	return out
}

// importName is the name file f knows the package path by, "" if it does
// not import it.
func importName(f *ast.File, path string) string {
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil || p != path {
			continue
		}
		if imp.Name != nil {
			return imp.Name.Name
		}
		return path[strings.LastIndex(path, "/")+1:]
	}
	return ""
}

// stringConsts maps the package's string constants spelled as literals
// (const format = "…") to their values, wherever they are declared.
func stringConsts(files []*ast.File) map[string]string {
	out := map[string]string{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			gd, ok := n.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				return true
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if s, ok := constString(vs.Values[i], out); ok {
							out[name.Name] = s
						}
					}
				}
			}
			return true
		})
	}
	return out
}

// constString is e's value if it is a string the source spells out: a
// literal, a package constant, or a sum of those.
func constString(e ast.Expr, consts map[string]string) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.ParenExpr:
		return constString(e.X, consts)
	case *ast.Ident:
		s, ok := consts[e.Name]
		return s, ok
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		a, ok := constString(e.X, consts)
		if !ok {
			return "", false
		}
		b, ok := constString(e.Y, consts)
		return a + b, ok
	}
	return "", false
}

// exprString is the source of a call's arguments, shortened, for the log.
func exprString(fset *token.FileSet, call *ast.CallExpr) string {
	var parts []string
	for _, a := range call.Args {
		start, end := fset.Position(a.Pos()), fset.Position(a.End())
		if start.Filename != end.Filename {
			continue
		}
		buf, err := os.ReadFile(start.Filename)
		if err != nil || end.Offset > len(buf) {
			continue
		}
		s := string(buf[start.Offset:end.Offset])
		if len(s) > 60 {
			s = s[:60] + "…"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}
