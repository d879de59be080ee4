package plots

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteEmpty(t *testing.T) {
	for _, format := range []string{"svg", "png"} {
		var b bytes.Buffer
		if err := WriteEmpty(&b, format, "no open-loop cases"); err != nil {
			t.Fatal(format, err)
		}
		if b.Len() == 0 {
			t.Fatalf("%s: nothing written", format)
		}
		if format == "svg" && !strings.Contains(b.String(), "no open-loop cases") {
			t.Error("svg lacks the message")
		}
	}
	if err := WriteEmpty(&bytes.Buffer{}, "bmp", "x"); err == nil {
		t.Error("unknown format accepted")
	}
}
