package engine_test

import (
	"reflect"
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

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

func TestNewSchema(t *testing.T) {
	got := engine.NewSchema("things", "CREATE TABLE things (a TEXT);\nCREATE INDEX things_a ON things (a);\n",
		engine.Coll("things", engine.Unique("code"), engine.Index("class", "-at", "-_id")),
		engine.Coll("thing_marks"))
	want := engine.Schema{
		Name:   "things",
		SQLite: []string{"CREATE TABLE things (a TEXT)", "CREATE INDEX things_a ON things (a)"},
		Mongo: []engine.MongoCollection{
			{Name: "things", Indexes: []engine.MongoIndex{
				{Keys: bson.D{{Key: "code", Value: 1}}, Unique: true},
				{Keys: bson.D{{Key: "class", Value: 1}, {Key: "at", Value: -1}, {Key: "_id", Value: -1}}},
			}},
			{Name: "thing_marks"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}
