"""OpenTelemetry traces: from an API call or a signal, through the workflow and
the delivery activity, to the HTTP POST (which carries a W3C ``traceparent``).

Off unless ``OTEL_TRACES_EXPORTER`` names an exporter (``console``: spans on
stderr; ``otlp``: to a collector, as the ``OTEL_EXPORTER_OTLP_*`` variables
say; several, comma-separated). Off means nothing at all: no tracer provider,
no Temporal interceptor, no instrumentation, and OpenTelemetry is not even
imported. On, it is:

- the Temporal SDK's ``TracingInterceptor`` on the client, and so on every
  worker made from it (workflow and activity spans, the context carried in
  Temporal headers from the caller to the workflow and its activities);
- FastAPI's instrumentation (the API's server spans) and httpx's (a client
  span per request, and the ``traceparent`` header the receiver sees).

The ``OTEL_*`` variables are the standard ones: ``OTEL_SERVICE_NAME``
(default ``hookflow``), ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_SDK_DISABLED``,
``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL``
(``http/protobuf``; ``grpc`` with opentelemetry-exporter-otlp-proto-grpc
installed), ``OTEL_TRACES_SAMPLER``... The embedded Temporal dev server is
started without them (``worker.devstack.devserver``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from activities.errors import SettingsError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

EXPORTERS = ("console", "otlp")
_state: dict[str, bool] = {"on": False}


def exporter_names(env: Mapping[str, str] = os.environ) -> list[str]:
    """The exporters ``OTEL_TRACES_EXPORTER`` names ([]: tracing is off)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",")]
    names = [n for n in names if n and n != "none"]
    unknown = [n for n in names if n not in EXPORTERS]
    if unknown:
        raise SettingsError(
            f"OTEL_TRACES_EXPORTER: unknown exporter {unknown[0]!r} (use {', '.join(EXPORTERS)})"
        )
    return names


def tracing_on() -> bool:
    """Whether ``setup_tracing`` turned tracing on in this process."""
    return _state["on"]


def setup_tracing(
    env: Mapping[str, str] = os.environ, *, exporter: SpanExporter | None = None
) -> bool:
    """Turn tracing on when ``OTEL_TRACES_EXPORTER`` asks for it (or ``exporter``
    is given, for tests); call before the API app and the Temporal client are
    made. True when tracing is on."""
    if _state["on"]:
        return True
    names = exporter_names(env)
    if not names and exporter is None:
        return False
    from opentelemetry import trace
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    service = env.get("OTEL_SERVICE_NAME") or "hookflow"
    resource = OTELResourceDetector().detect().merge(Resource({"service.name": service}))
    provider = TracerProvider(resource=resource)
    for name in names:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name, env)))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument()
    FastAPIInstrumentor().instrument()  # apps made from now on
    from activities.delivery import http

    http.traced = _traced_post  # deliveries bypass httpx's client (the aiohttp transport)
    _state["on"] = True
    return True


@contextlib.contextmanager
def _traced_post(url: str, headers: dict[str, str]) -> Iterator[object]:
    """A client span around a delivery's POST; its ``traceparent`` goes with it."""
    from opentelemetry import propagate, trace

    tracer = trace.get_tracer("hookflow.delivery")
    host = urlsplit(url).hostname or ""
    # The host only: a webhook's URL may carry a credential in its path or query.
    attributes = {"http.request.method": "POST", "server.address": host}
    with tracer.start_as_current_span(
        "POST", kind=trace.SpanKind.CLIENT, attributes=attributes
    ) as span:
        propagate.inject(headers)
        yield span


def _exporter(name: str, env: Mapping[str, str]) -> SpanExporter:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(out=sys.stderr)
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
                OTLPSpanExporter as GrpcExporter,
            )
        except ImportError:
            raise SettingsError(
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc: pip install "
                "opentelemetry-exporter-otlp-proto-grpc (or use http/protobuf, port 4318)"
            ) from None
        grpc_exporter: SpanExporter = GrpcExporter()
        return grpc_exporter
    if protocol != "http/protobuf":
        raise SettingsError(f"OTEL_EXPORTER_OTLP_PROTOCOL: {protocol!r} (use http/protobuf, grpc)")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def interceptors() -> list[Any]:
    """The Temporal client's interceptors: the tracing one when tracing is on
    (the client's workers use it too)."""
    if not _state["on"]:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]


def shutdown_tracing() -> None:
    """Send the spans still buffered (at the end of ``up`` and ``worker``)."""
    if not _state["on"]:
        return
    from opentelemetry import trace

    provider = trace.get_tracer_provider()
    shutdown = getattr(provider, "shutdown", None)
    if shutdown is not None:
        shutdown()
