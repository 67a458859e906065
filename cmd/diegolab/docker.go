package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/live"
)

// dockerPasswordEnv holds a private image's password, as for cf push.
const dockerPasswordEnv = "CF_DOCKER_PASSWORD"

// dockerFlags are push's Docker flags.
type dockerFlags struct {
	image, user string
	cache       bool
}

func (d *dockerFlags) bind(f *pflag.FlagSet) {
	f.StringVarP(&d.image, "docker-image", "o", "", "Docker image to run: [HOST:PORT/]REPOSITORY[:TAG] (short names: the cluster's upstream registry)")
	f.StringVar(&d.user, "docker-username", "", "user of a private image (password from $"+dockerPasswordEnv+")")
	f.BoolVar(&d.cache, "docker-cache", false, "copy the image into the private registry cache at staging (default: the cluster's, live up --registry-cache)")
}

// push returns the push's Docker part (nil without --docker-image).
func (d *dockerFlags) push(cmd *cobra.Command, path string) (*api.DockerPush, error) {
	if d.image == "" {
		if d.user != "" || cmd.Flags().Changed("docker-cache") {
			return nil, usagef("--docker-username and --docker-cache need --docker-image")
		}
		return nil, nil
	}
	if path != "" {
		return nil, usagef("--path and --docker-image exclude each other")
	}
	if cmd.Flags().Changed("buildpack") {
		return nil, usagef("--buildpack does not apply to --docker-image")
	}
	p := &api.DockerPush{Image: d.image, Username: d.user}
	if d.user != "" {
		p.Password = os.Getenv(dockerPasswordEnv)
		if p.Password == "" {
			return nil, usagef("--docker-username %s: set the password in $%s", d.user, dockerPasswordEnv)
		}
	}
	if cmd.Flags().Changed("docker-cache") {
		c := d.cache
		p.Cache = &c
	}
	return p, nil
}

func newLiveRegistryCmd(dir *string) *cobra.Command {
	c := &cobra.Command{
		Use:   "registry",
		Short: "The live cluster's OCI registries (live up --registries): outages, moving tags, counters",
	}
	var o live.RegistryOptions
	serve := &cobra.Command{
		Use:    "serve",
		Short:  "Run the upstream and cache registries (the supervisor starts it)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := filepath.Abs(*dir)
			if err != nil {
				return err
			}
			o.Dir, o.Stack = filepath.Join(d, "registry"), filepath.Join(d, "stack")
			if o.Token, err = readTokenFile("client token", filepath.Join(d, "client.token")); err != nil {
				return err
			}
			o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
			ctx, cancel := signalContext()
			defer cancel()
			return live.ServeRegistries(ctx, o)
		},
	}
	sf := serve.Flags()
	sf.StringVar(&o.UpstreamListen, "upstream-listen", "127.0.0.1:0", "upstream registry address (loopback)")
	sf.StringVar(&o.CacheListen, "cache-listen", "127.0.0.1:0", "cache registry address (loopback)")
	sf.StringVar(&o.Control, "control-listen", "127.0.0.1:0", "control API address (loopback)")
	var which string
	outage := &cobra.Command{
		Use:   "outage on|off",
		Short: "Make a registry refuse every request (503) or serve again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "on" && args[0] != "off" {
				return usagef("outage %q: want on or off", args[0])
			}
			if which != "upstream" && which != "cache" {
				return usagef("--registry %q: want upstream or cache", which)
			}
			cl, _, err := live.RegistryClient(*dir)
			if err != nil {
				return err
			}
			q := fmt.Sprintf("/outage?registry=%s&on=%v", which, args[0] == "on")
			if err := cl.Do(context.Background(), http.MethodPost, q, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s registry outage %s\n", which, args[0])
			return nil
		},
	}
	outage.Flags().StringVar(&which, "registry", "upstream", "upstream or cache")
	var content string
	tag := &cobra.Command{
		Use:   "tag IMAGE",
		Short: "Move a seeded image's tag to a new digest (" + live.HelloImage + " serves the --content text)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, _, err := live.RegistryClient(*dir)
			if err != nil {
				return err
			}
			var out map[string]string
			if err := cl.Do(context.Background(), http.MethodPost, "/tag", live.TagRequest{Image: args[0], Content: content}, &out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s -> %s\n", args[0], out["digest"])
			return nil
		},
	}
	tag.Flags().StringVar(&content, "content", "v2", "text the image's page serves")
	stats := &cobra.Command{
		Use:   "stats",
		Short: "Print the registries' addresses and counters (blob bytes served, manifests, credential uses, refusals)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, addrs, err := live.RegistryClient(*dir)
			if err != nil {
				return err
			}
			var st live.RegistryStats
			if err := cl.Do(context.Background(), http.MethodGet, "/stats", nil, &st); err != nil {
				return err
			}
			b, _ := json.MarshalIndent(struct {
				Addrs live.RegistryAddrs `json:"addresses"`
				Stats live.RegistryStats `json:"stats"`
			}{addrs, st}, "", "  ")
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return nil
		},
	}
	c.AddCommand(serve, outage, tag, stats)
	return c
}
