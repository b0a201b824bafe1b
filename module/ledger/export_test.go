package ledger

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestFormatMicros(t *testing.T) {
	for micros, want := range map[int64]string{
		0:             "0",
		1:             "0.000001",
		8_500:         "0.0085",
		1_500_000:     "1.5",
		1_000_000:     "1",
		12_345_678:    "12.345678",
		-250_000:      "-0.25",
		-3_000_000:    "-3",
		math.MaxInt64: "9223372036854.775807",
		math.MinInt64: "-9223372036854.775808",
	} {
		if got := formatMicros(micros); got != want {
			t.Errorf("formatMicros(%d) = %q, want %q", micros, got, want)
		}
	}
}

var exportRows = []Row{
	{Tenant: "acme", Country: "GB", Sends: 2, Recipients: 2, Segments: 4, EstimatedMicros: 40_000, ChargedMicros: 27_000, DeliveredCostMicros: 8_500, Delivered: 1, Pending: 1, Currency: "EUR"},
	{Tenant: "beta", Country: "ZZ", Sends: 1, Recipients: 1, Segments: 1, EstimatedMicros: 1_500_000, Undelivered: 1, Currency: "EUR"},
}

func TestWriteCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, []string{KeyTenant, KeyCountry}, exportRows); err != nil {
		t.Fatal(err)
	}
	want := "tenant,country,sends,recipients,segments,estimated,charged,delivered_cost,delivered,undelivered,pending,currency\n" +
		"acme,GB,2,2,4,0.04,0.027,0.0085,1,0,1,EUR\n" +
		"beta,ZZ,1,1,1,1.5,0,0,0,1,0,EUR\n"
	if buf.String() != want {
		t.Fatalf("CSV:\n%s\nwant:\n%s", buf.String(), want)
	}

	buf.Reset()
	if err := WriteCSV(&buf, []string{KeyDay}, nil); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "day,sends,recipients,segments,estimated,charged,delivered_cost,delivered,undelivered,pending,currency\n" {
		t.Fatalf("CSV of no rows: %q", got)
	}
	if err := WriteCSV(&buf, []string{"number"}, nil); err == nil {
		t.Fatal("WriteCSV grouped by an unknown key")
	}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, []string{KeyTenant, KeyCountry}, exportRows); err != nil {
		t.Fatal(err)
	}
	want := `[
{"tenant":"acme","country":"GB","sends":2,"recipients":2,"segments":4,"estimated":0.04,"charged":0.027,"delivered_cost":0.0085,"delivered":1,"undelivered":0,"pending":1,"currency":"EUR"},
{"tenant":"beta","country":"ZZ","sends":1,"recipients":1,"segments":1,"estimated":1.5,"charged":0,"delivered_cost":0,"delivered":0,"undelivered":1,"pending":0,"currency":"EUR"}
]
`
	if buf.String() != want {
		t.Fatalf("JSON:\n%s\nwant:\n%s", buf.String(), want)
	}
	// The amounts read back exactly as decimals.
	dec := json.NewDecoder(strings.NewReader(buf.String()))
	dec.UseNumber()
	var objs []map[string]any
	if err := dec.Decode(&objs); err != nil {
		t.Fatal(err)
	}
	if got := objs[0]["delivered_cost"].(json.Number).String(); got != "0.0085" {
		t.Fatalf("delivered_cost reads back as %s", got)
	}

	buf.Reset()
	if err := WriteJSON(&buf, nil, nil); err != nil || buf.String() != "[]\n" {
		t.Fatalf("JSON of no rows: %q, %v", buf.String(), err)
	}
}
