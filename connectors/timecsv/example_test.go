package timecsv_test

import (
	"context"
	"fmt"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/timecsv"
	"github.com/karkas/karkas/record"
)

// A Toggl Track detailed export read with start times in Moscow time.
func Example() {
	opts := timecsv.NewOptions()
	opts.Files = []string{"toggl/*.csv"}
	opts.Preset = "toggl"
	opts.TimeZone = "Europe/Moscow"

	src, err := timecsv.Open(opts, connectors.Env{BaseDir: "testdata"})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = src.Pull(context.Background(), "", func(_ context.Context, b *record.Batch) error {
		for _, e := range b.TimeEntries {
			fmt.Println(e.Date, e.PersonID, e.Start.Format("15:04Z"), e.Seconds, e.Note)
		}
		fmt.Println("end of snapshot:", b.EndOfSnapshot)
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// 2024-03-04 jane@agency.example 06:15Z 5430 Homepage mockup
	// 2024-03-05 jane@agency.example 20:30Z 1800 Standup
	// end of snapshot: true
}
