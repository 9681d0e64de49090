"""OpenLineage events for Basin's steps, through the openlineage-python client.

Every Basin run is a parent job (``<namespace>`` / ``<command>``); each step inside
it — one extract per entity, one load per batch, the dbt build with one job per
model, the gate and the publication — is a child job whose events carry a
``parent`` facet pointing at the Basin run. Run ids are UUIDs derived from Basin's
run id and the job's name, so the same step of the same run always has the same id.
"""

from __future__ import annotations

import atexit
import queue
import threading
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basin import __version__

if TYPE_CHECKING:
    from basin.lineage.configuration import LineageConfig

PRODUCER = f"https://pypi.org/project/basin/{__version__}"
_RUN_NAMESPACE = uuid.UUID("6f1c3a52-8d4e-4f0b-9a57-0c6b1e2d9f41")


def run_uuid(basin_run_id: str, job: str) -> str:
    """The OpenLineage run id of ``job`` in Basin run ``basin_run_id`` (stable)."""
    return str(uuid.uuid5(_RUN_NAMESPACE, f"{basin_run_id}/{job}"))


@dataclass
class DatasetRef:
    """A dataset as OpenLineage names it, with what Basin knows about it."""

    namespace: str
    name: str
    columns: list[tuple[str, str]] | None = None
    """(name, type) of each column, in order."""
    rows: int | None = None
    """Rows written (outputs only)."""
    facets: dict[str, Any] = field(default_factory=dict)
    """More dataset facets, by facet name."""


@dataclass
class StepLineage:
    """What a step tells its COMPLETE event once it knows (outputs, row counts)."""

    inputs: list[DatasetRef] = field(default_factory=list)
    outputs: list[DatasetRef] = field(default_factory=list)


class Lineage:
    """Emits a project's OpenLineage events with the configured transport."""

    def __init__(
        self, config: LineageConfig, namespace: str, state_dir: Path, *, enabled: bool = True
    ) -> None:
        self.config = config
        self.namespace = namespace
        self.state_dir = state_dir
        self.enabled = enabled and config.enabled
        self._client: Any = None
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[str, Any]] | None = None
        self.errors: list[str] = []
        """Events that could not be sent (the step itself goes on)."""
        self._unreachable = False

    # Events are built and sent by one background thread, in the order they were
    # emitted: importing the OpenLineage client (~0.3 s), building and writing the
    # events overlap with the step's own work (DuckDB and dbt release the GIL)
    # instead of adding to it. ``flush`` waits for them; Basin flushes at the end of
    # every run and at interpreter exit.

    def _submit(self, kind: str, payload: Any) -> None:
        with self._lock:
            if self._queue is None:
                self._queue = queue.Queue()
                threading.Thread(
                    target=self._work, args=(self._queue,), name="basin-lineage", daemon=True
                ).start()
                atexit.register(self.flush)
        self._queue.put((kind, payload))

    def _work(self, items: queue.Queue[tuple[str, Any]]) -> None:
        while True:
            kind, payload = items.get()
            event = None
            try:
                event = self._build(**payload) if kind == "emit" else payload
                if self._unreachable:
                    # One failed send per command: the rest wait in the spool file
                    # instead of each paying the transport's retries and timeout.
                    self._spool(event)
                    self.errors.append("receiver unreachable earlier in this command")
                else:
                    self.client().emit(event)
            except Exception as exc:  # noqa: BLE001 - lineage must not stop the data
                self.errors.append(f"{type(exc).__name__}: {exc}")
                if self.config.transport == "http" and event is not None:
                    self._unreachable = True
                    self._spool(event)
            finally:
                items.task_done()

    @property
    def spool_file(self) -> Path:
        """Events an HTTP receiver did not take, one JSON line each, to send again."""
        return self.state_dir / "openlineage" / "undelivered.jsonl"

    def _spool(self, event: Any) -> None:
        try:
            self.spool_file.parent.mkdir(parents=True, exist_ok=True)
            with open(self.spool_file, "a", encoding="utf-8") as fh:
                fh.write(to_json(event) + "\n")
        except Exception as exc:  # noqa: BLE001
            self.errors.append(f"spooling failed: {type(exc).__name__}: {exc}")

    def flush(self) -> None:
        """Wait until every event emitted so far is sent (or has failed)."""
        if self._queue is not None:
            self._queue.join()

    def close(self) -> None:
        """Flush, and drop the exit hook (a long-lived process opens many platforms)."""
        self.flush()
        atexit.unregister(self.flush)

    @property
    def events_file(self) -> Path:
        path = Path(self.config.path)
        return path if path.is_absolute() else self.state_dir / path

    def client(self) -> Any:
        if self._client is None:
            from openlineage.client import OpenLineageClient

            self._client = OpenLineageClient(transport=self._transport())
        return self._client

    def _transport(self) -> Any:
        cfg = self.config
        if cfg.transport == "http":
            from openlineage.client.transport.http import HttpConfig, HttpTransport

            params: dict[str, Any] = {
                "url": cfg.url,
                "endpoint": cfg.endpoint,
                "timeout": 10,
                # A short retry for a blip; an unreachable receiver spools (see _work).
                "retry": {"total": 2, "backoff_factor": 0.2},
            }
            if cfg.api_key:
                params["auth"] = {"type": "api_key", "apiKey": cfg.api_key.get_secret_value()}
            return HttpTransport(HttpConfig.from_dict(params))
        if cfg.transport == "console":
            from openlineage.client.transport.console import ConsoleConfig, ConsoleTransport

            return ConsoleTransport(ConsoleConfig())
        from openlineage.client.transport.file import FileConfig

        self.events_file.parent.mkdir(parents=True, exist_ok=True)
        return _file_transport()(FileConfig(log_file_path=str(self.events_file), append=True))

    def emit(
        self,
        state: str,
        job: str,
        run_id: str,
        *,
        parent: tuple[str, str] | None = None,
        inputs: list[DatasetRef] | None = None,
        outputs: list[DatasetRef] | None = None,
        error: BaseException | None = None,
        job_type: str = "TASK",
        event_time: datetime | None = None,
    ) -> None:
        """Emit one event (sent in the background, see ``flush``). ``parent`` is
        (job name, run id) of the Basin run."""
        if not self.enabled:
            return
        self._submit(
            "emit",
            {
                "state": state,
                "job": job,
                "run_id": run_id,
                "parent": parent,
                # Steps keep filling their dataset lists after START: send what is
                # known now.
                "inputs": [_copy(d) for d in inputs or []],
                "outputs": [_copy(d) for d in outputs or []],
                "error": error,
                "job_type": job_type,
                "event_time": event_time or datetime.now(UTC),
            },
        )

    def _build(
        self,
        state: str,
        job: str,
        run_id: str,
        parent: tuple[str, str] | None,
        inputs: list[DatasetRef],
        outputs: list[DatasetRef],
        error: BaseException | None,
        job_type: str,
        event_time: datetime,
    ) -> Any:
        from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
        from openlineage.client.facet_v2 import error_message_run, job_type_job, parent_run

        run_facets: dict[str, Any] = {}
        if parent is not None:
            run_facets["parent"] = parent_run.ParentRunFacet(
                run=parent_run.Run(runId=parent[1]),
                job=parent_run.Job(namespace=self.namespace, name=parent[0]),
            )
        if error is not None:
            from basin.common.redaction import redact

            run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=redact(str(error) or type(error).__name__),
                programmingLanguage="python",
                stackTrace=redact("".join(traceback.format_exception(error))[-8000:]),
            )
        return RunEvent(
            eventType=getattr(RunState, state),
            eventTime=event_time.isoformat(),
            run=Run(runId=run_id, facets=run_facets),
            job=Job(
                namespace=self.namespace,
                name=job,
                facets={
                    "jobType": job_type_job.JobTypeJobFacet(
                        processingType="BATCH", integration="BASIN", jobType=job_type
                    )
                },
            ),
            producer=PRODUCER,
            inputs=[_input(d) for d in inputs],
            outputs=[_output(d) for d in outputs],
        )

    def send(self, event: Any) -> None:
        """Emit a built event (in the background); a transport failure is recorded in
        ``errors``, never raised: lineage must not stop the data."""
        if not self.enabled:
            return
        self._submit("send", event)

    @contextmanager
    def step(
        self,
        job: str,
        basin_run_id: str,
        parent_job: str,
        *,
        inputs: list[DatasetRef] | None = None,
        job_type: str = "TASK",
    ) -> Iterator[StepLineage]:
        """START now; COMPLETE with what the body put in the yielded object, or FAIL
        with the error (which is re-raised)."""
        run_id = run_uuid(basin_run_id, job)
        parent = (parent_job, run_uuid(basin_run_id, parent_job))
        done = StepLineage(inputs=list(inputs or []))
        self.emit("START", job, run_id, parent=parent, inputs=done.inputs, job_type=job_type)

        def end(state: str, error: BaseException | None = None) -> None:
            self.emit(
                state,
                job,
                run_id,
                parent=parent,
                inputs=done.inputs,
                outputs=done.outputs,
                error=error,
                job_type=job_type,
            )

        try:
            yield done
        except BaseException as exc:
            end("FAIL", exc)
            raise
        end("COMPLETE")


def _copy(d: DatasetRef) -> DatasetRef:
    return DatasetRef(
        d.namespace, d.name, None if d.columns is None else list(d.columns), d.rows, dict(d.facets)
    )


def _facets(d: DatasetRef) -> dict[str, Any]:
    from openlineage.client.facet_v2 import schema_dataset

    facets = dict(d.facets)
    if d.columns is not None:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(name=n, type=t, ordinal_position=i)
                for i, (n, t) in enumerate(d.columns, start=1)
            ]
        )
    return facets


def _input(d: DatasetRef) -> Any:
    from openlineage.client.event_v2 import InputDataset

    return InputDataset(namespace=d.namespace, name=d.name, facets=_facets(d))


def _output(d: DatasetRef) -> Any:
    from openlineage.client.event_v2 import OutputDataset
    from openlineage.client.facet_v2 import output_statistics_output_dataset as stats

    output_facets: dict[str, Any] = {}
    if d.rows is not None:
        output_facets["outputStatistics"] = stats.OutputStatisticsOutputDatasetFacet(
            rowCount=d.rows
        )
    return OutputDataset(
        namespace=d.namespace, name=d.name, facets=_facets(d), outputFacets=output_facets
    )


def to_json(event: Any) -> str:
    """The JSON line of an event, equal to the client's ``Serde.to_json`` (nulls and
    empty facets dropped, enums as values, keys sorted) at a fifth of its cost: the
    client converts the whole event with ``attr.asdict`` and then walks it again."""
    import json

    return json.dumps(_plain(event), sort_keys=True, default=_unserialisable)


def _plain(obj: Any) -> Any:
    import enum

    attrs = getattr(type(obj), "__attrs_attrs__", None)
    if attrs is not None:
        out = {}
        for a in attrs:
            value = getattr(obj, a.name)
            if value is not None:
                out[a.name] = _plain(value)
        return out
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list | tuple):
        items = [_plain(v) for v in obj if v is not None]
        return [v for v in items if v != {}]
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, date):  # and datetime
        return obj.isoformat()
    if isinstance(obj, uuid.UUID):
        return str(obj)
    return obj


def _unserialisable(obj: Any) -> str:
    return f"<<non-serializable: {type(obj).__qualname__}>>"


_FILE_TRANSPORT: Any = None


def _file_transport() -> Any:
    """openlineage-python's file transport, writing each event with :func:`to_json`."""
    global _FILE_TRANSPORT  # noqa: PLW0603 - one subclass per process
    if _FILE_TRANSPORT is None:
        from openlineage.client.transport.file import FileTransport

        class JsonLinesTransport(FileTransport):
            def emit(self, event: Any) -> None:
                with open(self.config.log_file_path, "a", encoding="utf-8") as f:
                    f.write(to_json(event) + "\n")

        _FILE_TRANSPORT = JsonLinesTransport
    return _FILE_TRANSPORT
