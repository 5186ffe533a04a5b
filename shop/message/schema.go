package message

import (
	_ "embed"
	"go.mongodb.org/mongo-driver/v2/bson"

	"microshop/tenants/engine"
)

// schemaSQL is the package's SQLite schema.
//
//go:embed schema.sql
var schemaSQL string

// Schema is the messaging tables and indexes in each tenant database.
var Schema = engine.Schema{
	Name:   "message",
	SQLite: engine.SQLStatements(schemaSQL),
	Mongo: []engine.MongoCollection{
		{Name: "audience", Indexes: []engine.MongoIndex{
			{Keys: bson.D{{Key: "_id", Value: 1}}},
			{Keys: bson.D{{Key: "subscribed", Value: 1}, {Key: "_id", Value: 1}}},
			{Keys: bson.D{{Key: "tags", Value: 1}}},
			{Keys: bson.D{{Key: "guide_id", Value: 1}}},
			{Keys: bson.D{{Key: "store_id", Value: 1}}},
			{Keys: bson.D{{Key: "distributor_id", Value: 1}}},
			{Keys: bson.D{{Key: "orders", Value: 1}}},
			{Keys: bson.D{{Key: "last_active_at", Value: 1}}},
			{Keys: bson.D{{Key: "points", Value: 1}}},
			{Keys: bson.D{{Key: "last_checkin_day", Value: 1}}},
		}},
		{Name: "audience_orders", Indexes: []engine.MongoIndex{
			{Keys: bson.D{{Key: "fan_id", Value: 1}, {Key: "order_id", Value: 1}}, Unique: true},
		}},
		{Name: "segments", Indexes: []engine.MongoIndex{
			{Keys: bson.D{{Key: "created_at", Value: -1}}},
		}},
		{Name: "campaigns", Indexes: []engine.MongoIndex{
			{Keys: bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}},
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "scheduled_at", Value: 1}}},
		}},
		{Name: "deliveries", Indexes: []engine.MongoIndex{
			{Keys: bson.D{{Key: "campaign_id", Value: 1}, {Key: "status", Value: 1}, {Key: "_id", Value: 1}}},
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "claimed_at", Value: 1}}},
			{Keys: bson.D{{Key: "campaign_id", Value: 1}, {Key: "batch", Value: 1}}},
			{Keys: bson.D{{Key: "campaign_id", Value: 1}, {Key: "_id", Value: 1}}},
		}},
		{Name: "inbox", Indexes: []engine.MongoIndex{
			{Keys: bson.D{{Key: "fan_id", Value: 1}, {Key: "created_at", Value: -1}}},
		}},
		{Name: "message_settings"},
	},
}
