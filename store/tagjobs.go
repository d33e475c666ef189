package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bktTagJobs holds the bulk-tag jobs: id → TagJob JSON. It is created on
// first use, so ledgers made before it need no migration.
var bktTagJobs = []byte("tag_jobs")

// Tag job states.
const (
	TagJobRunning = "running" // started, or interrupted and to be resumed
	TagJobDone    = "done"
	TagJobFailed  = "failed"
)

// TagJob is a bulk-tag job as the ledger keeps it, so that a job
// interrupted by a crash or shutdown is resumed on the next start rather
// than left silently half done.
type TagJob struct {
	ID      uint64   `json:"id"`
	CaseID  uint64   `json:"case_id"`
	Query   string   `json:"query"`
	Tags    []string `json:"tags"`
	Starred bool     `json:"starred"`
	By      string   `json:"by,omitempty"`
	State   string   `json:"state"`
	// Matched is how many events the query matched when the job (or
	// its last resume) started.
	Matched int64 `json:"matched"`
	// Tagged counts events tagged and re-indexed, over all runs.
	Tagged int64 `json:"tagged"`
	// FilesDone are the files whose matching events are all tagged.
	FilesDone []uint64  `json:"files_done,omitempty"`
	Resumes   int       `json:"resumes,omitempty"`
	Error     string    `json:"error,omitempty"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished,omitzero"`
}

// FileDone reports whether the job finished file fileID.
func (j TagJob) FileDone(fileID uint64) bool { return slices.Contains(j.FilesDone, fileID) }

// PutTagJob stores j, giving it an ID when it has none.
func (l *Ledger) PutTagJob(j TagJob) (TagJob, error) {
	err := l.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bktTagJobs)
		if err != nil {
			return err
		}
		if j.ID == 0 {
			if j.ID, err = b.NextSequence(); err != nil {
				return err
			}
		}
		return putJSON(b, u64(j.ID), j)
	})
	if err != nil {
		return TagJob{}, fmt.Errorf("store tag job: %w", err)
	}
	return j, nil
}

// TagJobs returns every stored bulk-tag job, oldest first.
func (l *Ledger) TagJobs() ([]TagJob, error) {
	var out []TagJob
	err := l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktTagJobs)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var j TagJob
			if err := json.Unmarshal(v, &j); err != nil {
				return err
			}
			out = append(out, j)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read tag jobs: %w", err)
	}
	return out, nil
}
