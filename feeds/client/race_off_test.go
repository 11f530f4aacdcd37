//go:build !race

package client

// raceDetector says the race detector is on: its shadow memory makes the
// largest fixtures cost many times their size.
const raceDetector = false
