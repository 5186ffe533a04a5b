package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	mongooptions "go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/distribution/tree"
	"microshop/tenants"
)

// distMongoDepth is the spine of the Mongo tree (FerretDB scans whole
// collections, so the tree is small: the root, a spine down to this depth).
const distMongoDepth = 1000

// distMongoOrders is how many orders are counted per group and level
// setting (the first of a fan is counted too).
const distMongoOrders = 3

// distMongo counts the database commands of one order (place + pay, events
// and commission delivered inline) for buyers bound at depth 1, 2 and 1,000,
// on FerretDB, under two levels and under one.
func distMongo(ctx context.Context, tmp string) (err error) {
	fmt.Println("== Mongo engine: database commands per order by the depth of the buyer's distributor (FerretDB 1.24 in this process, driver command monitor; not timed)")
	uri, stopFerret, err := ordersStartFerretDB(ctx, tmp+"/ferretdb")
	if err != nil {
		return err
	}
	defer func() {
		if serr := stopFerret(); serr != nil && err == nil {
			err = serr
		}
	}()
	cmds := &ordersCommands{}
	eng, err := tenants.OpenMongo(ctx, uri, "benchdist", mongooptions.Client().SetMonitor(cmds.monitor()), distSchemas...)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := eng.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	allSame := true
	for _, levels := range [][]int64{{1000, 500}, {1000}} {
		s, err := newDistShop(ctx, eng, levels)
		if err != nil {
			return err
		}
		step := time.Now()
		tr, err := s.build(ctx, distMongoDepth, distMongoDepth, nil)
		if err != nil {
			return err
		}
		fmt.Printf("%d level(s): a spine of %d distributors inserted in %s\n", len(levels), distMongoDepth, time.Since(step).Round(time.Millisecond))
		type row struct {
			name   string
			counts [][2][]string // per order: place, pay
		}
		var rows []row
		for _, g := range []struct {
			name string
			d    tree.Distributor
		}{{"depth 1", tr.root}, {"depth 2", tr.second}, {fmt.Sprintf("depth %d", tr.deepest.Depth), tr.deepest}} {
			fans, err := s.bind(ctx, g.d, 1)
			if err != nil {
				return err
			}
			r := row{name: g.name}
			for i := range distMongoOrders {
				p := s.products[i%len(s.products)]
				cmds.start()
				o, err := s.orders.Place(ctx, s.tenant.ID, fans[0], "", distPlaceRequest(p.ID))
				place := cmds.stop()
				if err != nil {
					return fmt.Errorf("%s: place: %w", g.name, err)
				}
				cmds.start()
				o, err = s.orders.SandboxConfirm(ctx, s.sandbox, s.tenant.ID, fans[0], o.ID)
				pay := cmds.stop()
				if err != nil {
					return fmt.Errorf("%s: pay: %w", g.name, err)
				}
				if len(o.Attribution.Path) != min(len(levels), g.d.Depth) {
					return fmt.Errorf("%s: path %v", g.name, o.Attribution.Path)
				}
				r.counts = append(r.counts, [2][]string{place, pay})
			}
			rows = append(rows, r)
		}
		// Steady state: every order after a fan's first.
		steady := func(r row) [2][]string { return r.counts[1] }
		for _, r := range rows {
			for _, c := range r.counts[1:] {
				if !slices.Equal(c[0], steady(r)[0]) || !slices.Equal(c[1], steady(r)[1]) {
					allSame = false
				}
			}
		}
		fmt.Printf("  %-14s %-26s %s\n", "buyer bound at", "place + pay = total", "first order of the fan")
		for _, r := range rows {
			c := steady(r)
			f := r.counts[0]
			fmt.Printf("  %-14s %-26s %d + %d = %d\n", r.name, fmt.Sprintf("%d + %d = %d", len(c[0]), len(c[1]), len(c[0])+len(c[1])),
				len(f[0]), len(f[1]), len(f[0])+len(f[1]))
		}
		deep, two := steady(rows[2]), steady(rows[1])
		equal := slices.Equal(deep[0], two[0]) && slices.Equal(deep[1], two[1])
		if len(levels) == 1 {
			one := steady(rows[0])
			equal = equal && slices.Equal(deep[0], one[0]) && slices.Equal(deep[1], one[1])
		}
		verdict := "PASS: the same commands, in the same order, at every depth with the same number of levels paid"
		if !equal {
			verdict = "MISS: the commands differ with depth"
			allSame = false
		}
		fmt.Printf("  %s\n", verdict)
		fmt.Printf("  one order at depth %d, command by command:\n    place %2d: %s\n    pay   %2d: %s\n", tr.deepest.Depth,
			len(deep[0]), strings.Join(deep[0], ", "), len(deep[1]), strings.Join(deep[1], ", "))
		if len(levels) == 2 {
			one := steady(rows[0])
			fmt.Printf("  depth 1 pays one level (no upline): %d commands fewer than depth 2\n", len(two[0])+len(two[1])-len(one[0])-len(one[1]))
		}
	}
	if !allSame {
		return fmt.Errorf("commands per order vary with depth or between orders")
	}
	return nil
}
