package framework

import (
	"context"
	"time"
)

// RunPolicyReload loads the policy again from Config.PolicyAdapter every
// Config.PolicyReloadInterval until ctx ends, so that a change saved by
// any instance sharing the database takes effect here too; run it in its
// own goroutine. Without a PolicyAdapter (a file or text policy does not
// change under a running app) it returns at once. A failed load, such as
// a malformed line in the policy table, changes nothing: the last good
// policy stays in force, and the failure is logged as an error, once
// until it changes or the policy loads again.
func (a *App) RunPolicyReload(ctx context.Context) {
	if a.enforcer == nil || a.cfg.PolicyAdapter == nil {
		return
	}
	t := time.NewTicker(a.cfg.PolicyReloadInterval)
	defer t.Stop()
	failing := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := a.enforcer.Reload()
			a.policyStale.Store(err != nil)
			switch {
			case err != nil && err.Error() != failing:
				failing = err.Error()
				a.cfg.Logger.ErrorContext(ctx, "policy reload failed; the previous policy stays in force", "error", err)
			case err == nil && failing != "":
				failing = ""
				a.cfg.Logger.InfoContext(ctx, "policy reloaded again")
			}
		}
	}
}
