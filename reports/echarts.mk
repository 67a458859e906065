# echarts.mk: included from the top Makefile. `make echarts` fetches ECharts 5.4.3 (the
# version go-echarts v2.6.7 targets) from the npm registry (needs npm) into
# reports/assets/echarts.min.js (git-ignored), where the reports package embeds it at
# build time, so every report is one self-contained HTML file. The target does
# nothing when the file is already there with the right version.
#
# ECHARTS_DEP is the prerequisite the build target lists. Set ECHARTS_DEP= to build
# without ECharts (reports then link echarts.min.js next to the report file).

ECHARTS_JS  := reports/assets/echarts.min.js
ECHARTS_DEP ?= echarts

.PHONY: echarts
echarts: $(ECHARTS_JS)

# Without npm (or the registry) the build goes on: `make run` still works and its
# reports link echarts.min.js instead of inlining it (the page says so). The browser
# test in `make test` does need the asset, and says to run `make echarts`.
$(ECHARTS_JS): reports/fetch-echarts.sh
	@sh reports/fetch-echarts.sh $@ || echo "make: could not fetch ECharts; reports will link echarts.min.js next to each report instead of inlining it (docs/reports.md)" >&2
