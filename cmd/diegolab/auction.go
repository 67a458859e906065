package main

import (
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/spf13/cobra"

	"github.com/diegolab/diegolab/model/auction"
)

func init() { register(newAuctionCmd) }

func newAuctionCmd() *cobra.Command {
	var statePath, algName, outPath string
	var seed uint64
	cmd := &cobra.Command{
		Use:   "auction --state STATE.json [--algorithm NAME] [--out RESULT.json] [--seed N]",
		Short: "Run one auction batch on a JSON cell state and print where each item goes",
		Long: `auction runs one batch of Diego's auction on the cells and work in STATE.json and
writes RESULT.json (to stdout without --out): for every LRP instance and task, in input
order, the winning cell or Diego's placement error. The schema is in docs/auction-json.md.

Algorithms: ` + fmt.Sprint(auction.Names()) + ` (default diego, exact).
--seed seeds the random stream of randomised algorithms (random, power-of-two).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if statePath == "" {
				return usagef("auction: --state is required")
			}
			alg, err := auction.New(algName)
			if err != nil {
				return usagef("auction: %v", err)
			}
			data, err := os.ReadFile(statePath)
			if err != nil {
				return usagef("auction: %v", err)
			}
			in, err := auction.DecodeInput(data)
			if err != nil {
				return usagef("auction: %s: %v", statePath, err)
			}
			res := in.State.Schedule(in.Batch, alg, rand.New(rand.NewPCG(seed, 0x6175637469)))
			out, err := auction.EncodeResults(res)
			if err != nil {
				return fmt.Errorf("auction: encoding results: %w", err)
			}
			if outPath == "" {
				_, err = cmd.OutOrStdout().Write(out)
				return err
			}
			if err := os.WriteFile(outPath, out, 0o644); err != nil {
				return fmt.Errorf("auction: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&statePath, "state", "", "cell state and batch (STATE.json)")
	cmd.Flags().StringVar(&algName, "algorithm", auction.DefaultAlgorithm, "placement algorithm")
	cmd.Flags().StringVar(&outPath, "out", "", "write RESULT.json here instead of stdout")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the random stream")
	return cmd
}
