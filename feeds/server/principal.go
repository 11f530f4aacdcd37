package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Principal is who a connection acts as when the hub's own front end (the
// SSH server, which authenticated a key) vouches for it instead of a bearer
// token. Only an in-process listener can put one on a request's context: a
// remote peer has no way to set it.
type Principal struct {
	Actor    string // the actor of every command on the connection
	ReadOnly bool   // may watch; every command is refused
	Via      string // protocol.ViaSSH
	Key      string // the fingerprint of the key it authenticated with
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p, for an http.Server's ConnContext.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// authorize decides a handshake: a vouched connection is authorized unless
// read-only, whatever token it carries, and is never an agent; any other is
// admitted by its bearer token.
func (h *Hub) authorize(r *http.Request) (authorized bool, grant *AgentGrant, refuse bool, vouched *Principal) {
	if p, ok := r.Context().Value(principalKey{}).(Principal); ok {
		return !p.ReadOnly, nil, false, &p
	}
	authorized, grant, refuse = h.admit(bearer(r))
	return authorized, grant, refuse, nil
}

// vouch makes cmd the principal's: its actor is the principal's whatever the
// client wrote, so a session cannot act as someone else. A read-only
// principal's command gets its refusal here, with a message that says why.
func (p *Principal) vouch(cmd *protocol.Command) (refusal []byte, refused bool) {
	if p == nil {
		return nil, false
	}
	if p.ReadOnly {
		msg := "read-only key: " + p.Actor + " can watch, not act"
		return protocol.MustEncode(&protocol.Nack{ID: cmd.ID, Code: protocol.CodeForbidden, Error: msg}), true
	}
	cmd.Actor = p.Actor
	return nil, false
}

// SignedIn journals that actor began a session through the hub's own
// front end, with the key's fingerprint: the journal says which key each
// name's actions came from.
func (h *Hub) SignedIn(actor, via, key string, readOnly bool) {
	what := "acting"
	if readOnly {
		what = "watching"
	}
	h.record(protocol.Entry{Actor: actor, Kind: protocol.EntrySystem,
		Text: fmt.Sprintf("%s signed in over %s with key %s, %s", actor, via, key, what)})
}
