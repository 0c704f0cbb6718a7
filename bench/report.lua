-- Shared by the wrk scripts: one RESULT line the harness parses (rates and latencies in ms).
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50=%.3f p90=%.3f p99=%.3f max=%.3f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
