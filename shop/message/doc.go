// Package message owns how a shop talks to its fans: the audience records
// segments select from, segments with a live count, campaigns (text,
// image-and-link article, template message) sent now or on a schedule,
// one delivery record per recipient, WeChat's quotas applied before
// sending, transactional notices (order paid and shipped, commission,
// points about to expire, the check-in reminder), the storefront inbox
// holding everything sent to a fan, and the fan's marketing opt-out.
//
// # Choosing a channel, before sending
//
// For each recipient of a text or article campaign, in order:
//   - opted out of marketing: skipped, with that reason;
//   - follows the shop's WeChat account, inside the customer-service window
//     (48 hours after the fan's last message, 5 messages; 1 minute after a
//     follow, scan or menu click, 3): one message is taken from that
//     allowance (a conditional update on the fan, shop/fan's ReserveReply)
//     and sent as a customer-service message;
//   - follows, outside the window, fewer than 4 broadcasts this month: one
//     is taken from the fan's monthly broadcast allowance (a conditional
//     update on the audience record) and the fan joins a broadcast to an
//     openid list (at least two fans per request; WeChat's rule for a
//     service account is 4 a month per fan);
//   - otherwise the storefront inbox when the campaign falls back to it,
//     else skipped with the reason (not following, window closed and
//     broadcasts used up).
//
// Template messages are service notices, never marketing: a template
// campaign must say it is a service notice, and goes to followers only
// (the rest fall back to the inbox). Everything that reaches a fan, by any
// channel, is also in their inbox.
//
// # Exactly once, and crashes
//
//   - A campaign's recipients are materialised page by page (the segment
//     read by fan id after a cursor): deliveries are inserted keyed by
//     (campaign, fan), so a page inserted twice after a crash adds nothing,
//     then the cursor advances by a conditional update.
//   - A delivery is claimed (queued -> sending, conditional) before it is
//     sent, and finished (sending -> sent/failed/skipped) after, so two
//     dispatchers never send one delivery. One dispatcher runs per shop:
//     a lease across replicas, a flag within the process.
//   - A delivery left "sending" by a crash is resolved by its channel. A
//     broadcast is resent with the same clientmsgid (its batch id), which
//     WeChat de-duplicates, so it reaches the fan once; an inbox copy is a
//     keyed insert, so it is made again safely. A customer-service or
//     template message has no such key at WeChat: whether it left is
//     unknown, so it is marked failed ("interrupted while sending") rather
//     than risk a duplicate. Only the one message a dispatcher had in
//     flight at the instant of the crash can be in that state.
//   - Notices are deliveries keyed by their cause ("order-paid:<order>"),
//     inserted once however often the event is redelivered, and sent by
//     the same dispatcher.
//   - A purchase counts once per fan and order (a keyed insert, then the
//     count is recomputed from those records, not incremented).
package message

// Where things are, one concept a file:
//   - message.go: the words (kinds, statuses, channels, WeChat's limits) and
//     Delivery; audience.go, rule.go, segment.go, campaign.go, notice.go,
//     inbox.go, settings.go: each concept's types and Service methods;
//     validate.go: the checks they share; service.go: the Service itself.
//   - dispatch.go runs the dispatcher and records outcomes;
//     dispatch_notice.go, dispatch_campaign.go and broadcast.go send;
//     recover.go resolves what a dead dispatcher left; sender.go is WeChat.
//   - store.go is the Store (and the settings documents), schema.go its
//     tables, store_sqlite.go and store_mongo*.go its two engines.
//   - routes.go mounts every address; api.go, admin.go (admin_form.go) and
//     storefront.go are the handlers, handlers.go what they share.
