package trellofake

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAppendJSON checks the hand-written encoder against encoding/json by
// round trip: what it writes decodes to what encoding/json would write.
func TestAppendJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", `q"uote\back`, "line\nbreak\ttab\r\x01\x1f", "Когда будет готово? <b>&</b>", "bad \xff utf8", "sep \u2028 \u2029", "emoji 🙂"} {
		got, err := marshal(obj{{"s", s}, {"n", nil}, {"b", true}, {"i", 42}, {"f", 16384.5}, {"a", []string{s}}, {"o", []obj{{{"x", s}}}}})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(map[string]any{"s": s, "n": nil, "b": true, "i": 42, "f": 16384.5, "a": []string{s}, "o": []map[string]string{{"x": s}}})
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%q: invalid JSON %s: %v", s, got, err)
		}
		_ = json.Unmarshal(want, &w)
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		if string(gb) != string(wb) {
			t.Errorf("%q: got %s, want %s", s, gb, wb)
		}
		if strings.Contains(s, "<") && !strings.Contains(string(got), "<b>") {
			t.Errorf("%q: HTML escaped: %s", s, got)
		}
	}
}
