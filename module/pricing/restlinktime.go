package pricing

import "time"

// timeLayout is how restlink writes times in its pricing and balance
// answers ("2026.02.13 10:15:00"), always in UTC.
const timeLayout = "2006.01.02 15:04:05"

// parseTime reads a time restlink wrote, as UTC.
func parseTime(s string) (time.Time, error) {
	return time.Parse(timeLayout, s)
}
