package fault

import "fmt"

// Wrap says where err comes from ("load order x: …") and leaves nil alone,
// so a store method can end in `return fault.Wrap(err, "load order %s", id)`.
// The cause stays visible to errors.Is and errors.As (a *fault.Error keeps
// its status through the wrap).
func Wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
