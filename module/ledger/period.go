package ledger

import "time"

// Layouts of the budget periods, which are also the names of segments.
const (
	dayLayout   = "2006-01-02"
	monthLayout = "2006-01"
)

// periods returns the day and the month that t falls in, in tz.
func periods(t time.Time, tz *time.Location) (day, month string) {
	local := t.In(tz)
	return local.Format(dayLayout), local.Format(monthLayout)
}

// monthOf returns the month of a day ("2026-12-05" is in "2026-12").
// day must have passed checkDay.
func monthOf(day string) string { return day[:len(monthLayout)] }

// addDays returns the day n days after day (before it when n < 0). day
// must have passed checkDay.
func addDays(day string, n int) string {
	t, _ := time.Parse(dayLayout, day)
	return t.AddDate(0, 0, n).Format(dayLayout)
}

// firstOfMonth returns the first day of day's month.
func firstOfMonth(day string) string { return monthOf(day) + "-01" }
