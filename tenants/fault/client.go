package fault

import "errors"

// Client is err as the fault a page shows the person to fix (a 4xx, also
// when wrapped), and whether it is one; a server fault or any other error
// is not, and goes to the error handler.
func Client(err error) (*Error, bool) {
	var fe *Error
	if errors.As(err, &fe) && fe.Status < 500 {
		return fe, true
	}
	return nil, false
}
