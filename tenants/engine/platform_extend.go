package engine

import (
	"context"
	"fmt"
)

// ExtendPlatform adds a domain's own platform records to the platform
// database: the market's index, the dispute queue, credit. Those belong to
// their domain package, not to tenants, yet live above every shop. Their
// tables and indexes are applied at once (idempotently, as the platform
// schema is) and become part of PlatformSchema, so the test index checker
// knows them. Call it while building services, before serving requests.
func (e *Engine) ExtendPlatform(ctx context.Context, p Platform) error {
	switch e.kind {
	case SQLite:
		for _, stmt := range p.SQLite {
			if err := execSchema(ctx, e.platformDB, stmt); err != nil {
				return fmt.Errorf("platform schema: %w", err)
			}
		}
	case Mongo:
		saved := e.platform
		e.platform = p
		err := e.ensurePlatformMongo(ctx)
		e.platform = saved
		if err != nil {
			return err
		}
	}
	e.platform.SQLite = append(e.platform.SQLite, p.SQLite...)
	e.platform.Mongo = append(e.platform.Mongo, p.Mongo...)
	return nil
}
