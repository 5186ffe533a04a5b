// Package distribution will own shopping guides and their QR codes,
// attribution, the referral tree, commission rules and the commission
// ledger (see the distribution issue). It may import shop; shop never
// imports it.
package distribution
