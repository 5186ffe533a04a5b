package engine

import (
	"strconv"

	"microshop/tenants/fault"
)

// The list calls of every store share their paging limits: a page of 1 to
// 100 records (20 when not given), starting at most a million records in.

// DefaultLimit is the page size of a list call that names none.
const DefaultLimit = 20

// CheckPage checks a list call's limit and offset, setting a zero limit to
// DefaultLimit.
func CheckPage(limit *int, offset int) error {
	if *limit == 0 {
		*limit = DefaultLimit
	}
	if *limit < 1 || *limit > 100 {
		return fault.Invalid("limit", "must be between 1 and 100")
	}
	if offset < 0 || offset > 1_000_000 {
		return fault.Invalid("offset", "must be between 0 and 1000000")
	}
	return nil
}

// ParseOptInt reads an optional integer parameter named field: "" is 0.
func ParseOptInt(field, v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fault.Invalid(field, "must be an integer")
	}
	return n, nil
}

// ParseRev reads a settings form's hidden revision (the revision of the
// settings the form was drawn from, SaveDocNext) into *rev; an empty one
// leaves *rev as it is (the settings as they are now). Anything but a
// whole number is a 400 on field rev.
func ParseRev(v string, rev *int64) error {
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fault.Invalid("rev", "must be a whole number")
	}
	*rev = n
	return nil
}

// ParsePage reads a list call's ?limit and ?offset texts: absent is 0 (the
// default page, see CheckPage), and a limit given as 0 is refused.
func ParsePage(limitText, offsetText string) (limit, offset int, err error) {
	if limit, err = ParseOptInt("limit", limitText); err != nil {
		return 0, 0, err
	}
	if limitText != "" && limit == 0 {
		return 0, 0, fault.Invalid("limit", "must be between 1 and 100")
	}
	offset, err = ParseOptInt("offset", offsetText)
	return limit, offset, err
}
