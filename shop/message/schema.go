package message

import (
	_ "embed"

	"microshop/tenants/engine"
)

// Schema is the messaging tables and indexes in each tenant database.
var Schema = engine.NewSchema("message", schemaSQL,
	engine.Coll("audience",
		engine.Index("_id"), engine.Index("subscribed", "_id"), engine.Index("tags"),
		engine.Index("guide_id"), engine.Index("store_id"), engine.Index("distributor_id"),
		engine.Index("orders"), engine.Index("last_active_at"), engine.Index("points"),
		engine.Index("last_checkin_day")),
	engine.Coll("audience_orders", engine.Unique("fan_id", "order_id")),
	engine.Coll("segments", engine.Index("-created_at")),
	engine.Coll("campaigns", engine.Index("-created_at", "-_id"), engine.Index("status", "scheduled_at")),
	engine.Coll("deliveries",
		engine.Index("campaign_id", "status", "_id"), engine.Index("status", "claimed_at"),
		engine.Index("campaign_id", "batch"), engine.Index("campaign_id", "_id")),
	engine.Coll("inbox", engine.Index("fan_id", "-created_at")),
	engine.Coll("message_settings"),
)

// schemaSQL is the package's SQLite schema.
//
//go:embed schema.sql
var schemaSQL string
