package main

// settleRefunds waits until the WeChat Pay simulator has settled the
// refunds it was asked for and its notifications were taken: a refund is
// answered processing and counts once its notification arrives.
func (a *app) settleRefunds() {
	if a.paysim != nil {
		a.paysim.Wait()
	}
}
