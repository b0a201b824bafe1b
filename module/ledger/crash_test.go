package ledger

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// crashChildEnv, when set, makes TestCrashLosesNoReservation run as the
// child: it reserves into the ledger directory the variable names and
// prints the id and estimate of each reservation Reserve returned, until
// killed.
const crashChildEnv = "LEDGER_CRASH_CHILD_DIR"

// crashTime is the child's and the parent's clock, so that both see the
// same day whenever the test runs.
var crashTime = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// TestCrashLosesNoReservation kills (SIGKILL) a process in the middle of
// concurrent reservations and settlements, then checks that every
// reservation it was told of is on disk, that the tenant's spend is at
// least what those reserved and equals what the ledger holds, and that
// the sends left unsettled are settled as unknown, once.
func TestCrashLosesNoReservation(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashLosesNoReservation$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	const killAfter = 300
	acked := make(map[string]int64)
	var ackedSum int64
	killed := false
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) != 3 || fields[0] != "ACK" {
			continue
		}
		est, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		acked[fields[1]] = est
		ackedSum += est
		if len(acked) == killAfter && !killed {
			// Mid-stream: the child's writers are in their next
			// Reserve. Lines already in the pipe are still read.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited before %d reservations (got %d): %v", killAfter, len(acked), err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v", cmd.ProcessState)
	}

	clock := newFakeClock()
	clock.Set(crashTime)
	l := openLedger(t, dir, clock, Options{})
	for _, p := range l.Recovery().Problems {
		if !errors.Is(p, ErrTornLine) {
			t.Errorf("replay after the crash: %v", p)
		}
	}
	onDisk := make(map[string]int64)
	var held int64
	for _, rec := range records(t, dir) {
		if r, ok := rec.(*Reservation); ok {
			onDisk[r.ID] = r.EstimateMicros
			held += r.EstimateMicros
		}
	}
	missing := 0
	for id := range acked {
		if _, ok := onDisk[id]; !ok {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d reservations Reserve returned are missing after the crash", missing, len(acked))
	}
	// Every send is charged its estimate or cut off, so the ledger holds
	// the sum of the estimates on disk.
	spent := l.Spent().Tenants["acme"]
	if spent.MonthMicros < ackedSum || spent.MonthMicros != held || spent.DayMicros != held {
		t.Fatalf("spend after the crash = %+v; reserved and returned %d, on disk %d", spent, ackedSum, held)
	}
	unsettled := len(l.Recovery().Unsettled)
	if unsettled == 0 {
		t.Fatal("no send was in flight at the crash")
	}
	t.Logf("%d reservations returned, %d on disk, %d in flight settled as unknown at Open", len(acked), len(onDisk), unsettled)
	mustClose(t, l)

	l = openLedger(t, dir, clock, Options{})
	if rec := l.Recovery(); len(rec.Unsettled) != 0 || len(rec.Problems) != 0 {
		t.Fatalf("a second Open recovered %+v", rec)
	}
	if got := l.Spent().Tenants["acme"]; got != spent {
		t.Fatalf("spend after a second Open = %+v, want %+v", got, spent)
	}
}

// crashChild reserves from several goroutines forever, settling every
// other send charged at its estimate and leaving the rest in flight; the
// parent kills it.
func crashChild(dir string) {
	l, err := Open(dir, Options{Now: func() time.Time { return crashTime }})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	var (
		mu  sync.Mutex
		out = bufio.NewWriter(os.Stdout)
	)
	for w := range 16 {
		go func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("s%d-%d", w, i)
				est := int64(1_000 + (i%7)*250)
				if err := l.Reserve(send(id, "acme", est)); err != nil {
					fmt.Fprintln(os.Stderr, "child:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(out, "ACK %s %d\n", id, est)
				out.Flush() // returned means told
				mu.Unlock()
				if i%2 == 0 {
					if err := l.Settle(charged(id, est)); err != nil {
						fmt.Fprintln(os.Stderr, "child:", err)
						os.Exit(2)
					}
				}
			}
		}()
	}
	time.Sleep(time.Minute)
	os.Exit(3) // the parent should have killed us long before
}
