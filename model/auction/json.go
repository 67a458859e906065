package auction

import (
	"bytes"
	"errors"
	"fmt"
	json "github.com/goccy/go-json"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/diegolab/diegolab/model"
)

// The STATE.json / RESULT.json schema of `diegolab auction` (docs/auction-json.md).
// Pointers tell a missing field from a zero one.

type jsonResources struct {
	MemoryMB   *int `json:"memory_mb"`
	DiskMB     *int `json:"disk_mb"`
	Containers *int `json:"containers"`
}

type jsonListedLRP struct {
	ProcessGUID *string `json:"process_guid"`
	Index       *int    `json:"index"`
	MemoryMB    *int    `json:"memory_mb"`
	DiskMB      *int    `json:"disk_mb"`
}

type jsonListedTask struct {
	TaskGUID *string `json:"task_guid"`
	MemoryMB *int    `json:"memory_mb"`
	DiskMB   *int    `json:"disk_mb"`
}

type jsonCell struct {
	ID                    *string          `json:"id"`
	Zone                  *string          `json:"zone"`
	Index                 *int             `json:"index"`
	Total                 *jsonResources   `json:"total"`
	Available             *jsonResources   `json:"available"`
	StartingContainers    *int             `json:"starting_containers"`
	Evacuating            bool             `json:"evacuating"`
	ProxyMemoryMB         *int             `json:"proxy_memory_mb"`
	RootFSProviders       []string         `json:"rootfs_providers"`
	PlacementTags         []string         `json:"placement_tags"`
	OptionalPlacementTags []string         `json:"optional_placement_tags"`
	VolumeDrivers         []string         `json:"volume_drivers"`
	LRPs                  []jsonListedLRP  `json:"lrps"`
	Tasks                 []jsonListedTask `json:"tasks"`
	Compute               *jsonCompute     `json:"compute"`
}

// jsonCompute is a cell's CPU and GPUs: cpu_milli_free defaults to cpu_milli, and
// gpu_milli_free lists the free milli-GPU of each device (default: gpus idle devices).
type jsonCompute struct {
	CPUMilli     *int   `json:"cpu_milli"`
	CPUMilliFree *int   `json:"cpu_milli_free"`
	GPUs         *int   `json:"gpus"`
	GPUModel     string `json:"gpu_model"`
	GPUMilliFree []int  `json:"gpu_milli_free"`
}

func (j *jsonCompute) decode(at string) (*model.CellCompute, error) {
	if j == nil {
		return nil, nil
	}
	cpu, err := optInt(j.CPUMilli, at+".cpu_milli", 0)
	if err != nil {
		return nil, err
	}
	gpus, err := optInt(j.GPUs, at+".gpus", len(j.GPUMilliFree))
	if err != nil {
		return nil, err
	}
	if gpus > model.MaxGPUDevices {
		return nil, fieldErr(at+".gpus", fmt.Sprintf("must be <= %d, got %d", model.MaxGPUDevices, gpus))
	}
	if j.GPUMilliFree != nil && len(j.GPUMilliFree) != gpus {
		return nil, fieldErr(at+".gpu_milli_free", fmt.Sprintf("lists %d devices, gpus says %d", len(j.GPUMilliFree), gpus))
	}
	c := model.NewCellCompute(cpu, gpus, j.GPUModel)
	if j.CPUMilliFree != nil {
		c.MilliCPUFree = *j.CPUMilliFree
	}
	if j.GPUMilliFree != nil {
		copy(c.GPUFree, j.GPUMilliFree)
	}
	if err := c.Validate(at); err != nil {
		return nil, err
	}
	return c, nil
}

type jsonWork struct {
	ProcessGUID   *string  `json:"process_guid"`
	TaskGUID      *string  `json:"task_guid"`
	Index         *int     `json:"index"`
	Domain        string   `json:"domain"`
	MemoryMB      *int     `json:"memory_mb"`
	DiskMB        *int     `json:"disk_mb"`
	MaxPids       *int     `json:"max_pids"`
	MaxPerCell    *int     `json:"max_per_cell"`
	RootFS        *string  `json:"rootfs"`
	PlacementTags []string `json:"placement_tags"`
	VolumeDrivers []string `json:"volume_drivers"`
	// Compute: {cpu_milli, num_gpu, gpu_milli, gpu_models}, optional.
	Compute *model.Compute `json:"compute"`
}

type jsonSettings struct {
	StartingContainerWeight *float64 `json:"starting_container_weight"`
	BinPackFirstFitWeight   *float64 `json:"bin_pack_first_fit_weight"`
	MaxStartingContainers   *int     `json:"max_starting_containers"`
	ProxyMemoryMB           *int     `json:"proxy_memory_mb"`
}

type jsonState struct {
	Settings *jsonSettings `json:"settings"`
	Cells    []jsonCell    `json:"cells"`
	LRPs     []jsonWork    `json:"lrps"`
	Tasks    []jsonWork    `json:"tasks"`
}

// Input is a decoded STATE.json: settings, cells (with the work listed on them) and
// the batch to auction.
type Input struct {
	Settings Settings
	State    *State
	Batch    Batch
}

func fieldErr(field, problem string) error {
	return &model.ValidationError{Field: field, Problem: problem}
}

func needInt(p *int, field string) (int, error) {
	if p == nil {
		return 0, fieldErr(field, "missing")
	}
	if *p < 0 {
		return 0, fieldErr(field, fmt.Sprintf("must be >= 0, got %d", *p))
	}
	return *p, nil
}

func optInt(p *int, field string, def int) (int, error) {
	if p == nil {
		return def, nil
	}
	return needInt(p, field)
}

func needString(p *string, field string) (string, error) {
	if p == nil {
		return "", fieldErr(field, "missing")
	}
	if strings.TrimSpace(*p) == "" {
		return "", fieldErr(field, "must not be empty")
	}
	return *p, nil
}

func (r *jsonResources) decode(field string) (model.Resources, error) {
	if r == nil {
		return model.Resources{}, fieldErr(field, "missing")
	}
	var out model.Resources
	var err error
	if out.MemoryMB, err = needInt(r.MemoryMB, field+".memory_mb"); err != nil {
		return out, err
	}
	if out.DiskMB, err = needInt(r.DiskMB, field+".disk_mb"); err != nil {
		return out, err
	}
	if out.Containers, err = needInt(r.Containers, field+".containers"); err != nil {
		return out, err
	}
	return out, nil
}

// DecodeInput parses STATE.json strictly (unknown fields are errors) and builds the
// State and the Batch. Every error names the field, e.g. "cells[1].available.memory_mb:
// 900 exceeds total 800", or the line and column of a syntax error; all wrap
// model.ErrInvalid.
//
// It streams: the top-level object is read token by token and each cell, LRP and task
// is decoded and added on its own, so the decoded form of the whole file is never held
// (a million items would otherwise be a second copy of the input, and two passes of
// the scanner over it). The first error in the file's order is reported. Settings
// given after the cells, or none at all (JSON objects have no order, and settings are
// optional), make the cells wait decoded until the end of the file, as the State is
// built with the settings: put "settings" first to stream the cells too.
func DecodeInput(data []byte) (*Input, error) {
	d := &stateDecoder{data: data, dec: json.NewDecoder(bytes.NewReader(data)), set: DefaultSettings()}
	d.dec.DisallowUnknownFields()
	if err := d.object(); err != nil {
		return nil, err
	}
	if _, err := d.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", model.ErrInvalid)
	}
	if err := d.settle(); err != nil {
		return nil, err
	}
	for i := range d.waiting {
		if err := d.in.addCell(&d.waiting[i], cellAt(i)); err != nil {
			return nil, err
		}
	}
	d.in.Batch = d.batch
	return d.in, nil
}

// stateDecoder walks STATE.json: the outer object by tokens, each array element by one
// Decode into its json type, turned into the State or the Batch at once.
type stateDecoder struct {
	data    []byte
	dec     *json.Decoder
	set     Settings
	in      *Input     // nil until the settings are settled (settle)
	waiting []jsonCell // cells read before the settings (or in a file without them)
	batch   Batch
	specs   Specs           // the LRPs' specs, shared between equal neighbours
	seen    map[string]bool // top-level keys read
}

func cellAt(i int) string { return fmt.Sprintf("cells[%d]", i) }

// itemPath names an element of a top-level array (list[i]), or a top-level key (i < 0),
// in errors. It is formatted only when an error is reported: building the paths of a
// million items' fields up front cost a sizeable share of the decoding.
type itemPath struct {
	list string
	i    int
}

func (p itemPath) String() string {
	if p.i < 0 {
		return p.list
	}
	return fmt.Sprintf("%s[%d]", p.list, p.i)
}

// field is the path of the element's field name.
func (p itemPath) field(name string) string { return p.String() + "." + name }

// needInt, optInt and needString are the package's functions of the same name with the
// field's path made only for an error.
func (p itemPath) needInt(v *int, name string) (int, error) {
	if v != nil && *v >= 0 {
		return *v, nil
	}
	return needInt(v, p.field(name))
}

func (p itemPath) optInt(v *int, name string, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	return p.needInt(v, name)
}

func (p itemPath) needString(v *string, name string) (string, error) {
	if v != nil && strings.TrimSpace(*v) != "" {
		return *v, nil
	}
	return needString(v, p.field(name))
}

// validateCompute validates an item's optional compute request.
func (p itemPath) validateCompute(c *model.Compute) error {
	if c == nil {
		return nil
	}
	return c.Validate(p.field("compute"))
}

// object reads the top-level object, key by key.
func (d *stateDecoder) object() error {
	if err := d.delim('{', "the top level: a JSON object"); err != nil {
		return err
	}
	d.seen = map[string]bool{}
	for d.dec.More() {
		tok, err := d.dec.Token()
		if err != nil {
			return d.syntax(err)
		}
		key, _ := tok.(string) // More said a key comes: Token returns it as a string
		if d.seen[key] {
			return fmt.Errorf("%w: %s: given twice (line %d)", model.ErrInvalid, key, d.line())
		}
		d.seen[key] = true
		switch key {
		case "settings":
			err = d.settings()
		case "cells":
			err = d.array("cells", d.cell)
		case "lrps":
			d.batch.LRPs = slices.Grow(d.batch.LRPs, d.objectsAhead(len(minLRP)))
			err = d.array("lrps", d.lrp)
		case "tasks":
			d.batch.Tasks = slices.Grow(d.batch.Tasks, d.objectsAhead(len(minTask)))
			err = d.array("tasks", d.task)
		default:
			return fmt.Errorf("%w: line %d: json: unknown field %q", model.ErrInvalid, d.line(), key)
		}
		if err != nil {
			return err
		}
	}
	if _, err := d.dec.Token(); err != nil { // the closing brace
		return d.syntax(err)
	}
	return nil
}

// The shortest valid items: every item has at least these bytes.
const (
	minLRP  = `{"process_guid":"a","index":0,"memory_mb":0,"disk_mb":0,"rootfs":"a"}`
	minTask = `{"task_guid":"a","memory_mb":0,"disk_mb":0,"rootfs":"a"}`
)

// objectsAhead bounds the number of items of the array that starts here, so that the
// batch is sized once instead of grown by copying a million items: the count of '{' in
// the rest of the input (each item is an object; a byte count is a fast scan), and at
// most the rest's length over minBytes, the shortest valid item's (so that a file of
// braces cannot make it reserve more than about twice its size).
func (d *stateDecoder) objectsAhead(minBytes int) int {
	rest := d.data[min(int(d.dec.InputOffset()), len(d.data)):]
	return min(bytes.Count(rest, []byte("{")), len(rest)/minBytes)
}

// delim reads the next token, which must be the delimiter want.
func (d *stateDecoder) delim(want json.Delim, what string) error {
	tok, err := d.dec.Token()
	if err != nil {
		return d.syntax(err)
	}
	if got, ok := tok.(json.Delim); !ok || got != want {
		return fmt.Errorf("%w: line %d: expected %s, got %v", model.ErrInvalid, d.line(), what, tok)
	}
	return nil
}

// array reads a JSON array (or null) of key's elements, handing each to one(i).
func (d *stateDecoder) array(key string, one func(i int) error) error {
	if d.peekNull() {
		_, err := d.dec.Token()
		return d.syntax(err)
	}
	if err := d.delim('[', key+": a JSON array"); err != nil {
		return err
	}
	for i := 0; d.dec.More(); i++ {
		if err := one(i); err != nil {
			return err
		}
	}
	_, err := d.dec.Token() // the closing bracket
	return d.syntax(err)
}

// peekNull reports whether the next value is null.
func (d *stateDecoder) peekNull() bool {
	off := int(d.dec.InputOffset())
	rest := d.data[min(off, len(d.data)):]
	rest = bytes.TrimLeft(rest, " \t\r\n:")
	return bytes.HasPrefix(rest, []byte("null"))
}

// element decodes the next array element into v; at names it in errors.
func (d *stateDecoder) element(v any, at fmt.Stringer) error {
	start := d.dec.InputOffset()
	if err := d.dec.Decode(v); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			// Decode gives a type error's offset within the element: make it the file's
			// (the element starts after the separators following the last token).
			rest := d.data[min(int(start), len(d.data)):]
			typ.Offset += start + int64(len(rest)-len(bytes.TrimLeft(rest, ", \t\r\n:")))
		}
		return d.elementError(err, at)
	}
	return nil
}

func (d *stateDecoder) settings() error {
	var ss *jsonSettings
	if err := d.element(&ss, itemPath{"settings", -1}); err != nil {
		return err
	}
	if ss != nil {
		if ss.StartingContainerWeight != nil {
			d.set.StartingContainerWeight = *ss.StartingContainerWeight
		}
		if ss.BinPackFirstFitWeight != nil {
			d.set.BinPackFirstFitWeight = *ss.BinPackFirstFitWeight
		}
		if ss.MaxStartingContainers != nil {
			d.set.MaxStartingContainers = *ss.MaxStartingContainers
		}
		if ss.ProxyMemoryMB != nil {
			d.set.ProxyMemoryMB = *ss.ProxyMemoryMB
		}
	}
	return d.settle()
}

// settle validates the settings and makes the State, once.
func (d *stateDecoder) settle() error {
	if d.in != nil {
		return nil
	}
	if err := d.set.Validate(); err != nil {
		return fmt.Errorf("settings.%w", err)
	}
	d.in = &Input{Settings: d.set, State: NewState(d.set)}
	return nil
}

func (d *stateDecoder) cell(i int) error {
	var jc jsonCell
	if err := d.element(&jc, itemPath{"cells", i}); err != nil {
		return err
	}
	if d.in == nil {
		d.waiting = append(d.waiting, jc) // the settings may still come
		return nil
	}
	return d.in.addCell(&jc, cellAt(i))
}

func (d *stateDecoder) lrp(i int) error {
	var w jsonWork
	at := itemPath{"lrps", i}
	if err := d.element(&w, at); err != nil {
		return err
	}
	l, err := decodeLRP(&w, at, &d.specs)
	if err != nil {
		return err
	}
	d.batch.LRPs = append(d.batch.LRPs, l)
	return nil
}

func (d *stateDecoder) task(i int) error {
	var w jsonWork
	at := itemPath{"tasks", i}
	if err := d.element(&w, at); err != nil {
		return err
	}
	t, err := decodeTask(&w, at)
	if err != nil {
		return err
	}
	d.batch.Tasks = append(d.batch.Tasks, t)
	return nil
}

// line is the line of the decoder's position.
func (d *stateDecoder) line() int { return lineOf(d.data, d.dec.InputOffset()) }

// syntax turns a token error into one with a line and column.
func (d *stateDecoder) syntax(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: line %d: unexpected end of JSON input", model.ErrInvalid, lineOf(d.data, int64(len(d.data))))
	}
	return jsonError(d.data, err)
}

// elementError names the element in a decoding error: a field of the wrong type is
// given by its path under the element (cells[3].total.memory_mb), an unknown field or
// a syntax error with the element and its line.
func (d *stateDecoder) elementError(err error, at fmt.Stringer) error {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return fmt.Errorf("%w: %s.%s: expected %s, got JSON %s (line %d)", model.ErrInvalid, at.String(), typ.Field, typ.Type, typ.Value, lineOf(d.data, typ.Offset))
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) || errors.As(err, &typ) {
		return jsonError(d.data, err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return d.syntax(err)
	}
	return fmt.Errorf("%w: %s (line %d): %v", model.ErrInvalid, at.String(), d.line(), err)
}

func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var off int64 = -1
	switch {
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		off = typ.Offset
		if typ.Field != "" {
			return fmt.Errorf("%w: %s: expected %s, got JSON %s (line %d)", model.ErrInvalid, typ.Field, typ.Type, typ.Value, lineOf(data, off))
		}
	}
	if off >= 0 {
		return fmt.Errorf("%w: line %d, column %d: %v", model.ErrInvalid, lineOf(data, off), colOf(data, off), err)
	}
	return fmt.Errorf("%w: %v", model.ErrInvalid, err)
}

func lineOf(data []byte, off int64) int {
	return 1 + bytes.Count(data[:min(int(off), len(data))], []byte("\n"))
}

func colOf(data []byte, off int64) int {
	o := min(int(off), len(data))
	return o - bytes.LastIndexByte(data[:o], '\n')
}

func (in *Input) addCell(jc *jsonCell, at string) error {
	var c model.Cell
	var err error
	if c.ID, err = needString(jc.ID, at+".id"); err != nil {
		return err
	}
	if jc.Zone == nil {
		return fieldErr(at+".zone", "missing")
	}
	c.Zone = *jc.Zone
	if c.Index, err = needInt(jc.Index, at+".index"); err != nil {
		return err
	}
	if c.Total, err = jc.Total.decode(at + ".total"); err != nil {
		return err
	}
	if c.Available, err = jc.Available.decode(at + ".available"); err != nil {
		return err
	}
	if c.StartingContainers, err = optInt(jc.StartingContainers, at+".starting_containers", 0); err != nil {
		return err
	}
	if c.ProxyMemoryMB, err = optInt(jc.ProxyMemoryMB, at+".proxy_memory_mb", 0); err != nil {
		return err
	}
	c.Evacuating = jc.Evacuating
	c.RootFSProviders, c.PlacementTags = jc.RootFSProviders, jc.PlacementTags
	c.OptionalPlacementTags, c.VolumeDrivers = jc.OptionalPlacementTags, jc.VolumeDrivers
	if c.Compute, err = jc.Compute.decode(at + ".compute"); err != nil {
		return err
	}
	if err := in.State.AddCell(c); err != nil {
		var ve *model.ValidationError
		if errors.As(err, &ve) {
			return fieldErr(at+"."+ve.Field, ve.Problem)
		}
		return fmt.Errorf("%s: %w", at, err)
	}
	for j, l := range jc.LRPs {
		f := fmt.Sprintf("%s.lrps[%d]", at, j)
		guid, err := needString(l.ProcessGUID, f+".process_guid")
		if err != nil {
			return err
		}
		if err := nonNegative(f, []string{"index", "memory_mb", "disk_mb"}, l.Index, l.MemoryMB, l.DiskMB); err != nil {
			return err
		}
		if err := in.State.addListedLRP(c.ID, guid); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	for j, t := range jc.Tasks {
		f := fmt.Sprintf("%s.tasks[%d]", at, j)
		guid, err := needString(t.TaskGUID, f+".task_guid")
		if err != nil {
			return err
		}
		if err := nonNegative(f, []string{"memory_mb", "disk_mb"}, t.MemoryMB, t.DiskMB); err != nil {
			return err
		}
		if err := in.State.addListedTask(c.ID, guid); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}

// nonNegative checks optional figures of listed work, in the order named.
func nonNegative(at string, names []string, ps ...*int) error {
	for i, p := range ps {
		if p != nil && *p < 0 {
			return fieldErr(at+"."+names[i], fmt.Sprintf("must be >= 0, got %d", *p))
		}
	}
	return nil
}

func decodeResource(w *jsonWork, at itemPath) (model.Resource, error) {
	var r model.Resource
	var err error
	if r.MemoryMB, err = at.needInt(w.MemoryMB, "memory_mb"); err != nil {
		return r, err
	}
	if r.DiskMB, err = at.needInt(w.DiskMB, "disk_mb"); err != nil {
		return r, err
	}
	if r.MaxPids, err = at.optInt(w.MaxPids, "max_pids", 0); err != nil {
		return r, err
	}
	return r, nil
}

func decodeLRP(w *jsonWork, at itemPath, specs *Specs) (LRP, error) {
	var l LRP
	var sp LRPSpec
	var err error
	if w.TaskGUID != nil {
		return l, fieldErr(at.field("task_guid"), "not allowed on an LRP")
	}
	if l.ProcessGUID, err = at.needString(w.ProcessGUID, "process_guid"); err != nil {
		return l, err
	}
	if l.Index, err = at.needInt(w.Index, "index"); err != nil {
		return l, err
	}
	if sp.Resource, err = decodeResource(w, at); err != nil {
		return l, err
	}
	if sp.MaxPerCell, err = at.optInt(w.MaxPerCell, "max_per_cell", 0); err != nil {
		return l, err
	}
	if sp.RootFS, err = at.needString(w.RootFS, "rootfs"); err != nil {
		return l, err
	}
	sp.Domain, sp.PlacementTags, sp.VolumeDrivers = w.Domain, w.PlacementTags, w.VolumeDrivers
	if err := at.validateCompute(w.Compute); err != nil {
		return l, err
	}
	sp.Compute = w.Compute
	l.LRPSpec = specs.Share(&sp)
	return l, nil
}

func decodeTask(w *jsonWork, at itemPath) (Task, error) {
	var t Task
	var err error
	if w.ProcessGUID != nil || w.Index != nil || w.MaxPerCell != nil {
		return t, fieldErr(at.String(), "process_guid, index and max_per_cell are not allowed on a task")
	}
	if t.GUID, err = at.needString(w.TaskGUID, "task_guid"); err != nil {
		return t, err
	}
	if t.Resource, err = decodeResource(w, at); err != nil {
		return t, err
	}
	if t.RootFS, err = at.needString(w.RootFS, "rootfs"); err != nil {
		return t, err
	}
	t.Domain, t.PlacementTags, t.VolumeDrivers = w.Domain, w.PlacementTags, w.VolumeDrivers
	if err := at.validateCompute(w.Compute); err != nil {
		return t, err
	}
	t.Compute = w.Compute
	return t, nil
}

// EncodeResults renders RESULT.json: {"lrps": [...], "tasks": [...]} in input order,
// indented by two spaces, with a final newline; the bytes json.MarshalIndent(v, "", "  ")
// gives for the same objects (TestEncodeResultsMatchesMarshalIndent). It writes straight
// into one buffer sized for the results: a million results went through reflection
// and a growing buffer before.
func EncodeResults(res Results) ([]byte, error) {
	n := 64
	for i := range res.LRPs {
		l := &res.LRPs[i]
		n += 100 + len(l.ProcessGUID) + len(l.CellID) + len(l.Error)
	}
	for i := range res.Tasks {
		t := &res.Tasks[i]
		n += 80 + len(t.GUID) + len(t.CellID) + len(t.Error)
	}
	b := make([]byte, 0, n)
	var err error
	b = append(b, "{\n  \"lrps\": ["...)
	for i := range res.LRPs {
		l := &res.LRPs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    {\n      \"process_guid\": "...)
		if b, err = appendJSONString(b, l.ProcessGUID); err != nil {
			return nil, err
		}
		b = append(b, ",\n      \"index\": "...)
		b = strconv.AppendInt(b, int64(l.Index), 10)
		b = append(b, ",\n      \"cell_id\": "...)
		if b, err = appendJSONString(b, l.CellID); err != nil {
			return nil, err
		}
		b = append(b, ",\n      \"error\": "...)
		if b, err = appendJSONString(b, l.Error); err != nil {
			return nil, err
		}
		b = append(b, "\n    }"...)
	}
	if len(res.LRPs) > 0 {
		b = append(b, "\n  "...)
	}
	b = append(b, "],\n  \"tasks\": ["...)
	for i := range res.Tasks {
		t := &res.Tasks[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    {\n      \"task_guid\": "...)
		if b, err = appendJSONString(b, t.GUID); err != nil {
			return nil, err
		}
		b = append(b, ",\n      \"cell_id\": "...)
		if b, err = appendJSONString(b, t.CellID); err != nil {
			return nil, err
		}
		b = append(b, ",\n      \"error\": "...)
		if b, err = appendJSONString(b, t.Error); err != nil {
			return nil, err
		}
		b = append(b, "\n    }"...)
	}
	if len(res.Tasks) > 0 {
		b = append(b, "\n  "...)
	}
	return append(b, "]\n}\n"...), nil
}

// appendJSONString appends s as a JSON string. Strings of printable ASCII other than the
// characters JSON or HTML-safe encoding escape (" \\ < > &), all the guids, cell ids and
// error texts in practice, are copied between quotes; any other goes through json.Marshal,
// so the bytes are the library's either way.
func appendJSONString(b []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, err := json.Marshal(s)
			return append(b, q...), err
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), nil
}
