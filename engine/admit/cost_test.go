package admit

import "testing"

func TestEstimateCost(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name      string
		fileSize  int64
		batchSize int
		want      uint64
	}{
		// 32 MiB + batch × 80 KiB + fileSize/1024, capped at 512 MiB.
		{name: "empty file batch 1", fileSize: 0, batchSize: 1, want: 32*mib + 80<<10},
		{name: "batch 0 counts as 1", fileSize: 0, batchSize: 0, want: 32*mib + 80<<10},
		{name: "negative batch counts as 1", fileSize: 0, batchSize: -5, want: 32*mib + 80<<10},
		{name: "negative size ignored", fileSize: -1, batchSize: 1, want: 32*mib + 80<<10},
		{name: "3.2 MB file batch 1000", fileSize: 3215360, batchSize: 1000, want: 32*mib + 1000*80<<10 + 3215360/1024},
		{name: "batch 2000", fileSize: 0, batchSize: 2000, want: 32*mib + 2000*80<<10},
		{name: "1 GiB file batch 1000", fileSize: 1 << 30, batchSize: 1000, want: 32*mib + 1000*80<<10 + 1*mib},
		{name: "huge batch capped", fileSize: 0, batchSize: 1 << 40, want: 512 * mib},
		{name: "huge file capped", fileSize: 1 << 50, batchSize: 1000, want: 512 * mib},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := EstimateCost(tc.fileSize, tc.batchSize); got != tc.want {
				t.Errorf("EstimateCost(%d, %d) = %d; want %d", tc.fileSize, tc.batchSize, got, tc.want)
			}
		})
	}
}

// TestEstimateCostCoversMeasurement checks the formula against a fresh
// measurement of the calibration file, parse only (the Bleve part is
// measured by BenchmarkFileCost). It compares sizes, not speed.
func TestEstimateCostCoversMeasurement(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	path := testdataDir(t) + "/" + calibrationFile
	for _, n := range []int{1, 1000} {
		peak, _ := measureFile(t, path, n, nil)
		if est := EstimateCost(3215360, n); peak > est {
			t.Errorf("batch %d: measured peak %d B > estimate %d B", n, peak, est)
		}
	}
}
