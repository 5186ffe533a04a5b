// Package sandbox is an in-process WeChat: the official-account API the SDK
// calls (tokens, QR tickets, customer-service, template and broadcast
// messages, web OAuth), the fans' side (a fake fan scans a QR code,
// follows, unfollows, writes), and the console's "sandbox phone" that
// drives the fans' side and delivers each action as a correctly signed
// push to the shop's real /wx/{slug} endpoint.
//
// The server points the SDK at it with util.SetURIModifier(sim.Rewrite)
// when it runs with --wechat=sandbox (the default, and always in tests), so
// the code path is the one production runs against api.weixin.qq.com. It
// speaks WeChat's formats and enforces the rules that matter to a shop:
// a token fetch invalidates the previous token (after a 5-minute overlap),
// customer-service messages only within 48 hours of the fan's last message
// (5 of them) or a minute after a follow or scan (3), template fields,
// broadcast quotas (4 a month per fan, 60 requests a minute, clientmsgid
// de-duplication), the permanent-QR cap. Every message sent is kept in a
// per-account outbox the console shows.
//
// Each account's state (secret, tokens, fans, outbox, QR codes) answers to
// its own credentials only: the AppSecret is learned from the account's
// first use, a wrong one is refused (40125) on the API and the console's
// phone and outbox show an account only to the shop whose settings hold its
// secret. The platform lets one shop only hold an AppID, and the server
// calls Forget when a shop gives one up, so the first use is the owner's.
//
// Its state is in memory, per process: a sandbox is for one server (and its
// tests), not for a fleet of replicas.
//
// One file per part of WeChat: simulator.go (the simulator and its
// accounts), routes.go (the API's paths), token.go, qr.go, message.go
// (customer-service and broadcast), template.go, outbox.go, oauth.go; the
// fans' side in fan.go and device.go; the console's phone in phone.go, and
// delivering its pushes in deliver.go.
package sandbox
