package overhead

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Output file names (the interface other tools rely on).
const (
	FileJSON         = "overhead.json"
	FileCSV          = "overhead.csv"
	FileMarkdown     = "overhead.md"
	FileBytesPerEvnt = "bytes_per_event" // .png and .svg
	FileBytesPerHour = "bytes_per_hour"  // .png and .svg
)

// writeOutputs writes JSON, CSV, Markdown and the plots into dir and
// returns the file names.
func writeOutputs(dir string, res *Result) ([]string, error) {
	var files []string
	write := func(name string, fn func(io.Writer) error) error {
		var buf bytes.Buffer
		if err := fn(&buf); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			return err
		}
		files = append(files, name)
		return nil
	}
	if err := write(FileJSON, func(w io.Writer) error { return WriteJSON(w, res.Rows) }); err != nil {
		return nil, err
	}
	if err := write(FileCSV, func(w io.Writer) error { return WriteCSV(w, res.Rows) }); err != nil {
		return nil, err
	}
	if err := write(FileMarkdown, func(w io.Writer) error { return WriteMarkdown(w, res.Rows) }); err != nil {
		return nil, err
	}
	for _, ext := range []string{"png", "svg"} {
		if err := write(FileBytesPerEvnt+"."+ext, func(w io.Writer) error { return PlotBytesPerEvent(w, ext, res.Rows) }); err != nil {
			return nil, err
		}
		if err := write(FileBytesPerHour+"."+ext, func(w io.Writer) error { return PlotBytesPerHour(w, ext, res.Rows) }); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// WriteJSON writes rows as an indented JSON list.
func WriteJSON(w io.Writer, rows []Row) error {
	if rows == nil {
		rows = []Row{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

// Columns are the CSV header: the JSON names of Row's fields, in order.
func Columns() []string {
	t := reflect.TypeFor[Row]()
	cols := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		cols = append(cols, jsonName(t.Field(i)))
	}
	return cols
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// fmtNum writes a count without a useless fraction: 31, 66.5.
func fmtNum(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// WriteCSV writes rows with the JSON names as header. Absent values
// (keepalive_s outside maintain, qos outside MQTT) are empty cells;
// mqtt_packets is "TYPE=N TYPE=N".
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns()); err != nil {
		return err
	}
	for _, r := range rows {
		v := reflect.ValueOf(r)
		rec := make([]string, v.NumField())
		for i := range v.NumField() {
			rec[i] = csvCell(v.Field(i))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvCell(f reflect.Value) string {
	switch f.Kind() {
	case reflect.Pointer:
		if f.IsNil() {
			return ""
		}
		return csvCell(f.Elem())
	case reflect.String:
		return f.String()
	case reflect.Int:
		return strconv.FormatInt(f.Int(), 10)
	case reflect.Float64:
		return fmtNum(f.Float())
	case reflect.Map:
		return mqttPacketsString(f.Interface().(map[string]float64))
	}
	return fmt.Sprint(f.Interface())
}

// ReadCSV parses what WriteCSV wrote (for tests and tools).
func ReadCSV(r io.Reader) ([]Row, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("empty CSV")
	}
	cols := recs[0]
	if !slices.Equal(cols, Columns()) {
		return nil, fmt.Errorf("CSV header %v, want %v", cols, Columns())
	}
	var rows []Row
	for _, rec := range recs[1:] {
		var row Row
		v := reflect.ValueOf(&row).Elem()
		for i, cell := range rec {
			if err := setCell(v.Field(i), cell); err != nil {
				return nil, fmt.Errorf("column %s: %w", cols[i], err)
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func setCell(f reflect.Value, cell string) error {
	switch f.Kind() {
	case reflect.Pointer:
		if cell == "" {
			return nil
		}
		f.Set(reflect.New(f.Type().Elem()))
		return setCell(f.Elem(), cell)
	case reflect.String:
		f.SetString(cell)
	case reflect.Int:
		if cell == "" {
			return nil
		}
		n, err := strconv.Atoi(cell)
		if err != nil {
			return err
		}
		f.SetInt(int64(n))
	case reflect.Float64:
		x, err := strconv.ParseFloat(cell, 64)
		if err != nil {
			return err
		}
		f.SetFloat(x)
	case reflect.Map:
		if cell == "" {
			return nil
		}
		m := map[string]float64{}
		for kv := range strings.FieldsSeq(cell) {
			k, val, ok := strings.Cut(kv, "=")
			x, err := strconv.ParseFloat(val, 64)
			if !ok || err != nil {
				return fmt.Errorf("bad MQTT count %q", kv)
			}
			m[k] = x
		}
		f.Set(reflect.ValueOf(m))
	}
	return nil
}
