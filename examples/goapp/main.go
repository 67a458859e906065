// Command goapp is real mode's example web app: / says hello, /health answers ok
// (500 once /sicken was called: for http health checks), /crash exits with status 1
// (a crash the BBS's restart policy handles). It listens on
// $PORT (8080 by default) and logs one line per request. Build it statically:
//
//	CGO_ENABLED=0 go build -o examples/goapp/app ./examples/goapp
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"sync/atomic"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	index := os.Getenv("INSTANCE_INDEX")
	log.SetFlags(0)
	var sick atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s from instance %s", r.Method, r.URL.Path, index)
		fmt.Fprintf(w, "Hello from diegolab instance %s\n", index)
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s from instance %s", r.Method, r.URL.Path, index)
		if sick.Load() {
			http.Error(w, "sick", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/sicken", func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s from instance %s: /health answers 500 from now on", r.Method, r.URL.Path, index)
		sick.Store(true)
		fmt.Fprintln(w, "sick")
	})
	mux.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s from instance %s: exiting with status 1", r.Method, r.URL.Path, index)
		os.Exit(1)
	})
	log.Printf("listening on 127.0.0.1:%s (instance %s)", port, index)
	if err := http.ListenAndServe("127.0.0.1:"+port, mux); err != nil {
		log.Fatal(err)
	}
}
