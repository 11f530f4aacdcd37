package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// The stream, and what each of its messages carries.
//
// One stream message is one journal record, or several (a group commit
// of the records a hub appended while its previous message was being
// replicated): the frames of the journal messages each command (or probe
// transition) caused, one per line, all or nothing. Each journal message keeps its own seq, so journal seqs
// and stream seqs differ once a record holds two messages: the record's
// first journal seq travels in the Vigil-Seq header, and every hub reads
// the stream in stream order, so every hub numbers every message alike.
// Appends are chained with Nats-Expected-Last-Sequence: a record lands
// only right after the record its hub validated it against, so a record
// at stream seq s+1 always starts at the journal seq after the record at
// s, and two hubs never both append from one view.
const (
	StreamName = "VIGIL_JOURNAL"
	subject    = "vigil.journal"
	hdrSeq     = "Vigil-Seq" // the record's first journal seq
	hdrRec     = "Vigil-Rec" // unique per append: a hub knows its own records by it
	hdrCmd     = "Vigil-Cmd" // the command id that caused it, if any
	// A message may carry several records (group commit): their message
	// counts ("2,1,1") and their command ids (a JSON array).
	hdrCounts = "Vigil-Counts"
	hdrCmds   = "Vigil-Cmds"
	// maxBatch bounds the records, and batchBytes the bytes, of one
	// stream message.
	maxBatch   = 256
	batchBytes = 4 << 20
	// metaJournal names the stream metadata key holding the cluster's
	// one journal id.
	metaJournal = "vigil_journal"
)

// Options tune the JetStream journal. The zero value is the default.
type Options struct {
	// Replicas of the stream: the cluster's size (3 or 5). Default 1.
	Replicas int
	// CommitTimeout is how long an append of a hub that reaches no
	// majority of its cluster waits for one before it is refused
	// (journal.ErrUnavailable). Default 5s.
	CommitTimeout time.Duration
	// ElectionWait is how long an append of a hub that does reach a
	// majority waits for the stream to take it (a new stream leader is
	// being elected: nats-server takes 4-9 s) before it is refused.
	// Default 30s.
	ElectionWait time.Duration
	// SegmentBytes of the hub's local copy (a file journal).
	SegmentBytes int64
	Logger       *slog.Logger
	// Quorum, if set, says whether this hub reaches a majority of the
	// cluster (Node.Quorum). Without one, a record is not even proposed:
	// a proposal a minority leader accepted could still be committed
	// once the cluster heals, after the command was refused.
	Quorum func() bool
	// Reaches, if set, says whether this hub's node has a route to the
	// named server (Node.Reaches): a stream reader on a server it no
	// longer reaches is replaced at once.
	Reaches func(server string) bool
	// Routed, if set, names the peers this hub's node has routes to now
	// (Node.Routed): WatchPeers and ClusterStatus read it.
	Routed func() []string
}

// Journal is the JetStream backend: the replicated stream is the journal;
// each hub keeps a local copy (a file journal in its data directory,
// fed only from the stream, in stream order) that answers every read, so
// replay and history cost what they cost on a single hub.
type Journal struct {
	js      jetstream.JetStream
	nc      *nats.Conn // core NATS: the live fleet (live.go)
	stream  jetstream.Stream
	replica *journal.Journal
	id      string
	opts    Options
	log     *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	reportMu sync.Mutex // one report at a time, in order

	mu        sync.Mutex
	cond      *sync.Cond
	next      uint64    // the journal seq the next Append assigns
	pending   []*record // appended here, not yet in the stream's order
	outq      []*report // what to tell OnDurable, in seq order
	tip       uint64    // stream seq an Append with nothing pending is based on
	consumed  uint64    // stream seq of the last record handed to the copy
	want      uint64    // the journal seq the copy expects next
	reported  uint64    // stream seq of the last record reported
	stamp     time.Time // when the stream stored the record being copied
	onDurable func([]journal.Message, error)
	starting  bool // Open's catch-up: reports go to nobody
	failed    error
	closed    bool
	iter      jetstream.MessagesContext
	// readerHost is the server the consumer reading the stream for this
	// hub lives on (an R1 consumer: placed on any of the stream's peers).
	readerHost string
	// leases are the names this hub owns now (lease.go).
	leases map[string]bool
	// watched are the peers WatchPeers has seen routed (peers.go).
	watched []string
	// leaseBuckets are the KV buckets this hub's leases live in.
	leaseBuckets map[string]bool
}

type recState int

const (
	queued recState = iota
	inflight
	acked
	doomed
)

// record is one append of this hub, from Append until the stream's order
// tells whether it landed.
type record struct {
	msgs       []journal.Message
	cmd        string
	data       []byte
	prevOwn    *record // the record of this hub it follows, if still pending
	prevStream uint64  // else: the stream seq it was validated after
	state      recState
	ackSeq     uint64
	batch      string // the Vigil-Rec of the stream message it was sent in
}

// report is one OnDurable call waiting its turn.
type report struct {
	msgs   []journal.Message
	err    error
	ready  bool   // a copied record: once the copy has it on disk
	copied bool   // a record of the stream (not a refusal)
	stream uint64 // its stream seq
	remote bool   // appended by another hub
	last   bool   // the last record of its stream message
}

var _ journal.Backend = (*Journal)(nil)
var _ journal.CatchUpper = (*Journal)(nil)

// Open opens the cluster's journal over nc (an in-process connection to
// this hub's node): it creates the stream if no hub has yet, waiting for
// the cluster's metadata leader with backoff (saying so in the log) until
// ctx ends; opens the local copy in dir; and brings it up to the stream's
// end before returning.
func Open(ctx context.Context, nc *nats.Conn, dir string, opts Options) (*Journal, error) {
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if opts.CommitTimeout <= 0 {
		opts.CommitTimeout = 5 * time.Second
	}
	if opts.ElectionWait <= 0 {
		opts.ElectionWait = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	j := &Journal{js: js, nc: nc, opts: opts, log: opts.Logger, starting: true}
	j.cond = sync.NewCond(&j.mu)
	if j.stream, j.id, err = ensureStream(ctx, js, opts, j.log); err != nil {
		return nil, err
	}
	// The copy belongs to this journal id: a stream made anew (another id)
	// starts a new copy rather than mixing two journals.
	j.replica, _, err = journal.OpenWith(filepath.Join(dir, "cluster-"+j.id), journal.Options{SegmentBytes: opts.SegmentBytes, Now: j.stampNow})
	if err != nil {
		return nil, err
	}
	j.replica.OnDurable(j.copied)
	last := j.replica.Seq()
	start, end, err := j.position(ctx, last)
	for wait := 100 * time.Millisecond; err != nil && !errors.Is(err, journal.ErrDamaged) && ctx.Err() == nil; wait = min(wait*2, 3*time.Second) {
		// The stream has no leader yet (its peers are starting): wait.
		j.log.Info("cluster journal: waiting for the stream's leader to find where this hub's copy ends", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(jitter(wait)):
		}
		start, end, err = j.position(ctx, last)
	}
	if err != nil {
		j.replica.Close()
		return nil, err
	}
	j.next, j.want = last+1, last+1
	j.consumed, j.tip, j.reported = start-1, start-1, start-1
	j.ctx, j.cancel = context.WithCancel(context.Background())
	j.wg.Add(2)
	go j.consume()
	go j.publisher()
	if err := j.waitReported(ctx, end); err != nil {
		j.Close()
		return nil, fmt.Errorf("cluster journal: catching up to seq %d of the stream: %w", end, err)
	}
	j.mu.Lock()
	j.starting = false
	j.mu.Unlock()
	j.log.Info("cluster journal open", "journal", j.id, "seq", j.replica.Seq(), "stream_seq", end, "replicas", opts.Replicas)
	return j, nil
}

// ensureStream finds the journal's stream or creates it, retrying while
// the cluster has no metadata leader (until enough peers are up).
func ensureStream(ctx context.Context, js jetstream.JetStream, opts Options, log *slog.Logger) (jetstream.Stream, string, error) {
	wait := 100 * time.Millisecond
	var lastLog time.Time
	for attempt := 1; ; attempt++ {
		// A request sent before the cluster elects its metadata leader
		// is never answered: wait for an answer no longer than publishTry,
		// and ask again.
		actx, cancel := context.WithTimeout(ctx, publishTry)
		s, err := js.Stream(actx, StreamName)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			var r [6]byte
			rand.Read(r[:])
			s, err = js.CreateStream(actx, jetstream.StreamConfig{
				Name: StreamName, Subjects: []string{subject},
				Storage: jetstream.FileStorage, Replicas: opts.Replicas,
				Retention: jetstream.LimitsPolicy, Discard: jetstream.DiscardNew,
				MaxMsgs: -1, MaxBytes: -1, MaxAge: 0, MaxMsgSize: -1,
				// Command ids seen this long ago are refused by the stream
				// too; older ones by the hub's own index (Applied).
				Duplicates: 10 * time.Minute,
				Metadata:   map[string]string{metaJournal: "j-" + hex.EncodeToString(r[:])},
			})
		}
		cancel()
		if err == nil {
			id := s.CachedInfo().Config.Metadata[metaJournal]
			if id == "" {
				return nil, "", fmt.Errorf("cluster journal: stream %s has no %s in its metadata: it was not made by vigil", StreamName, metaJournal)
			}
			if r := s.CachedInfo().Config.Replicas; r != opts.Replicas {
				log.Warn("cluster journal: the stream's replicas differ from this hub's cluster size", "stream_replicas", r, "cluster_size", opts.Replicas)
			}
			return s, id, nil
		}
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			continue // another hub created it first: look it up
		}
		if ctx.Err() != nil {
			return nil, "", fmt.Errorf("cluster journal: gave up waiting for the stream: %w (last: %v)", ctx.Err(), err)
		}
		if time.Since(lastLog) > 5*time.Second {
			log.Info("cluster journal: waiting for the cluster's metadata leader (a majority of the configured peers must be up and routed) to find or create the stream", "attempt", attempt, "err", err)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
		case <-time.After(jitter(wait)):
		}
		wait = min(wait*2, 3*time.Second)
	}
}

func jitter(d time.Duration) time.Duration {
	var b [1]byte
	rand.Read(b[:])
	return d/2 + time.Duration(int64(d)/2*int64(b[0])/255)
}

// position finds where the local copy ends in the stream: the stream seq
// to read from, and the stream's last seq now. A binary search over the
// records' first journal seqs (each read is one request). A read that
// fails (no stream leader yet) is an error to try again after, never
// taken for damage.
func (j *Journal) position(ctx context.Context, last uint64) (start, end uint64, err error) {
	ictx, cancel := context.WithTimeout(ctx, publishTry)
	info, err := j.stream.Info(ictx)
	cancel()
	if err != nil {
		return 0, 0, fmt.Errorf("cluster journal: %w", err)
	}
	end = info.State.LastSeq
	if last == 0 {
		return 1, end, nil
	}
	var searchErr error
	firstOf := func(seq uint64) uint64 {
		m, err := j.msgAt(ctx, seq)
		if err != nil {
			searchErr = err
			return 0
		}
		first, _ := strconv.ParseUint(m.Header.Get(hdrSeq), 10, 64)
		return first
	}
	// The lowest stream seq whose record starts after the copy's end.
	i := sort.Search(int(end), func(i int) bool { return searchErr != nil || firstOf(uint64(i)+1) > last })
	start = uint64(i) + 1
	fits := false
	switch {
	case searchErr != nil:
	case start <= end:
		fits = firstOf(start) == last+1
	default:
		fits, searchErr = j.endsAt(ctx, end, last)
	}
	if searchErr != nil {
		return 0, 0, fmt.Errorf("cluster journal: finding seq %d in the stream: %w", last, searchErr)
	}
	if !fits {
		return 0, 0, fmt.Errorf("%w: the local copy ends at seq %d, which is not the end of a record of stream %s; move %s aside to copy the journal again", journal.ErrDamaged, last, StreamName, j.replicaDir())
	}
	return start, end, nil
}

// endsAt reports whether the stream's record at seq ends at journal seq
// last.
func (j *Journal) endsAt(ctx context.Context, seq, last uint64) (bool, error) {
	if seq == 0 {
		return last == 0, nil
	}
	m, err := j.msgAt(ctx, seq)
	if err != nil {
		return false, err
	}
	first, _ := strconv.ParseUint(m.Header.Get(hdrSeq), 10, 64)
	return first+uint64(len(splitFrames(m.Data)))-1 == last, nil
}

// msgAt reads the stream's message at seq. Each read waits at most
// publishTry, as CatchUp's asks do: a request the stream's leader was not
// there to answer is never answered, and the next reaches the one elected.
func (j *Journal) msgAt(ctx context.Context, seq uint64) (*jetstream.RawStreamMsg, error) {
	ctx, cancel := context.WithTimeout(ctx, publishTry)
	defer cancel()
	return j.stream.GetMsg(ctx, seq)
}

func (j *Journal) replicaDir() string { return "cluster-" + j.id }

func (j *Journal) stampNow() time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stamp.IsZero() {
		return time.Now()
	}
	return j.stamp
}

// ID is the cluster's journal id: the same on every hub.
func (j *Journal) ID() string { return j.id }

// Seq is the newest seq in the local copy.
func (j *Journal) Seq() uint64 { return j.replica.Seq() }

// Oldest is the lowest seq held.
func (j *Journal) Oldest() uint64 { return j.replica.Oldest() }

// OnDurable sets the durability callback, and hands it what was copied
// since Open returned.
func (j *Journal) OnDurable(fn func([]journal.Message, error)) {
	j.mu.Lock()
	j.onDurable = fn
	j.mu.Unlock()
	j.pump()
}

// Failed is the error that stopped the journal, if any.
func (j *Journal) Failed() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.failed
}

// Append assigns the next seqs and queues the record for the stream. It
// is durable once the stream's order reaches it (a majority has it on
// disk) and the local copy has it; it is refused with ErrConflict when
// another hub's record got in first, ErrUnavailable when no majority
// answered within CommitTimeout.
func (j *Journal) Append(cmdID string, msgs ...protocol.Message) ([]journal.Message, error) {
	if len(msgs) == 0 {
		return nil, errors.New("journal: nothing to append")
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failed != nil {
		return nil, j.failed
	}
	if j.closed {
		return nil, errors.New("journal: closed")
	}
	out := make([]journal.Message, len(msgs))
	var data []byte
	for i, m := range msgs {
		seq := j.next + uint64(i)
		switch v := m.(type) {
		case *protocol.IncidentMsg:
			v.Seq = seq
		case *protocol.Entry:
			v.Seq = seq
		case *protocol.PageMsg:
			v.Seq = seq
		default:
			return nil, fmt.Errorf("journal: %T is not a journal message", m)
		}
		frame, err := protocol.Encode(m)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			data = append(data, '\n')
		}
		data = append(data, frame...)
		out[i] = journal.Message{Seq: seq, Msg: m, Frame: frame}
	}
	r := &record{msgs: out, cmd: cmdID, data: data}
	if n := len(j.pending); n > 0 {
		r.prevOwn = j.pending[n-1]
	} else {
		r.prevStream = j.tip
	}
	j.pending = append(j.pending, r)
	j.next += uint64(len(msgs))
	j.cond.Broadcast()
	return out, nil
}

// publisher sends this hub's records to the stream one at a time, each
// chained to the one before it by the stream seq it must follow.
func (j *Journal) publisher() {
	defer j.wg.Done()
	for {
		j.mu.Lock()
		var r *record
		for {
			if j.closed {
				j.mu.Unlock()
				return
			}
			r = j.nextToSend()
			if r != nil {
				break
			}
			j.cond.Wait()
		}
		expect := r.prevStream
		if r.prevOwn != nil {
			expect = r.prevOwn.ackSeq
		}
		batch := j.batchFromLocked(r)
		j.mu.Unlock()
		ack, err := j.publish(batch, expect)
		j.mu.Lock()
		for _, b := range batch {
			if b.state != inflight {
				continue // copied or refused meanwhile
			}
			if err == nil {
				b.state, b.ackSeq = acked, ack.Sequence
			} else {
				j.doomFromLocked(b, err)
			}
		}
		j.cond.Broadcast()
		j.mu.Unlock()
		j.pump()
	}
}

// batchFromLocked takes r and the records queued after it, each validated
// after the one before, into one stream message.
func (j *Journal) batchFromLocked(r *record) []*record {
	var id [8]byte
	rand.Read(id[:])
	batch := []*record{r}
	size := len(r.data)
	i := 0
	for j.pending[i] != r {
		i++
	}
	for _, next := range j.pending[i+1:] {
		if next.state != queued || next.prevOwn != batch[len(batch)-1] || len(batch) == maxBatch || size+len(next.data) > batchBytes {
			break
		}
		batch = append(batch, next)
		size += len(next.data) + 1
	}
	for _, b := range batch {
		b.state, b.batch = inflight, hex.EncodeToString(id[:])
	}
	return batch
}

// nextToSend is the first queued record, once the one before it landed.
func (j *Journal) nextToSend() *record {
	for _, r := range j.pending {
		switch r.state {
		case queued:
			if r.prevOwn != nil && r.prevOwn.state != acked {
				return nil
			}
			return r
		case inflight:
			return nil
		}
	}
	return nil
}

// publish sends one stream message until a majority stores it. A hub
// that reaches a majority of its peers waits through a stream leader's
// election (up to ElectionWait) rather than refuse; one cut off refuses
// after CommitTimeout. Each try waits at most publishTry for its answer:
// a try sent to a leader that died is never answered, and the next,
// with the same Nats-Msg-Id, reaches the new leader, which stores it
// once. A message of one command's record has the command id as its
// Nats-Msg-Id; a group's ids are checked by the hubs (Applied) once
// Nats-Expected-Last-Sequence has ordered them.
func (j *Journal) publish(batch []*record, expect uint64) (*jetstream.PubAck, error) {
	start := time.Now()
	out := outgoingOf(batch)
	wait := 20 * time.Millisecond
	for {
		var ack *jetstream.PubAck
		err := errNoQuorum
		quorate := j.opts.Quorum == nil || j.opts.Quorum()
		if quorate {
			ctx, cancel := context.WithTimeout(j.ctx, publishTry)
			ack, err = j.js.PublishMsg(ctx, out.msg(), jetstream.WithExpectLastSequence(expect), jetstream.WithMsgID(out.id), jetstream.WithRetryAttempts(0))
			cancel()
		}
		if err == nil {
			return out.stored(ack)
		}
		if wrongLastSequence(err) {
			return nil, fmt.Errorf("%w: %v", journal.ErrConflict, err)
		}
		limit := j.opts.CommitTimeout
		if quorate {
			limit = max(limit, j.opts.ElectionWait)
		}
		if j.ctx.Err() != nil || time.Since(start)+wait > limit {
			return nil, fmt.Errorf("%w: no majority of the cluster acknowledged within %s: %v", journal.ErrUnavailable, limit, err)
		}
		select {
		case <-j.ctx.Done():
		case <-time.After(jitter(wait)):
		}
		wait = min(wait*2, 250*time.Millisecond)
	}
}

// outgoing is the stream message a batch of this hub's records is sent
// as, the same on every try.
type outgoing struct {
	id   string // its Nats-Msg-Id
	cmd  string // the command id of the batch's first record
	data []byte
	hdr  nats.Header
}

// outgoingOf is batch's stream message: one record's frames, with its
// command id, or a group's, with each record's message count and command
// id.
func outgoingOf(batch []*record) *outgoing {
	r := batch[0]
	out := &outgoing{id: r.cmd, cmd: r.cmd, data: r.data, hdr: nats.Header{}}
	out.hdr.Set(hdrSeq, strconv.FormatUint(r.msgs[0].Seq, 10))
	out.hdr.Set(hdrRec, r.batch)
	if len(batch) == 1 {
		if r.cmd == "" {
			out.id = "rec-" + r.batch
		} else {
			out.hdr.Set(hdrCmd, r.cmd)
		}
		return out
	}
	out.id = "rec-" + r.batch
	out.data = nil
	var counts, cmds []string
	for i, b := range batch {
		if i > 0 {
			out.data = append(out.data, '\n')
		}
		out.data = append(out.data, b.data...)
		counts = append(counts, strconv.Itoa(len(b.msgs)))
		cmds = append(cmds, b.cmd)
	}
	cmdsJSON, _ := json.Marshal(cmds)
	out.hdr.Set(hdrCounts, strings.Join(counts, ","))
	out.hdr.Set(hdrCmds, string(cmdsJSON))
	return out
}

// msg is a try's message: its own, as publishing sets headers on it.
func (o *outgoing) msg() *nats.Msg {
	hdr := make(nats.Header, len(o.hdr))
	for k, v := range o.hdr {
		hdr[k] = slices.Clone(v)
	}
	return &nats.Msg{Subject: subject, Header: hdr, Data: o.data}
}

// stored is what the stream's ack means for the append.
func (o *outgoing) stored(ack *jetstream.PubAck) (*jetstream.PubAck, error) {
	if ack.Duplicate && o.id == o.cmd {
		// The command id is in the stream already: this command
		// through another hub, or an earlier try of this one whose
		// answer was lost. The copy will tell which; this append is
		// refused, and the command validated again finds it applied.
		return nil, fmt.Errorf("%w: command %s is already at stream seq %d", journal.ErrConflict, o.cmd, ack.Sequence)
	}
	// A duplicate of a rec- id is this hub's own earlier try (the id is
	// made per batch): stored once, where it says.
	return ack, nil
}

// wrongLastSequence reports whether the stream refused a message because
// another record landed after the one it was chained to.
func wrongLastSequence(err error) bool {
	var apiErr jetstream.JetStreamError
	if !errors.As(err, &apiErr) || apiErr.APIError() == nil {
		return false
	}
	switch apiErr.APIError().ErrorCode {
	case jetstream.JSErrCodeStreamWrongLastSequence, jetstream.JSErrCodeStreamWrongLastSequenceConstant:
		return true
	}
	return false
}

// publishTry bounds the wait for one try's answer.
const publishTry = time.Second

var errNoQuorum = errors.New("this hub reaches no majority of its cluster")

// doomFromLocked refuses r and every record of this hub after it (each
// was validated against the state r would have made), reusing their seqs.
func (j *Journal) doomFromLocked(r *record, err error) {
	i := 0
	for i < len(j.pending) && j.pending[i] != r {
		i++
	}
	if i == len(j.pending) {
		return
	}
	j.next = r.msgs[0].Seq
	for _, d := range j.pending[i:] {
		d.state = doomed
		j.outq = append(j.outq, &report{msgs: d.msgs, err: err, ready: true})
	}
	j.pending = j.pending[:i]
}

// The stream reader's timings. Its consumer is R1, on whichever of the
// stream's peers JetStream placed it: when that peer is lost, the hub
// reads nothing (and acks nothing) until it reads from another.
const (
	// readerCreateWait bounds creating a reader: a consumer placed on a
	// peer just lost never answers, and JetStream notices that peer gone
	// only after seconds; another try is placed again.
	readerCreateWait = time.Second
	// readerHeartbeat is how often an idle reader hears from its consumer:
	// two missed, it reads from another (the least nats.go allows). Its
	// host lost outright is noticed sooner, by the route going (Reaches).
	readerHeartbeat = 500 * time.Millisecond
	// readerWatch is how often the reader's host is checked.
	readerWatch = 50 * time.Millisecond
	// readerIdle is when JetStream drops a reader no one reads from (one
	// left behind on a peer that came back).
	readerIdle = time.Minute
)

// consume reads the stream in order from where the copy ends, for as
// long as the journal is open, through a consumer of its own: one that
// stops delivering (its host lost, a gap) is replaced by another from the
// record after the last one taken.
func (j *Journal) consume() {
	defer j.wg.Done()
	wait := 100 * time.Millisecond
	for j.ctx.Err() == nil {
		j.mu.Lock()
		from := j.consumed + 1
		j.mu.Unlock()
		cctx, cancel := context.WithTimeout(j.ctx, readerCreateWait)
		cons, err := j.js.CreateConsumer(cctx, StreamName, jetstream.ConsumerConfig{
			DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from,
			AckPolicy: jetstream.AckNonePolicy, MaxDeliver: -1,
			Replicas: 1, MemoryStorage: true, InactiveThreshold: readerIdle,
		})
		cancel()
		var it jetstream.MessagesContext
		if err == nil {
			it, err = cons.Messages(jetstream.PullHeartbeat(readerHeartbeat), jetstream.WithMessagesErrOnMissingHeartbeat(true))
		}
		if err != nil {
			j.log.Debug("cluster journal: reading the stream", "from", from, "err", err)
			select {
			case <-j.ctx.Done():
			case <-time.After(jitter(wait)):
			}
			wait = min(wait*2, 2*time.Second)
			continue
		}
		wait = 100 * time.Millisecond
		host := ""
		if info := cons.CachedInfo(); info != nil && info.Cluster != nil {
			host = info.Cluster.Leader
		}
		j.mu.Lock()
		j.iter = it
		j.readerHost = host
		closed := j.closed
		j.mu.Unlock()
		if closed {
			it.Stop()
			return
		}
		lost := j.watchReader(host, it)
		next := from
		for {
			m, err := it.Next()
			if err != nil {
				break
			}
			md, err := m.Metadata()
			if err != nil || md.Sequence.Stream != next {
				// Not the record after the last: read again from there.
				break
			}
			next++
			if err := j.take(m); err != nil {
				j.fail(err)
				it.Stop()
				lost()
				return
			}
		}
		it.Stop()
		lost()
		j.deleteReader(cons)
	}
}

// watchReader stops it once the reader's host is no longer routed to
// this hub's node; the returned func ends the watch.
func (j *Journal) watchReader(host string, it jetstream.MessagesContext) (stop func()) {
	if j.opts.Reaches == nil || host == "" {
		return func() {}
	}
	done := make(chan struct{})
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		tick := time.NewTicker(readerWatch)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-j.ctx.Done():
				return
			case <-tick.C:
				if !j.opts.Reaches(host) {
					j.log.Info("cluster journal: the server holding this hub's stream reader is gone; reading from another", "server", host)
					it.Stop()
					return
				}
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done) }) }
}

// deleteReader removes a consumer replaced by another, in the background
// (on a lost host it would wait in vain; readerIdle removes it there).
func (j *Journal) deleteReader(cons jetstream.Consumer) {
	info := cons.CachedInfo()
	if info == nil || j.ctx.Err() != nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		j.js.DeleteConsumer(ctx, StreamName, info.Name)
	}()
}

// take hands one stream record to the local copy, deciding whether it is
// this hub's own (the first pending record) or another's.
func (j *Journal) take(m jetstream.Msg) error {
	md, err := m.Metadata()
	if err != nil {
		return fmt.Errorf("cluster journal: a stream message without metadata: %w", err)
	}
	frames := splitFrames(m.Data())
	hdr := m.Headers()
	first, _ := strconv.ParseUint(hdr.Get(hdrSeq), 10, 64)
	seq := md.Sequence.Stream
	counts, cmds, err := recordsOf(hdr, len(frames))
	if err != nil {
		return fmt.Errorf("%w: stream seq %d: %v", journal.ErrDamaged, seq, err)
	}
	j.mu.Lock()
	if seq <= j.consumed {
		j.mu.Unlock()
		return nil // delivered again after the consumer was recreated
	}
	if first != j.want {
		j.mu.Unlock()
		return fmt.Errorf("%w: stream seq %d holds journal seq %d where %d was due", journal.ErrDamaged, seq, first, j.want)
	}
	var reps []*report
	if id := hdr.Get(hdrRec); len(j.pending) >= len(counts) && j.pending[0].batch == id && j.pending[len(counts)-1].batch == id {
		own := j.pending[:len(counts)]
		j.pending = j.pending[len(counts):]
		for _, o := range own {
			o.state, o.ackSeq = acked, seq
			reps = append(reps, &report{copied: true, stream: seq, msgs: o.msgs})
		}
		for _, r := range j.pending {
			if r.prevOwn != nil && r.prevOwn.state == acked && r.prevOwn.ackSeq == seq {
				r.prevOwn, r.prevStream = nil, seq
			}
		}
		j.tip = max(j.tip, seq)
	} else {
		// Another hub's records. Everything pending here was validated
		// without them, so none of it can land after them: refuse it
		// first (its seqs are theirs), then report them.
		if len(j.pending) > 0 {
			j.doomFromLocked(j.pending[0], fmt.Errorf("%w: stream seq %d", journal.ErrConflict, seq))
		}
		j.next = first + uint64(len(frames))
		at := 0
		for _, n := range counts {
			r := &report{copied: true, stream: seq, remote: true}
			for i := range n {
				r.msgs = append(r.msgs, journal.Message{Seq: first + uint64(at+i), Frame: frames[at+i]})
			}
			at += n
			reps = append(reps, r)
		}
	}
	reps[len(reps)-1].last = true
	j.outq = append(j.outq, reps...)
	j.consumed = seq
	j.want = first + uint64(len(frames))
	j.stamp = md.Timestamp
	j.mu.Unlock()
	at := 0
	for k, n := range counts {
		copies := make([]protocol.Message, n)
		for i := range n {
			msg, err := protocol.Decode(frames[at+i])
			if err != nil {
				return fmt.Errorf("%w: stream seq %d: %v", journal.ErrDamaged, seq, err)
			}
			copies[i] = msg
		}
		at += n
		if _, err := j.replica.Append(cmds[k], copies...); err != nil {
			return err
		}
	}
	return nil
}

// recordsOf reads how a stream message's frames split into records, and
// each record's command id.
func recordsOf(hdr nats.Header, frames int) (counts []int, cmds []string, err error) {
	if frames <= 0 {
		return nil, nil, errors.New("no frames")
	}
	c := hdr.Get(hdrCounts)
	if c == "" {
		return []int{frames}, []string{hdr.Get(hdrCmd)}, nil
	}
	total := 0
	for _, f := range strings.Split(c, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, nil, fmt.Errorf("bad %s %q", hdrCounts, c)
		}
		counts = append(counts, n)
		total += n
	}
	if err := json.Unmarshal([]byte(hdr.Get(hdrCmds)), &cmds); err != nil || len(cmds) != len(counts) || total != frames {
		return nil, nil, fmt.Errorf("%s %q and %s do not match %d frames", hdrCounts, c, hdrCmds, frames)
	}
	return counts, cmds, nil
}

// copied is the local copy's durability report: the oldest copied record
// waiting for it is ready.
func (j *Journal) copied(msgs []journal.Message, err error) {
	j.mu.Lock()
	for _, r := range j.outq {
		if r.copied && !r.ready {
			r.ready = true
			if err != nil {
				r.err = err
			}
			break
		}
	}
	j.mu.Unlock()
	if err != nil {
		j.fail(err)
	}
	j.pump()
}

// fail stops the journal: the local copy could not be written, or the
// stream disagrees with it.
func (j *Journal) fail(err error) {
	j.mu.Lock()
	if j.failed == nil {
		j.failed = fmt.Errorf("%w: %v", journal.ErrFailed, err)
		j.log.Error("cluster journal stopped", "err", err)
	}
	for _, r := range j.pending {
		j.outq = append(j.outq, &report{msgs: r.msgs, err: j.failed, ready: true})
	}
	j.pending = nil
	j.cond.Broadcast()
	j.mu.Unlock()
	j.pump()
}

// pump hands ready reports to OnDurable in order, one at a time.
func (j *Journal) pump() {
	j.reportMu.Lock()
	defer j.reportMu.Unlock()
	for {
		j.mu.Lock()
		if len(j.outq) == 0 || !j.outq[0].ready || (j.onDurable == nil && !j.starting) {
			j.mu.Unlock()
			return
		}
		r := j.outq[0]
		j.outq = j.outq[1:]
		fn := j.onDurable
		j.mu.Unlock()
		if fn != nil {
			fn(r.msgs, r.err)
		}
		if r.copied && r.last {
			j.mu.Lock()
			// Only now is another hub's record part of the state this
			// hub validates against: an append from before it is based
			// on the record before, and refused by the stream.
			if r.remote {
				j.tip = max(j.tip, r.stream)
			}
			j.reportedStream(r.stream)
			j.mu.Unlock()
		}
	}
}

// reportedStream records that everything up to stream seq s was reported.
func (j *Journal) reportedStream(s uint64) {
	j.reported = s
	j.cond.Broadcast()
}

// waitReported waits until every record up to stream seq s was reported.
func (j *Journal) waitReported(ctx context.Context, s uint64) error {
	stop := context.AfterFunc(ctx, func() {
		j.mu.Lock()
		j.cond.Broadcast()
		j.mu.Unlock()
	})
	defer stop()
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.reported < s && j.failed == nil && !j.closed && ctx.Err() == nil {
		j.cond.Wait()
	}
	switch {
	case j.failed != nil:
		return j.failed
	case j.closed:
		return errors.New("journal: closed")
	}
	return ctx.Err()
}

// CatchUp waits until everything the stream holds now was reported.
// Each ask for the stream's end waits at most publishTry: while a new
// stream leader is elected no one answers, and asking again reaches it
// once it is.
func (j *Journal) CatchUp(ctx context.Context) error {
	wait := 20 * time.Millisecond
	for {
		tctx, cancel := context.WithTimeout(ctx, publishTry)
		info, err := j.stream.Info(tctx)
		cancel()
		if err == nil {
			return j.waitReported(ctx, info.State.LastSeq)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", journal.ErrUnavailable, err)
		case <-time.After(jitter(wait)):
		}
		wait = min(wait*2, 250*time.Millisecond)
	}
}

// Applied returns the seq a command id was acknowledged with: a record
// of this hub still on its way to the stream, or one in the local copy.
// (A command sent again while its first record is pending is answered
// with that record's seq, not appended twice: a group of records in one
// stream message has no Nats-Msg-Id per command.)
func (j *Journal) Applied(cmdID string) (uint64, bool) {
	if cmdID == "" {
		return 0, false
	}
	j.mu.Lock()
	for _, r := range j.pending {
		if r.cmd == cmdID && r.state != doomed {
			j.mu.Unlock()
			return r.msgs[len(r.msgs)-1].Seq, true
		}
	}
	j.mu.Unlock()
	return j.replica.Applied(cmdID)
}

// Range reads the local copy.
func (j *Journal) Range(from, to uint64, fn func(journal.Message) bool) error {
	return j.replica.Range(from, to, fn)
}

// Seqs reads the local copy.
func (j *Journal) Seqs(seqs []uint64, fn func(journal.Message) bool) error {
	return j.replica.Seqs(seqs, fn)
}

// IncidentSeqs reads the local copy's index.
func (j *Journal) IncidentSeqs(id string) []uint64 { return j.replica.IncidentSeqs(id) }

// Heads reads the local copy's index.
func (j *Journal) Heads() []journal.Message { return j.replica.Heads() }

// SeqAt finds the first record the stream stored at or after t (the copy
// is stamped with the stream's times, not the time it was copied).
func (j *Journal) SeqAt(t time.Time) uint64 { return j.replica.SeqAt(t) }

// Close stops reading and publishing (what is still pending is refused
// as unavailable), and closes the local copy.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	it := j.iter
	for _, r := range j.pending {
		j.outq = append(j.outq, &report{msgs: r.msgs, err: fmt.Errorf("%w: the hub is shutting down", journal.ErrUnavailable), ready: true})
	}
	j.pending = nil
	j.cond.Broadcast()
	j.mu.Unlock()
	if j.cancel != nil {
		j.cancel()
	}
	if it != nil {
		it.Stop()
	}
	j.wg.Wait()
	j.pump()
	return j.replica.Close()
}

// splitFrames splits a record's data into its frames (one per line).
func splitFrames(data []byte) [][]byte {
	if len(data) == 0 {
		return nil
	}
	return bytes.Split(data, []byte{'\n'})
}

// StartSeqs reads the local copy's index.
func (j *Journal) StartSeqs() []uint64 { return j.replica.StartSeqs() }
