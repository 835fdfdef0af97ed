"""What an operator sees of a running host: metrics, logs and traces (docs/operations.md).

* :mod:`.metrics`: the host's Prometheus instruments and the calls that feed them;
  :mod:`.endpoint` serves them with Litestar's HTTP metrics on ``GET /metrics`` (a token).
* :mod:`.context`: the current request's id, tenant, integration and action (context variables);
  :mod:`.middleware` sets them per request and returns ``X-Request-ID``; :mod:`.logs` writes them
  into JSON log lines; audit rows take the request id from there.
* :mod:`.tracing`: OpenTelemetry, only when configured (nothing imported otherwise).
"""
