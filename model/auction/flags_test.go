package auction

import "flag"

var scalingAll = flag.Bool("scaling-all", false, "BenchmarkScaling: also run scan algorithms where cells x instances > 1e8")
