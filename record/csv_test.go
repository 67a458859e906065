package record

import (
	"bytes"
	"encoding/csv"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// plainCSV is EncodeCSV written the plain way: every field formatted to a string and
// handed to encoding/csv's Writer.
func plainCSV[T any](t *testing.T, rows []T) []byte {
	t.Helper()
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	if err := cw.Write(header[T]()); err != nil {
		t.Fatal(err)
	}
	rec := make([]string, len(header[T]()))
	for i := range rows {
		v := reflect.ValueOf(&rows[i]).Elem()
		for f, path := range columns(v.Type()) {
			switch fv := v.FieldByIndex(path); fv.Kind() {
			case reflect.String:
				rec[f] = fv.String()
			case reflect.Int:
				rec[f] = strconv.FormatInt(fv.Int(), 10)
			case reflect.Float64:
				rec[f] = strconv.FormatFloat(fv.Float(), 'f', -1, 64)
			}
		}
		if err := cw.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	cw.Flush()
	return buf.Bytes()
}

type csvMix struct {
	A string  `csv:"a"`
	N int     `csv:"n"`
	X float64 `csv:"x"`
	B string  `csv:"b"`
}

// TestEncodeCSVMatchesWriter: EncodeCSV's bytes are encoding/csv's, for strings that
// need quotes or may (commas, quotes, line breaks, `\.`, leading spaces, non-ASCII
// spaces and letters) and for extreme numbers, over rows enough to cross its buffer.
func TestEncodeCSVMatchesWriter(t *testing.T) {
	strs := []string{"", "cell-1", "a,b", `say "hi"`, "line\nbreak", "cr\rlf", `\.`, `\.x`, " lead", "\tlead", "\u00a0nbsp", "\u2003em", "é", "zone-ü", "trail ", "x\u0085", "\u0085x", "\v", "plain"}
	nums := []int{0, 1, -1, math.MaxInt64, math.MinInt64, 42}
	floats := []float64{0, math.Copysign(0, -1), 1.5, -2.25, 1e21, 1e-7, math.Inf(1), math.Inf(-1), math.NaN(), 3600.000001, 10, -10, 3600, 1 << 53, 1<<53 - 1, -(1<<53 - 1), -(1 << 53), 1 << 62, 0.5, -1e15}
	r := rand.New(rand.NewPCG(7, 0))
	for _, n := range []int{0, 1, 5000} {
		rows := make([]csvMix, n)
		for i := range rows {
			rows[i] = csvMix{A: strs[r.IntN(len(strs))], N: nums[r.IntN(len(nums))], X: floats[r.IntN(len(floats))], B: strs[r.IntN(len(strs))]}
			if r.IntN(4) > 0 { // mostly rows that need no quotes: the fast path
				rows[i].A, rows[i].B = "cell-"+strconv.Itoa(i), "plain"
			}
		}
		var got bytes.Buffer
		if err := EncodeCSV(&got, rows); err != nil {
			t.Fatal(err)
		}
		if want := plainCSV(t, rows); !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("%d rows: EncodeCSV differs from encoding/csv:\n got %q\nwant %q", n, got.Bytes()[:min(got.Len(), 400)], want[:min(len(want), 400)])
		}
	}
	for i, s := range strs {
		var got bytes.Buffer
		rows := []csvMix{{A: s, B: "b"}}
		if err := EncodeCSV(&got, rows); err != nil {
			t.Fatal(err)
		}
		if want := plainCSV(t, rows); !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("string %d %q: got %q, want %q", i, s, got.Bytes(), want)
		}
	}
}

// An embedded struct's columns stand in its place, read at the embedded field's offset
// plus their own (CellComputeRow embeds CellRow).
func TestEncodeCSVEmbedded(t *testing.T) {
	type wrapped struct {
		Pre int `csv:"pre"`
		csvMix
		Post string `csv:"post"`
	}
	rows := []wrapped{{Pre: 1, csvMix: csvMix{A: "a", N: 2, X: 2.5, B: "b"}, Post: "p"},
		{Pre: -3, csvMix: csvMix{A: "x,y", N: 4, X: -1, B: ""}, Post: "q"}}
	var got bytes.Buffer
	if err := EncodeCSV(&got, rows); err != nil {
		t.Fatal(err)
	}
	want := "pre,a,n,x,b,post\n1,a,2,2.5,b,p\n-3,\"x,y\",4,-1,,q\n"
	if got.String() != want {
		t.Fatalf("got %q, want %q", got.String(), want)
	}
	if plain := plainCSV(t, rows); !bytes.Equal(got.Bytes(), plain) {
		t.Fatalf("EncodeCSV %q differs from encoding/csv %q", got.Bytes(), plain)
	}
}

func TestEncodeCSVUnsupportedKind(t *testing.T) {
	type bad struct {
		B bool `csv:"b"`
	}
	var buf bytes.Buffer
	if err := EncodeCSV(&buf, []bad{{true}}); err == nil {
		t.Fatal("a bool field was encoded; want an error naming it")
	}
}

// TestAppendFloat: the whole-number shortcut gives strconv's bytes, at the edges of the
// range it takes (2^53, negative zero) and beyond, and for random values.
func TestAppendFloat(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 10, 1 << 53, 1<<53 - 1, 1<<53 + 2, -(1 << 53), -(1<<53 - 1),
		1 << 63, -(1 << 63), 1e300, -1e300, 0.1, 2.5, math.Inf(1), math.Inf(-1), math.NaN(), math.SmallestNonzeroFloat64}
	r := rand.New(rand.NewPCG(3, 0))
	for range 10000 {
		vals = append(vals, float64(r.Int64N(1<<60)-1<<59), r.NormFloat64()*1e6, float64(r.IntN(1e7))*10)
	}
	for _, v := range vals {
		if got, want := appendFloat(nil, v), strconv.AppendFloat(nil, v, 'f', -1, 64); !bytes.Equal(got, want) {
			t.Fatalf("%v: got %q, want %q", v, got, want)
		}
	}
}

// TestEncodeCSVRepeatedTails: rows whose columns after the first repeat the last row's
// (the shortcut that copies their bytes) give encoding/csv's bytes too: with first
// columns that need quotes or not, tails that need quotes, equal strings at other
// addresses, NaN and both zeros, and runs broken at every column.
func TestEncodeCSVRepeatedTails(t *testing.T) {
	heads := []string{"cell-1", "a,b", "", " lead", "plain"}
	tails := []csvMix{
		{N: 1, X: 2.5, B: "plain"}, {N: 1, X: 2.5, B: "x,y"}, {N: 1, X: math.NaN(), B: ""},
		{N: 1, X: 0, B: "plain"}, {N: 1, X: math.Copysign(0, -1), B: "plain"}, {N: 2, X: 2.5, B: "plain"},
		{N: 1, X: 2.5, B: strings.Repeat("pla", 1) + "in"}, // "plain" at another address
	}
	r := rand.New(rand.NewPCG(9, 0))
	rows := make([]csvMix, 0, 3000)
	for len(rows) < cap(rows) {
		tl := tails[r.IntN(len(tails))]
		for n := 1 + r.IntN(20); n > 0 && len(rows) < cap(rows); n-- {
			row := tl
			row.A = heads[r.IntN(len(heads))]
			if r.IntN(3) > 0 {
				row.A = "cell-" + strconv.Itoa(len(rows))
			}
			rows = append(rows, row)
		}
	}
	var got bytes.Buffer
	if err := EncodeCSV(&got, rows); err != nil {
		t.Fatal(err)
	}
	if want := plainCSV(t, rows); !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("EncodeCSV differs from encoding/csv:\n got %q\nwant %q", got.Bytes()[:min(got.Len(), 400)], want[:min(len(want), 400)])
	}
}

// TestEncodeCSVParts: rows in parts (empty ones too) give the bytes of the same rows in
// one slice, across part boundaries inside runs of repeated columns.
func TestEncodeCSVParts(t *testing.T) {
	rows := make([]csvMix, 500)
	for i := range rows {
		rows[i] = csvMix{A: "cell-" + strconv.Itoa(i), N: i / 7, X: float64(i / 3), B: "b"}
	}
	var want bytes.Buffer
	if err := EncodeCSV(&want, rows); err != nil {
		t.Fatal(err)
	}
	for _, cuts := range [][]int{{}, {0}, {1, 2, 3}, {7, 7, 100, 499}, {250, 500}} {
		var parts [][]csvMix
		last := 0
		for _, c := range cuts {
			parts = append(parts, rows[last:c])
			last = c
		}
		parts = append(parts, rows[last:])
		var got bytes.Buffer
		if err := EncodeCSVParts(&got, parts); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("cuts %v: parts encode differently from one slice", cuts)
		}
	}
}
