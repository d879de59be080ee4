//go:build race

package bench

// raceEnabled: the wirecheck binary the tests build is built with -race
// too, so it reuses the packages `go test -race` has already compiled.
const raceEnabled = true
