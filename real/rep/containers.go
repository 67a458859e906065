package rep

import (
	"context"
	"time"

	"github.com/diegolab/diegolab/real/executor"
)

// Executor is what the rep needs of real/executor: creating containers and clearing
// a previous life's. Tests run the rep against a fake (no root, no runc).
type Executor interface {
	Create(ctx context.Context, spec executor.ContainerSpec) (Container, error)
	Cleanup(ctx context.Context) error
	// Recover takes over the running containers a previous life of the rep left
	// (those adopt accepts) and cleans up the rest, as Cleanup does.
	Recover(ctx context.Context, adopt executor.Adopt) ([]Container, error)
}

// Container is one created container.
type Container interface {
	ID() string
	Start(ctx context.Context) error
	// Exited is closed when the container's process has exited.
	Exited() <-chan struct{}
	Wait(ctx context.Context) (executor.Exit, error)
	Stop(ctx context.Context, grace time.Duration) (executor.Exit, error)
	Destroy(ctx context.Context) error
	HostAddr(containerPort int) (string, error)
	Info() executor.Info
}

// runcExecutor adapts real/executor to Executor.
type runcExecutor struct{ *executor.Executor }

func (e runcExecutor) Create(ctx context.Context, spec executor.ContainerSpec) (Container, error) {
	c, err := e.Executor.Create(ctx, spec)
	if err != nil {
		return nil, err
	}
	return c, nil
}

var _ Container = (*executor.Container)(nil)

func (e runcExecutor) Recover(ctx context.Context, adopt executor.Adopt) ([]Container, error) {
	cs, err := e.Executor.Recover(ctx, adopt)
	out := make([]Container, 0, len(cs))
	for _, c := range cs {
		out = append(out, c)
	}
	return out, err
}
