package cluster

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// secretBucket holds what every hub of a cluster must agree on and no
// outsider may read: it lives in the hubs' JetStream stores, on the disks
// that hold the journal, replicated like it.
const secretBucket = "VIGIL_SECRETS"

// SharedSecret is the cluster's value of name: mine, if this hub is the
// first to offer one, or the one another hub offered first. Every hub
// that asks gets the same bytes for as long as the cluster lives.
func (j *Journal) SharedSecret(ctx context.Context, name string, mine []byte) ([]byte, error) {
	kv, err := j.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: secretBucket, Replicas: j.opts.Replicas, History: 1})
	if err != nil {
		return nil, err
	}
	if _, err := kv.Create(ctx, name, mine); err == nil {
		return mine, nil
	} else if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil, err
	}
	e, err := kv.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return e.Value(), nil
}
