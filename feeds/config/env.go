package config

import (
	"fmt"
	"strings"
)

// ErrorAt is an error at key (its path; index the element of an array of
// tables, or -1) with the key's line in the file the configuration was
// read from, for what is found after Parse: a variable, a file, a port.
func (c *Config) ErrorAt(key []string, index int, format string, args ...any) *Error {
	e := &Error{File: c.Path, Key: strings.Join(key, "."), Msg: fmt.Sprintf(format, args...)}
	if c.loc != nil {
		e.Line = c.loc.lineAt(key, index)
	}
	if e.File == "" {
		e.File = "(defaults)"
	}
	return e
}

// Secret reads the environment variable env that the file names at key
// (index as for ErrorAt). It is the one rule for every token and secret
// the configuration names (serve.token_env, [serve.report],
// [[serve.agents]], [serve.alertmanager], the channels' *_env): an empty
// name asks for nothing; a named variable that is unset or empty is an
// error naming the file, line, key and variable, since a hub or channel
// would otherwise run open, unauthenticated or unsigned.
func (c *Config) Secret(getenv func(string) string, key []string, index int, env string) (string, error) {
	if env == "" {
		return "", nil
	}
	v := strings.TrimSpace(getenv(env))
	if v == "" {
		return "", c.ErrorAt(key, index, "$%s is unset or empty; set it, or remove it from the file (tokens and secrets are read only from the environment)", env)
	}
	return v, nil
}

// Secrets are the tokens [serve] names, read by Secret.
type Secrets struct {
	ServeTokens       []string // serve.token_env, in order
	AgentTokens       []string // [[serve.agents]] token_env, one per grant
	ReportToken       string   // [serve.report] token_env
	AlertmanagerToken string   // [serve.alertmanager] token_env; "" when none is named
}

// Secrets reads every token variable [serve] names for the role it runs
// (an agent reads its report token, a hub the rest), and returns every
// unset one as an error.
func (c *Config) Secrets(getenv func(string) string) (Secrets, error) {
	var out Secrets
	var errs Errors
	read := func(key []string, index int, env string) string {
		v, err := c.Secret(getenv, key, index, env)
		if err != nil {
			errs = append(errs, err.(*Error))
		}
		return v
	}
	s := c.Serve
	if s.Reporting() {
		key := []string{"serve", "report", "token_env"}
		if s.Report.TokenEnv == "" {
			errs = append(errs, c.ErrorAt(key, -1, "expected the name of the environment variable holding the agent token"))
		}
		out.ReportToken = read(key, -1, s.Report.TokenEnv)
		return out, errsOrNil(errs)
	}
	for _, env := range s.TokenEnv {
		out.ServeTokens = append(out.ServeTokens, read([]string{"serve", "token_env"}, -1, env))
	}
	for i, g := range s.Agents {
		out.AgentTokens = append(out.AgentTokens, read([]string{"serve", "agents", "token_env"}, i, g.TokenEnv))
	}
	if am := s.Alertmanager; am != nil {
		out.AlertmanagerToken = read([]string{"serve", "alertmanager", "token_env"}, -1, am.TokenEnv)
	}
	return out, errsOrNil(errs)
}

func errsOrNil(errs Errors) error {
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// FeedTokens reads each [[feeds]] token_env by Secret's rule, one token
// per feed ("" where none is named).
func (c *Config) FeedTokens(getenv func(string) string) ([]string, error) {
	tokens := make([]string, len(c.Feeds))
	var errs Errors
	for i, f := range c.Feeds {
		v, err := c.Secret(getenv, []string{"feeds", "token_env"}, i, f.TokenEnv)
		if err != nil {
			errs = append(errs, err.(*Error))
		}
		tokens[i] = v
	}
	return tokens, errsOrNil(errs)
}
