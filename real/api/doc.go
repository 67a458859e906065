// Package api holds what real mode's processes say to each other over HTTP/JSON on
// 127.0.0.1: the request and reply types of the BBS API (used by the CLI and by the
// reps) and of the rep API (used by the BBS), a small client, and the server-side
// helpers every handler uses (bearer-token check in constant time, strict JSON
// decoding with a size limit, JSON errors).
//
// Invariants:
//   - every request carries "Authorization: Bearer TOKEN"; a missing or wrong token
//     is a 401 with a JSON error, checked before the body is read;
//   - request bodies are decoded with DisallowUnknownFields under
//     http.MaxBytesReader; trailing data, unknown fields, wrong types and oversized
//     bodies are 4xx JSON errors ({"error": "..."}) and nothing is changed;
//   - every reply is either 2xx with the documented JSON body or a JSON Error.
package api
