package model

import (
	"errors"
	"fmt"
)

// Sentinel errors for expected outcomes; the typed errors below wrap them so callers can
// test with errors.Is and still read the details with errors.As.
var (
	ErrInvalidTransition = errors.New("invalid state transition")
	ErrNotFound          = errors.New("resource not found")
	ErrExists            = errors.New("resource already exists")
	ErrInvalid           = errors.New("invalid")
)

// ValidationError names the field that is wrong and what is expected of it.
type ValidationError struct {
	Field   string
	Problem string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Problem }
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// TransitionError is a refused state change of an ActualLRP or a Task.
type TransitionError struct {
	Kind   string // "actual_lrp" or "task"
	Key    string // "process-guid/index" or the task guid
	From   string
	To     string
	Reason string
}

func (e *TransitionError) Error() string {
	msg := fmt.Sprintf("%s %s: cannot go from %s to %s", e.Kind, e.Key, e.From, e.To)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

func (e *TransitionError) Unwrap() error { return ErrInvalidTransition }

// NotFoundError names the missing record.
type NotFoundError struct{ Kind, Key string }

func (e *NotFoundError) Error() string { return e.Kind + " " + e.Key + " not found" }
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// ExistsError names the record that already exists.
type ExistsError struct{ Kind, Key string }

func (e *ExistsError) Error() string { return e.Kind + " " + e.Key + " already exists" }
func (e *ExistsError) Unwrap() error { return ErrExists }
