// Package aftersale owns a shop's after-sale requests: a shopper asks for a
// refund, a return with a refund, or an exchange on a paid, shipped or
// completed order (within the shop's window after completion), talks with
// the merchant in the request's thread, ships the goods back, and may
// escalate a rejection to the platform, whose operator decides. Deadlines
// act by themselves: the cron pass (RunJobs) approves, refunds or closes a
// request whose deadline passed.
//
// States (Status):
//
//	pending ──approve──▶ refunded            (refund_only: the refund goes out)
//	        ──approve──▶ awaiting_return ──return──▶ returned ──confirm──▶ refunded | exchanged
//	        ──reject───▶ rejected ──escalate──▶ escalated ──decide──▶ decided (refund | deny)
//	pending, awaiting_return, rejected ──withdraw──▶ closed
//	awaiting_return, rejected ──deadline──▶ closed (timed out)
//
// Exactly once without transactions: every change of a request is one
// write conditional on the revision it read (Store.Update), so of any number
// of racing changes (the merchant approving while the deadline fires, two
// cron runners) one takes and the others read the request again and find
// it moved on. The change that sends money sets RefundStatus "sending" in
// that same write; only its winner asks the order for the refund
// (order.Service.Refund, which goes to WeChat Pay where the money came
// from), with the reason "after-sale <id>" as the request's mark on the
// order: a crash between the two is repaired by the pass, which finds the
// order's refund by that mark before it would ask again.
//
// At most one open request per order line: a request claims its lines when
// it is created, atomically with its insert on SQLite (one transaction over
// aftersale_claims, whose key is the order line) and on MongoDB in one
// conditional update of the order's claims document (the lines the update
// adds must not be in it); a request that ends releases them.
//
// Escalated requests are also queued in the platform database
// (disputes.go), so operators see every shop's disputes without opening
// each shop's database.
package aftersale
