package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
)

// workspace prepares a scenario: the module root (to build the server
// from), a temporary directory, and the machine line every report starts
// with. cleanup removes the directory (unless -keep) and reports a removal
// error through *err if the scenario had none.
func workspace(ctx context.Context, o options, name string) (root, tmp string, cleanup func(err *error), err error) {
	root, err = moduleRoot(ctx)
	if err != nil {
		return "", "", nil, err
	}
	prefix, label := "microshop-bench-", ""
	if name != "" {
		prefix, label = "microshop-bench-"+name+"-", ", "+name
	}
	tmp, err = os.MkdirTemp("", prefix)
	if err != nil {
		return "", "", nil, err
	}
	cleanup = func(err *error) {
		if o.keepTemp {
			fmt.Printf("kept %s\n", tmp)
			return
		}
		if rerr := os.RemoveAll(tmp); rerr != nil && *err == nil {
			*err = rerr
		}
	}
	fmt.Printf("microshop bench%s: %s/%s, %d CPUs (GOMAXPROCS %d), %s\n",
		label, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	return root, tmp, cleanup, nil
}
