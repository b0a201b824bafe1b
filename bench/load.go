package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const smsBody = `{"to":["+14155551234"],"message":"hi","sender_id":"MyApp"}`

// wrkScript is the load: POST /api/v1/sms/send, at full speed or, with
// a pause, each connection waiting that many ms before its next request, the tenant rotating over
// tenant-0 … tenant-<n-1> request by request (or always the one named). With
// distinct set, each request is a send of its own: its own message text
// (identical signed requests would be spaced by restlink's replay window)
// and Idempotency-Key. The requests' heads are built once in init, so that
// wrk's own cost stays small.
const wrkScript = `local tenants = {}
local n = %[1]d
local fixed = "%[2]s"
local distinct = %[3]t
local run = "%[4]s"
local body = '%[5]s'
local i, seq = 0, 0
local pause = %[6]d
local extra = "%[7]s"
if pause > 0 then
	delay = function() return pause end
end
init = function(args)
	for t = 0, n - 1 do
		local name = fixed
		if name == "" then name = "tenant-" .. t end
		tenants[t + 1] = "POST /api/v1/sms/send HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-Tenant: " .. name .. "\r\n" .. extra
	end
end
request = function()
	i = i %% n + 1
	if distinct then
		seq = seq + 1
		local b = '{"to":["+14155551234"],"message":"hi ' .. run .. "-" .. seq .. '","sender_id":"MyApp"}'
		return tenants[i] .. "Idempotency-Key: " .. run .. "-" .. seq .. "\r\nContent-Length: " .. #b .. "\r\n\r\n" .. b
	end
	return tenants[i] .. "Content-Length: " .. #body .. "\r\n\r\n" .. body
end
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT %%d %%d %%d %%d %%d\n", summary.requests, summary.duration,
		e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
`

// wrkRuns numbers wrk runs, so that idempotency keys never repeat in a run.
var wrkRuns int

// wrk runs one load measurement against a server.
func wrk(s *server, conns int, d time.Duration) (result, error) {
	wrkRuns++
	n, fixed := s.tenants, s.tenant
	if fixed != "" || n < 1 {
		n = 1
	}
	script := filepath.Join(*workDir, "load.lua")
	pause := 0 // ms each connection waits before its next request
	if s.rate > 0 {
		pause = conns * 1000 / s.rate
	}
	lua := fmt.Sprintf(wrkScript, n, fixed, s.distinct, fmt.Sprintf("%d-%d", time.Now().UnixNano(), wrkRuns), smsBody, pause, s.extraHeader)
	if err := os.WriteFile(script, []byte(lua), 0o644); err != nil {
		return result{}, err
	}
	out, err := exec.Command("taskset", "-c", "1", "wrk", "-t1", fmt.Sprintf("-c%d", conns),
		fmt.Sprintf("-d%ds", max(1, int(d.Seconds()))), "--timeout", "5s", "-s", script,
		fmt.Sprintf("http://127.0.0.1:%d/api/v1/sms/send", s.port)).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	var r result
	var durUS, non2xx int64
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 6 && f[0] == "RESULT" {
			r.Requests, _ = strconv.ParseInt(f[1], 10, 64)
			durUS, _ = strconv.ParseInt(f[2], 10, 64)
			r.Errors, _ = strconv.ParseInt(f[3], 10, 64)
			r.P50us, _ = strconv.ParseFloat(f[4], 64)
			r.P99us, _ = strconv.ParseFloat(f[5], 64)
		}
		if strings.Contains(line, "Non-2xx or 3xx responses:") {
			f := strings.Fields(line)
			non2xx, _ = strconv.ParseInt(f[len(f)-1], 10, 64)
		}
	}
	if r.Requests == 0 {
		return r, fmt.Errorf("no result from wrk:\n%s", out)
	}
	r.WrongCodes = non2xx
	if s.refuses {
		r.WrongCodes = r.Requests - non2xx // a refusal row must refuse every request
	}
	r.Seconds = float64(durUS) / 1e6
	r.ReqPerSec = float64(r.Requests) / r.Seconds
	return r, nil
}
