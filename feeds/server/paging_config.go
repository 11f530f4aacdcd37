package server

import (
	"fmt"

	"github.com/vigil-oncall/vigil/feeds/config"
	"github.com/vigil-oncall/vigil/feeds/publish"
)

// PagingFromConfig builds the hub's paging from [serve.paging] and what it
// names: the email channel's relay, the people's webhook channels (from
// senders, the configured channels), the acknowledge links' key in
// data_dir. Without [serve.paging] there is no paging (nil).
func PagingFromConfig(s config.Serve, senders map[string]publish.Sender) (*PagingOptions, error) {
	if s.Paging == nil {
		return nil, nil
	}
	secret, err := LoadPagingSecret(s.DataDir)
	if err != nil {
		return nil, fmt.Errorf("paging: the acknowledge links' key in %s: %w", s.DataDir, err)
	}
	po := &PagingOptions{Config: s.PagingConfig(), URL: s.Paging.URL, Secret: secret, Webhooks: map[string]publish.Sender{},
		Heartbeat: s.Paging.Heartbeat, HeartbeatEvery: s.Paging.HeartbeatInterval()}
	if name := s.Paging.Email; name != "" {
		e, ok := senders[name].(*publish.Email)
		if !ok {
			return nil, fmt.Errorf("serve.paging.email: %q is not an email channel", name)
		}
		po.Email = e
	}
	for _, p := range s.People {
		if p.Webhook != "" {
			po.Webhooks[p.Webhook] = senders[p.Webhook]
		}
	}
	return po, nil
}
