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
	// restlink's answer to a send to one recipient, with its cost.
	answer := []byte(`{"status":true,"messages":[{"dnis":"+14155551234","message_id":"api_42_1_0000000000000001","segment_num":1}],` +
		`"results":[{"dnis":"+14155551234","message_id":"api_42_1_0000000000000001","segments":1,"status":"accepted"}],` +
		`"summary":{"total_recipients":1,"total_segments":1,"total_cost":0.0085,"encoding":"GSM-7","accepted_count":1}}`)
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
