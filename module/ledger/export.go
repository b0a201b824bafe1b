package ledger

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"slices"
	"strconv"
)

// usageColumns are the columns of a usage report after its keys.
var usageColumns = []string{
	"sends", "recipients", "segments", "estimated", "charged", "delivered_cost",
	"delivered", "undelivered", "pending", "currency",
}

// WriteCSV writes rows as CSV: a header row, then one line per row. The
// columns are the keys in by (the Query's By the rows came from), then
// sends, recipients, segments, estimated, charged, delivered_cost,
// delivered, undelivered, pending and currency. Amounts are decimals
// with at most 6 places (1.5, 0.0085).
func WriteCSV(w io.Writer, by []string, rows []Row) error {
	if err := checkKeys(by); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(append(slices.Clone(by), usageColumns...)); err != nil {
		return err
	}
	for i := range rows {
		r := &rows[i]
		line := make([]string, 0, len(by)+len(usageColumns))
		for _, k := range by {
			line = append(line, r.key(k))
		}
		line = append(line,
			strconv.FormatInt(r.Sends, 10), strconv.FormatInt(r.Recipients, 10), strconv.FormatInt(r.Segments, 10),
			formatMicros(r.EstimatedMicros), formatMicros(r.ChargedMicros), formatMicros(r.DeliveredCostMicros),
			strconv.FormatInt(r.Delivered, 10), strconv.FormatInt(r.Undelivered, 10), strconv.FormatInt(r.Pending, 10),
			r.Currency)
		if err := cw.Write(line); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes rows as a JSON array of objects, one per line, whose
// names and order are the columns of WriteCSV. Amounts are JSON numbers
// written as exact decimals with at most 6 places: read them as decimals,
// not floats, to keep them exact.
func WriteJSON(w io.Writer, by []string, rows []Row) error {
	if err := checkKeys(by); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	for i := range rows {
		r := &rows[i]
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n{")
		for _, k := range by {
			writeJSONString(bw, k)
			bw.WriteString(":")
			writeJSONString(bw, r.key(k))
			bw.WriteString(",")
		}
		for j, v := range []string{
			strconv.FormatInt(r.Sends, 10), strconv.FormatInt(r.Recipients, 10), strconv.FormatInt(r.Segments, 10),
			formatMicros(r.EstimatedMicros), formatMicros(r.ChargedMicros), formatMicros(r.DeliveredCostMicros),
			strconv.FormatInt(r.Delivered, 10), strconv.FormatInt(r.Undelivered, 10), strconv.FormatInt(r.Pending, 10),
		} {
			writeJSONString(bw, usageColumns[j])
			bw.WriteString(":")
			bw.WriteString(v)
			bw.WriteString(",")
		}
		writeJSONString(bw, "currency")
		bw.WriteString(":")
		writeJSONString(bw, r.Currency)
		bw.WriteString("}")
	}
	if len(rows) > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

// writeJSONString writes s as a JSON string.
func writeJSONString(w *bufio.Writer, s string) {
	b, _ := json.Marshal(s) // a string always marshals
	w.Write(b)
}

// formatMicros writes an amount of micro-units as a decimal with at most
// 6 places and no trailing zeros: 1500000 is "1.5", 8500 is "0.0085".
// Integer arithmetic only, so that it is exact.
func formatMicros(v int64) string {
	u := uint64(v)
	if v < 0 {
		u = -u // also right for math.MinInt64
	}
	b := strconv.AppendUint(make([]byte, 0, 24), u/1_000_000, 10)
	if frac := u % 1_000_000; frac != 0 {
		digits := []byte{'.', '0', '0', '0', '0', '0', '0'}
		for i := 6; frac > 0; i-- {
			digits[i] = byte('0' + frac%10)
			frac /= 10
		}
		n := len(digits)
		for digits[n-1] == '0' {
			n--
		}
		b = append(b, digits[:n]...)
	}
	if v < 0 {
		return "-" + string(b)
	}
	return string(b)
}
