// Package wechat holds each shop's WeChat official-account settings and the
// client that talks to WeChat for it, built on
// github.com/silenceper/wechat/v2:
//
//   - Settings (app id, secret, token, EncodingAESKey, message mode) live in
//     the shop's own database, through the tenant-scoped accessors: they
//     belong to the shop, and nothing needs them before the request is
//     resolved to its shop (the push endpoint /wx/{slug} resolves the slug
//     first, like every storefront path). In sandbox mode a shop without
//     settings is given generated ones.
//   - Access tokens live in the platform database's shared cache, one entry
//     per shop and app, refreshed before expiry by one replica at a time
//     (a lease), and refreshed once more when WeChat says a token is stale
//     (errcode 40001/42001): see token.go. What the SDK caches itself
//     (JS-API tickets) shares that cache: see cache.go.
//   - An AppID is one shop's on the whole platform: saving settings claims
//     it in the platform's registry (a second shop gets a 409), generated
//     sandbox credentials are claimed too, and saving another AppID releases
//     the old one (the sandbox then forgets that account): see appid.go.
//   - Pushes are verified (plaintext and AES modes, with the previous
//     EncodingAESKey still accepted after a rotation; a timestamp more than
//     PushMaxSkew from now is refused) and parsed by the SDK's server: see
//     push.go. De-duplication and what a push means for a fan are shop/fan's
//     business.
//   - Parametric QR codes are issued through the QR API, cached per scene,
//     and rendered to PNG locally: see qr.go.
//   - The merchant API and the console page for all this: see web.go.
//
// The SDK's HTTP calls go through the process-wide util.SetURIModifier,
// which the server points at the in-process simulator (package sandbox)
// unless it runs with --wechat=live; this package never sets it.
package wechat
