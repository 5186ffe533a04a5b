package catalog

// SetStockLogKeep sets how many entries the stock log keeps, for a test, and
// returns a function that restores it.
func SetStockLogKeep(n int) (restore func()) {
	old := stockLogKeep
	stockLogKeep = n
	return func() { stockLogKeep = old }
}

// SetCountLimit sets how far product lists count, for a test, and returns a
// function that restores it.
func SetCountLimit(n int64) (restore func()) {
	old := countLimit
	countLimit = n
	return func() { countLimit = old }
}
