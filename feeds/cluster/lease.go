package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Leases: work one live hub does for all (scraping a node_exporter) is
// owned through a key in a JetStream KV bucket whose values live for the
// lease. The owner writes its key again every third of the lease; a hub
// that is not the owner tries to create the key, which succeeds only once
// the owner has not written it for a whole lease (it died or was cut off).
//
// A bucket's TTL is all its keys', so each lease duration has its own
// bucket: a hub holding a 10 s lease must not stretch a 2 s one.
const leaseBucket = "VIGIL_LEASES"

func leaseBucketFor(lease time.Duration) string {
	return fmt.Sprintf("%s_%d", leaseBucket, lease.Milliseconds())
}

// Hold runs work while this hub owns name, until ctx ends: work's context
// ends when the lease is lost (not renewed in time); work runs again when
// it is won back. Ownership moves within lease of its owner's death.
func (j *Journal) Hold(ctx context.Context, name string, lease time.Duration, work func(ctx context.Context)) {
	// The journal closed, the hub is going: so is its work.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(j.ctx, cancel)()
	var b [8]byte
	rand.Read(b[:])
	self := []byte(hex.EncodeToString(b[:]))
	var kv jetstream.KeyValue
	for ctx.Err() == nil {
		if kv == nil {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			k, err := j.js.CreateOrUpdateKeyValue(cctx, jetstream.KeyValueConfig{Bucket: leaseBucketFor(lease), TTL: lease, Replicas: j.opts.Replicas, Storage: jetstream.MemoryStorage})
			cancel()
			if err != nil {
				j.log.Debug("cluster: the lease bucket", "err", err)
				sleepCtx(ctx, lease/5)
				continue
			}
			kv = k
			j.mu.Lock()
			if j.leaseBuckets == nil {
				j.leaseBuckets = map[string]bool{}
			}
			j.leaseBuckets[leaseBucketFor(lease)] = true
			j.mu.Unlock()
		}
		cctx, cancel := context.WithTimeout(ctx, lease/3)
		rev, err := kv.Create(cctx, name, self)
		cancel()
		if err != nil {
			if !errors.Is(err, jetstream.ErrKeyExists) {
				j.log.Debug("cluster: taking a lease", "lease", name, "err", err)
			}
			sleepCtx(ctx, lease/5)
			continue
		}
		j.log.Info("cluster: this hub owns the lease", "lease", name)
		j.holding(name, true)
		j.own(ctx, kv, name, self, rev, lease, work)
		j.holding(name, false)
	}
}

// own runs work and renews the lease until it cannot, or ctx ends.
func (j *Journal) own(ctx context.Context, kv jetstream.KeyValue, name string, self []byte, rev uint64, lease time.Duration, work func(ctx context.Context)) {
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); work(wctx) }()
	defer func() { stop(); <-done }()
	renewed := time.Now()
	tick := time.NewTicker(lease / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			// Let another hub take it at once rather than after a lease.
			dctx, cancel := context.WithTimeout(context.Background(), time.Second)
			kv.Delete(dctx, name, jetstream.LastRevision(rev))
			cancel()
			return
		case <-tick.C:
		}
		// A renewal answered after the lease ran out may race a hub that
		// took it: stop unless it lands in time.
		cctx, cancel := context.WithDeadline(ctx, renewed.Add(lease*2/3))
		r, err := kv.Update(cctx, name, self, rev)
		cancel()
		if err == nil {
			rev, renewed = r, time.Now()
			continue
		}
		if errors.Is(err, jetstream.ErrKeyExists) || time.Since(renewed) > lease*2/3 {
			j.log.Warn("cluster: lost a lease", "lease", name, "err", err)
			return
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(jitter(d)):
	}
}

// holding records the leases this hub owns, for ClusterStatus.
func (j *Journal) holding(name string, held bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.leases == nil {
		j.leases = map[string]bool{}
	}
	if held {
		j.leases[name] = true
	} else {
		delete(j.leases, name)
	}
}
