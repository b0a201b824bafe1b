// Package signals is the engine of the sidecar's fraud signals: it
// decides, from counts the caller keeps, when a tenant's traffic to one
// destination country turns abnormal (SMS pumping), and it describes the
// quarantine that follows.
//
// Two signals are evaluated per tenant × country:
//
//   - Delivery ratio: DELIVRD reports against every final report
//     (DELIVRD, UNDELIV, REJECTD, EXPIRED) in a sliding window. It is
//     evaluated once MinReports reports are in the window, and fires
//     below RatioBelow. Reports are counted in slots of a twelfth of the
//     window (see RatioSlot), so the window slides by that step.
//   - Volume: recipients per whole window against the tenant × country's
//     own baseline, the mean and standard deviation σ of its complete
//     windows within Baseline, once at least MinBaselineWindows exist. It
//     fires when a window's count is at least MinSends and above
//     mean + Sigma × max(σ, √mean).
//
// The package keeps no state and does no I/O but for the quarantine file
// and lift requests of a sidecar without a shared store (book.go): the
// caller counts (in the sidecar's store, shared by a fleet through
// Redis), evaluates with the functions here, and enforces.
package signals
