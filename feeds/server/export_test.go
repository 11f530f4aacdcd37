package server

import "github.com/vigil-oncall/vigil/feeds/journal"

// realFile exposes the journal's file to tests that wrap it.
func realFile(j *journal.Journal) (journal.File, bool) { return j.File(), true }
