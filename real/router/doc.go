// Package router is real mode's HTTP router (gorouter's part) and its route emitter.
//
// The Router is a reverse proxy (net/http/httputil) on 127.0.0.1 that picks an app
// by the request's Host header (NAME.localhost and the app's pushed routes, port
// ignored, case-insensitive) and sends the request to one of the app's routable
// instances, round robin. A request that fails to reach an instance (connection
// refused or closed before any response byte) is retried on the next instance, at
// most once per instance, when it has no body (or its body was not read); the
// failure of every attempt is a 502. An unknown host is a 404 naming the host; a
// known app with no routable instance is a 502 saying so. The router adds
// X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto and X-Request-Id (kept when
// the client sent one), and writes one access-log line per request (source RTR) to
// the app's log stream.
//
// The Emitter keeps the router's Table in step with the BBS: it follows the BBS
// event stream (GET /v1/events) and applies each ActualLRP change (an instance is
// routable while RUNNING and ORDINARY or EVACUATING; anything else removes it), and
// it fetches the whole table (GET /v1/routes) at start, after any event it cannot
// apply (a new app, a desired change), after a broken stream, and every
// SyncInterval (Diego's route-emitter: 60 s), which repairs anything missed.
//
// Invariants: the router listens on 127.0.0.1 only and forwards only to endpoints
// whose address is 127.0.0.1:PORT; a Table read never blocks on a writer for longer
// than a pointer swap (endpoint lists are copied on write).
package router
