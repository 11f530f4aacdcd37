package state

// tokenHint tells a person refused for want of a token where the
// dashboard looks for one: the variable, and whether it held anything.
func tokenHint(h *Health) string {
	switch {
	case h == nil:
		return ""
	case h.TokenEnv == "":
		return "; the dashboard sends no token to feed " + h.Feed + ": name the variable that holds it with token_env in the feed's [[feeds]] section"
	case !h.TokenSent:
		return "; the dashboard reads the token from $" + h.TokenEnv + ", which is empty or unset"
	}
	return "; the token in $" + h.TokenEnv + " is not one the hub accepts"
}
