package message

import (
	"context"
	"strings"

	"microshop/tenants/fault"
)

// Settings are a shop's messaging settings.
type Settings struct {
	// Rate is how many messages a second the dispatcher sends for the shop.
	Rate int `json:"rate" bson:"rate"`
	// Templates maps notice kinds to the shop's WeChat template ids; a
	// notice without one goes to the inbox only.
	Templates map[string]string `json:"templates" bson:"templates"`
	// Rev counts the saves: a save of settings read at another revision
	// (another tab, another person, an API client) is refused, never
	// silently undone (Store.SaveSettings).
	Rev int64 `json:"rev" bson:"rev"`
}

// DefaultSettings are what a shop starts with.
func DefaultSettings() Settings { return Settings{Rate: 20, Templates: map[string]string{}} }

// Settings returns the shop's messaging settings.
func (s *Service) Settings(ctx context.Context, tenantID string) (Settings, error) {
	st, err := s.store.Settings(ctx, tenantID)
	return st, wrapf(err, "load message settings")
}

// SaveSettings checks and stores the shop's messaging settings.
func (s *Service) SaveSettings(ctx context.Context, tenantID string, st Settings) (Settings, error) {
	if st.Rate < 1 || st.Rate > 1000 {
		return Settings{}, fault.Invalid("rate", "must be between 1 and 1000 messages a second")
	}
	clean := map[string]string{}
	for k, v := range st.Templates {
		if _, ok := noticeText[k]; !ok {
			return Settings{}, fault.Invalid("templates", "%q is not a notice kind (%s)", fault.Clip(k, 40), strings.Join(NoticeKinds, ", "))
		}
		v = strings.TrimSpace(v)
		if len(v) > 64 || strings.ContainsAny(v, " \t\n") {
			return Settings{}, fault.Invalid("templates."+k, "is not a template id")
		}
		if v != "" {
			clean[k] = v
		}
	}
	st.Templates = clean
	if err := s.store.SaveSettings(ctx, tenantID, st); err != nil {
		return Settings{}, wrapf(err, "save message settings")
	}
	st.Rev++ // as stored
	return st, nil
}
