package framework

// warnUngranted logs a warning for every registered resource on which the
// policy grants nothing, so that each of its requests would be refused: a
// resource left out of the policy, or a policy line naming it wrongly. It
// runs when the routes are mounted, the first point at which every
// resource is known; New runs before Register. With Config.Authorizer
// there is no policy to look at.
func (a *App) warnUngranted() {
	if a.enforcer == nil {
		return
	}
	names := make([]string, 0, len(a.resources))
	for _, r := range a.resources {
		names = append(names, r.desc.Name)
	}
	ungranted, err := a.enforcer.Ungranted(names)
	if err != nil {
		// A matcher using functions added after New cannot be tried
		// outside the enforcer; the check is a courtesy, so it gives up.
		a.cfg.Logger.Debug("could not check the policy covers every resource", "error", err)
		return
	}
	for _, name := range ungranted {
		a.cfg.Logger.Warn("no policy line grants any action on this resource, so every request to it will be refused; is it a mistake?",
			"resource", name, "model", a.byName[name].desc.ModelName)
	}
}
