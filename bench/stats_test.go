package bench

import (
	"math"
	"testing"
)

func TestMeanCI(t *testing.T) {
	tests := []struct {
		name       string
		x          []float64
		n          int
		mean, ci95 float64
	}{
		// mean 3; s^2 = (4+1+0+1+4)/4 = 2.5; t(0.975, 4) = 2.7764451; 2.7764451*sqrt(2.5)/sqrt(5) = 1.9632432.
		{"one to five", []float64{1, 2, 3, 4, 5}, 5, 3, 1.9632432},
		// mean 11; s^2 = (1+1)/1 = 2; t(0.975, 1) = 12.7062047; 12.7062047*sqrt(2)/sqrt(2) = 12.7062047.
		{"two values", []float64{10, 12}, 2, 11, 12.7062047},
		// NaN values are ignored: same as {10, 12}.
		{"NaN ignored", []float64{10, math.NaN(), 12}, 2, 11, 12.7062047},
		// constant sample: zero-width interval.
		{"constant", []float64{0.5, 0.5, 0.5}, 3, 0.5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := MeanCI(tt.x)
			if st.N != tt.n || math.Abs(st.Mean-tt.mean) > 1e-9 || math.Abs(st.CI95-tt.ci95) > 1e-6 {
				t.Errorf("MeanCI(%v) = %+v, want n %d mean %v ci95 %v", tt.x, st, tt.n, tt.mean, tt.ci95)
			}
		})
	}
	t.Run("single value has no interval", func(t *testing.T) {
		st := MeanCI([]float64{7})
		if st.N != 1 || st.Mean != 7 || !math.IsNaN(st.CI95) {
			t.Errorf("got %+v", st)
		}
	})
	t.Run("empty", func(t *testing.T) {
		if st := MeanCI(nil); st.N != 0 || !math.IsNaN(st.Mean) {
			t.Errorf("got %+v", st)
		}
	})
}
