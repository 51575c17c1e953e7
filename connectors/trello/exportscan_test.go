package trello

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"testing"
)

// TestScanBoardTakesOnlyJSON: the byte scanner takes nothing that
// encoding/json refuses (it skips values whole, and the decoder no longer
// checks them). The inputs are the test exports with a few bytes changed,
// dropped or added, from a fixed seed.
func TestScanBoardTakesOnlyJSON(t *testing.T) {
	t.Parallel()
	var seeds [][]byte
	for _, name := range []string{"testdata/board.json", "testdata/problems.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	rng := rand.New(rand.NewSource(1))
	chars := []byte(`{}[]",:\ 0123456789abcdefntru-.eE` + "\n\t\x00\xff")
	for i := range 5000 {
		b := bytes.Clone(seeds[i%len(seeds)])
		for range 1 + rng.Intn(3) {
			p := rng.Intn(len(b))
			c := chars[rng.Intn(len(chars))]
			switch rng.Intn(3) {
			case 0:
				b[p] = c
			case 1:
				b = append(b[:p], b[p+1:]...)
			default:
				b = append(b[:p], append([]byte{c}, b[p:]...)...)
			}
		}
		if _, err := scanBoard(bytes.NewReader(b), DefaultMaxElementBytes); err == nil && !json.Valid(b) {
			t.Fatalf("input %d: scanBoard took what is not JSON:\n%s", i, b)
		}
	}
}
