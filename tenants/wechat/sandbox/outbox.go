package sandbox

import "time"

// The outbox: every message an account sent, or tried to send, kept for
// the console.

// Sent is one message the account sent (or tried to send), as the sandbox
// outbox shows it.
type Sent struct {
	At       time.Time         `json:"at"`
	Kind     string            `json:"kind"` // custom, template, mass, passive
	To       string            `json:"to"`
	Text     string            `json:"text,omitempty"`
	Template string            `json:"template,omitempty"`
	Data     map[string]string `json:"data,omitempty"`
	ErrCode  int               `json:"errcode"`
	ErrMsg   string            `json:"errmsg,omitempty"`
}

// Delivered reports whether WeChat accepted the message.
func (s Sent) Delivered() bool { return s.ErrCode == 0 }

// record adds m to the outbox, keeping the last outboxKeep.
func (a *app) record(m Sent) {
	a.outbox = append(a.outbox, m)
	if len(a.outbox) > outboxKeep {
		a.outbox = a.outbox[len(a.outbox)-outboxKeep:]
	}
}

// Outbox returns what the account sent, newest first.
func (s *Simulator) Outbox(appID string) []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appID]
	if a == nil {
		return nil
	}
	out := make([]Sent, len(a.outbox))
	for i, m := range a.outbox {
		out[len(out)-1-i] = m
	}
	return out
}
