package main

import (
	"flag"
	"io"
	"testing"

	"microshop/tenants/engine"
)

// TestPlacementFlags: new shops are pooled unless --mongodb-placement=own;
// the pool's name and size are checked.
func TestPlacementFlags(t *testing.T) {
	parse := func(env map[string]string, args ...string) (engine.Placement, error) {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		get := bindPlacement(fs, func(k string) string { return env[k] })
		if err := fs.Parse(args); err != nil {
			return engine.Placement{}, err
		}
		return get()
	}
	if p, err := parse(nil); err != nil || !p.Pooled || p.Pool != engine.DefaultPool || p.PerPool != engine.DefaultPerPool {
		t.Errorf("defaults: %+v %v", p, err)
	}
	if p, err := parse(nil, "--mongodb-placement=own"); err != nil || p.Pooled {
		t.Errorf("own: %+v %v", p, err)
	}
	if p, err := parse(map[string]string{"MICROSHOP_MONGODB_POOL": "small", "MICROSHOP_MONGODB_POOL_SIZE": "200"}); err != nil ||
		p.Pool != "small" || p.PerPool != 200 {
		t.Errorf("from the environment: %+v %v", p, err)
	}
	for _, args := range [][]string{{"--mongodb-placement=shared"}, {"--mongodb-pool=Big_Pool"}, {"--mongodb-pool-size=0"}} {
		if _, err := parse(nil, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
