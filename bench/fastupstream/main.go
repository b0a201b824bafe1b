// Command fastupstream is the upstream of `make bench`: a minimal stand-in
// for restlink that reads the request body and answers the send endpoint's
// JSON, doing as little as possible so that the proxies in front of it are
// what is measured. It refuses requests without an X-API-Key (401), so a
// proxy that forgets the key shows up as errors.
package main

import (
	"flag"
	"io"
	"log"
	"net/http"
	"strconv"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	answer := []byte(`{"message_id":"msg_1","status":"queued","to":["+14155551234"]}`)
	length := strconv.Itoa(len(answer))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("X-Api-Key") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Header()["Content-Length"] = []string{length}
		_, _ = w.Write(answer)
	})
	log.Fatal(http.ListenAndServe(*addr, h))
}
