package bbs

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diegolab/diegolab/model"
)

// fill sets every exported field of the struct v points to (recursively through
// embedded and nested structs) to a non-zero value derived from n, so that a store that
// forgets a field, including one added to the model later, fails the round trip.
func fill(t *testing.T, v reflect.Value, n *int) {
	t.Helper()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() {
			continue
		}
		*n++
		switch f.Kind() {
		case reflect.String:
			f.SetString("s" + string(rune('a'+*n%26)))
		case reflect.Int, reflect.Int32, reflect.Int64:
			if f.Type() == reflect.TypeOf(time.Duration(0)) {
				f.SetInt(int64(*n) * int64(time.Second))
			} else {
				f.SetInt(int64(*n))
			}
		case reflect.Uint8, reflect.Uint32:
			f.SetUint(1)
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Slice:
			if f.Type().Elem().Kind() != reflect.String {
				t.Fatalf("field %s: slice of %s: teach fill about it", v.Type().Field(i).Name, f.Type().Elem())
			}
			f.Set(reflect.ValueOf([]string{"x", "y"}))
		case reflect.Struct:
			fill(t, f, n)
		case reflect.Pointer:
			if f.Type().Elem().Kind() != reflect.Struct {
				t.Fatalf("field %s: pointer to %s: teach fill about it", v.Type().Field(i).Name, f.Type().Elem())
			}
			f.Set(reflect.New(f.Type().Elem()))
			fill(t, f.Elem(), n)
		default:
			t.Fatalf("field %s of kind %s: teach fill about it", v.Type().Field(i).Name, f.Kind())
		}
	}
}

// TestMemStoreKeepsEveryField: every field of a desired LRP and an actual LRP survives
// Put then Get, whatever compact layout the store uses.
func TestMemStoreKeepsEveryField(t *testing.T) {
	n := 0
	var d model.DesiredLRP
	fill(t, reflect.ValueOf(&d).Elem(), &n)
	var a model.ActualLRP
	fill(t, reflect.ValueOf(&a).Elem(), &n)
	a.ProcessGUID = d.ProcessGUID
	a.Presence = model.Suspect
	a.State = model.Crashed

	m := NewMemStore()
	if err := m.PutDesiredLRP(d); err != nil {
		t.Fatal(err)
	}
	if err := m.PutActualLRP(a); err != nil {
		t.Fatal(err)
	}
	got, ok, err := m.GetDesiredLRP(d.ProcessGUID)
	if err != nil || !ok {
		t.Fatalf("GetDesiredLRP: ok=%v err=%v", ok, err)
	}
	if diff := cmp.Diff(d, got); diff != "" {
		t.Errorf("desired LRP changed by the store (-put +got):\n%s", diff)
	}
	gotA, ok, err := m.GetActualLRP(a.ActualLRPKey, a.Presence)
	if err != nil || !ok {
		t.Fatalf("GetActualLRP: ok=%v err=%v", ok, err)
	}
	if diff := cmp.Diff(a, gotA); diff != "" {
		t.Errorf("actual LRP changed by the store (-put +got):\n%s", diff)
	}
}
