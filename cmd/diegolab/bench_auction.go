package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"

	"github.com/spf13/cobra"
)

// auctionStateSize bounds the generator's arguments: far above the goals (10,000 cells,
// 1,000,000 items), low enough that a typo cannot fill the disk.
const (
	maxGenCells = 1_000_000
	maxGenItems = 100_000_000
	maxGenLRPs  = 1_000
)

func newBenchAuctionStateCmd() *cobra.Command {
	var cells, items, listed int
	var seed uint64
	var out string
	cmd := &cobra.Command{
		Use:   "auction-state --cells N --items M -o STATE.json",
		Short: "Write a large STATE.json for timing 'diegolab auction' (docs/auction-json.md)",
		Long: `auction-state writes a STATE.json (docs/auction-json.md) of --cells cells of 64 GB,
256 GB disk and 249 containers in 3 zones, each listing --listed LRP instances of 100
apps that it already runs, and a batch of --items items: nine LRP instances of 1,000
apps (64 MB to 1 GB) for each task (256 MB to 1 GB). Sizes are drawn from --seed.
'diegolab auction' on it measures the auction command as a user runs it:

  diegolab bench auction-state --cells 10000 --items 100000 -o /tmp/state.json
  /usr/bin/time diegolab auction --state /tmp/state.json --out /tmp/result.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case cells < 1 || cells > maxGenCells:
				return usagef("--cells %d: want 1 to %d", cells, maxGenCells)
			case items < 0 || items > maxGenItems:
				return usagef("--items %d: want 0 to %d", items, maxGenItems)
			case listed < 0 || listed > maxGenLRPs:
				return usagef("--listed %d: want 0 to %d", listed, maxGenLRPs)
			case out == "":
				return usagef("--out is required")
			}
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			w := bufio.NewWriterSize(f, 1<<20)
			writeAuctionState(w, cells, items, listed, seed)
			if err := w.Flush(); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&cells, "cells", 10000, "cells")
	fl.IntVar(&items, "items", 100000, "LRP instances and tasks to place")
	fl.IntVar(&listed, "listed", 10, "LRP instances already listed on each cell")
	fl.Uint64Var(&seed, "seed", 1, "seed of the sizes")
	fl.StringVarP(&out, "out", "o", "", "write STATE.json here")
	return cmd
}

// writeAuctionState writes the generated STATE.json (newBenchAuctionStateCmd), one cell
// or item per line.
func writeAuctionState(w io.Writer, cells, items, listed int, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x7374617465))
	zones := []string{"z1", "z2", "z3"}
	fmt.Fprint(w, "{\n\"settings\": {\"starting_container_weight\": 0.25, \"bin_pack_first_fit_weight\": 0},\n\"cells\": [\n")
	for c := 0; c < cells; c++ {
		used, disk := 0, 0
		var lrps []byte
		for j := 0; j < listed; j++ {
			m := 64 << r.IntN(5) // 64 MB .. 1 GB
			used, disk = used+m, disk+m
			if j > 0 {
				lrps = append(lrps, ',')
			}
			lrps = fmt.Appendf(lrps, `{"process_guid":"listed-%d","index":%d,"memory_mb":%d,"disk_mb":%d}`, r.IntN(100), c, m, m)
		}
		sep := ","
		if c == cells-1 {
			sep = ""
		}
		fmt.Fprintf(w, `{"id":"cell-%d","zone":%q,"index":%d,"total":{"memory_mb":65536,"disk_mb":262144,"containers":249},`+
			`"available":{"memory_mb":%d,"disk_mb":%d,"containers":%d},"rootfs_providers":["preloaded:cflinuxfs4","docker"],"lrps":[%s]}%s`+"\n",
			c, zones[c%len(zones)], c/len(zones), 65536-used, 262144-disk, 249-listed, lrps, sep)
	}
	fmt.Fprint(w, "],\n\"lrps\": [\n")
	nTasks := items / 10
	nLRPs := items - nTasks
	for i := 0; i < nLRPs; i++ {
		m := 64 << r.IntN(5) // 64 MB .. 1 GB, mean ~400 MB (as BenchmarkDiegoOneBatch1M)
		sep := ","
		if i == nLRPs-1 {
			sep = ""
		}
		fmt.Fprintf(w, `{"process_guid":"app-%d","index":%d,"memory_mb":%d,"disk_mb":%d,"rootfs":"preloaded:cflinuxfs4"}%s`+"\n", i%1000, i/1000, m, m, sep)
	}
	fmt.Fprint(w, "],\n\"tasks\": [\n")
	for i := 0; i < nTasks; i++ {
		m := 256 << r.IntN(3)
		sep := ","
		if i == nTasks-1 {
			sep = ""
		}
		fmt.Fprintf(w, `{"task_guid":"task-%d","memory_mb":%d,"disk_mb":%d,"rootfs":"docker:///busybox"}%s`+"\n", i, m, m, sep)
	}
	fmt.Fprint(w, "]\n}\n")
}
