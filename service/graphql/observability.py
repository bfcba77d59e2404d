"""Per-operation metrics, and the operation's name for the request's log line."""

from __future__ import annotations

import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        ctx = self.execution_context
        context = ctx.context
        metrics = getattr(context, "metrics", None)
        if metrics is None:
            return
        name = metrics.operation_label(ctx.operation_name)
        try:
            kind = ctx.operation_type.value
        except RuntimeError:  # the document did not parse: there is no operation type
            kind = "invalid"
        metrics.operations.labels(operation=name, type=kind).inc()
        metrics.operation_seconds.labels(operation=name).observe(time.perf_counter() - started)
        request = getattr(context, "request", None)
        if request is not None:
            request.scope.setdefault("state", {})["operation_name"] = name
