// Package sqlstore is the BBS's persistence in real mode: a bbs.Store on SQLite
// through the pure-Go driver modernc.org/sqlite (no cgo), in WAL mode.
//
// Schema (portable SQL: the same statements run on PostgreSQL, which several hosts
// will need): every record is kept as its key columns plus the record as JSON text.
//
//	desired_lrps(process_guid PK, body)
//	actual_lrps(process_guid, idx, presence PK; cell_id indexed; body)
//	tasks(task_guid PK, body)
//	domains(name PK, expires_at)
//	meta(name PK, value)             the cluster epoch, counters, tokens' owners ...
//	specs(kind, name PK, body)       real mode's own records: app specs, task run info
//
// Transactions: Begin starts one, Commit/Rollback end it; while one is open every
// method runs inside it. The BBS server wraps each control-plane operation (and the
// draining of its outputs) in one transaction, so every multi-row change is atomic.
// Outside a transaction each method is its own statement.
//
// Invariants:
//   - List methods return the order bbs.Store documents (ORDER BY the key columns);
//   - Put is an upsert (INSERT ... ON CONFLICT DO UPDATE), Delete of a missing row is
//     not an error;
//   - the store is used from one goroutine at a time (the BBS server's lock); the
//     *sql.DB has one connection, so a transaction sees its own writes.
package sqlstore
