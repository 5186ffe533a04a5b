package engine_test

import (
	"slices"
	"testing"

	"microshop/tenants/engine"
)

func TestSQLStatements(t *testing.T) {
	for _, c := range []struct {
		name string
		file string
		want []string
	}{
		{"empty", "", nil},
		{"comments only", "-- a\n-- b\n", nil},
		{"one", "CREATE TABLE t (a TEXT);\n", []string{"CREATE TABLE t (a TEXT)"}},
		{"several lines and comments", "-- the table\nCREATE TABLE t (\n    a TEXT,\n    b TEXT);\n\n-- why\nCREATE INDEX i ON t (a);\n",
			[]string{"CREATE TABLE t (\n    a TEXT,\n    b TEXT)", "CREATE INDEX i ON t (a)"}},
		{"last without semicolon", "CREATE TABLE t (a TEXT);\nALTER TABLE t ADD COLUMN b TEXT", []string{"CREATE TABLE t (a TEXT)", "ALTER TABLE t ADD COLUMN b TEXT"}},
		{"comment between lines of one statement", "CREATE TABLE t (\n-- the key\n    a TEXT);\n", []string{"CREATE TABLE t (\n    a TEXT)"}},
	} {
		if got := engine.SQLStatements(c.file); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}
