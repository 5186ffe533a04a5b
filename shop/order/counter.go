package order

// Counter counts what orders do, for the server's metrics. The server
// plugs one in (SetCounter); without one nothing is counted.
type Counter interface {
	// OrderPlaced counts an order placed, now awaiting payment.
	OrderPlaced()
	// PaymentApplied counts a payment notification ConfirmPayment handled,
	// by provider (ProviderWeChat, ProviderSandbox) and outcome (one of the
	// Payment* outcomes below).
	PaymentApplied(provider, outcome string)
}

// The outcomes of a payment notification, as counted.
const (
	PaymentPaid     = "paid"     // it paid its order
	PaymentRepeated = "repeated" // a notification already applied
	PaymentFlagged  = "flagged"  // it cannot pay its order: flagged for a refund
	PaymentRefused  = "refused"  // the wrong amount, or a sandbox payment the shop takes none of
)

// SetCounter plugs in the server's metrics (nil: nothing counted).
func (s *Service) SetCounter(c Counter) { s.counter = c }

func (s *Service) countPlaced() {
	if s.counter != nil {
		s.counter.OrderPlaced()
	}
}

func (s *Service) countPayment(provider, outcome string) {
	if s.counter != nil {
		s.counter.PaymentApplied(provider, outcome)
	}
}
