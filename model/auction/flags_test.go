package auction

import "flag"

var scalingAll = flag.Bool("scaling-all", false, "BenchmarkScaling: also run the candidate-scan reference where cells x instances > 1e8")
