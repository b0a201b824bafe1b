package webhook

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// crashChildEnv, when set, makes TestCrashLosesNoAcknowledgedEvent run
// as the child: it spools events into the directory the variable names
// and prints the id of each one Enqueue acknowledged, until killed.
const crashChildEnv = "WEBHOOK_CRASH_CHILD_DIR"

// TestCrashLosesNoAcknowledgedEvent kills (SIGKILL) a process in the
// middle of concurrent Enqueues, then checks that every event it
// acknowledged is in the spool and that the spool file is consistent.
func TestCrashLosesNoAcknowledgedEvent(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashLosesNoAcknowledgedEvent$")
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
	acked := make(map[string]bool)
	killed := false
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		id, ok := strings.CutPrefix(scanner.Text(), "ACK ")
		if !ok {
			continue
		}
		acked[id] = true
		if len(acked) == killAfter && !killed {
			// Mid-stream: the child's writers are in their next
			// Enqueue. Lines already in the pipe are still read.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited before %d acknowledgements (got %d): %v", killAfter, len(acked), err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v", cmd.ProcessState)
	}

	sp := openSpool(t, dir, SpoolOptions{})
	checkDB(t, sp)
	pending := pendingIDs(t, sp)
	missing := 0
	for id := range acked {
		if pending[id] == nil {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged events are missing after the crash", missing, len(acked))
	}
	st, err := sp.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st["main"].Pending != len(pending) {
		t.Fatalf("Stats pending = %d, but %d events are in the spool", st["main"].Pending, len(pending))
	}
}

// crashChild enqueues from several goroutines forever; the parent kills it.
func crashChild(dir string) {
	sp, err := OpenSpool(dir, SpoolOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	var (
		mu  sync.Mutex
		out = bufio.NewWriter(os.Stdout)
	)
	for w := range 8 {
		go func() {
			for i := 0; ; i++ {
				ev := newEvent("main", w*1_000_000+i)
				if _, err := sp.Enqueue(ev, time.Hour); err != nil {
					fmt.Fprintln(os.Stderr, "child:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(out, "ACK %s\n", ev.ID)
				out.Flush() // acknowledged means told
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Minute)
	os.Exit(3) // the parent should have killed us long before
}
