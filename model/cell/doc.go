// Package cell holds the cell side of Diego's decisions, shared by every driver whose
// cells are reps: what a rep does when its containers and the BBS disagree (the bulk
// sync's harmonizing table, DIEGO.md §3.2 and §6.4).
//
// Like the rest of model/ it is pure: the rep hands in what it sees (its containers,
// the BBS's rows for the cell, how old each container is) and gets decisions back as
// data, sorted, for it to carry out over HTTP (real mode) or on simulated containers.
package cell
