package framework

import (
	"context"
	"time"
)

// RunPolicyReload loads the policy again from Config.PolicyAdapter every
// Config.PolicyReloadInterval until ctx ends, so that a change saved by
// any instance sharing the database takes effect here too; run it in its
// own goroutine. Without a PolicyAdapter (a file or text policy does not
// change under a running app) it returns at once. Failures are logged and
// the last good policy stays in force.
func (a *App) RunPolicyReload(ctx context.Context) {
	if a.enforcer == nil || a.cfg.PolicyAdapter == nil {
		return
	}
	t := time.NewTicker(a.cfg.PolicyReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.enforcer.Reload(); err != nil {
				a.cfg.Logger.ErrorContext(ctx, "policy reload failed", "error", err)
			}
		}
	}
}
