"""tools/bench's machinery: set-up, the run plan, the report and the chart."""
