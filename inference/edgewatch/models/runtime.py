"""OpenVINO: read, check, add pre-processing to the graph, compile (cached), run asynchronously in frame order."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openvino as ov
from openvino.preprocess import ColorFormat, PrePostProcessor, ResizeAlgorithm

from ..errors import EdgewatchError
from .registry import ModelFiles

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    files: ModelFiles
    device: str
    compiled: ov.CompiledModel
    input_hw: tuple[int, int]  # the network's own input size
    output_shapes: list[tuple[int, ...]]
    requests: int

    @property
    def name(self) -> str:
        return self.files.name


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "edgewatch" / "ov"


def _reason(err: Exception) -> str:
    """OpenVINO's messages start with a source location; the cause is on a later line."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip() and not ln.strip().startswith("Exception from")]
    return (lines[0] if lines else "unknown reason")[:200]


def _check_ir(path: Path) -> None:
    """Reject a file that is not IR XML ourselves: OpenVINO would try every front end on it and log noise."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise EdgewatchError(f"cannot read model {path}: not valid XML ({err})") from None
    if root.tag != "net":
        raise EdgewatchError(f"cannot read model {path}: not an OpenVINO IR (root element <{root.tag}>, expected <net>)")


def _read(core: ov.Core, files: ModelFiles) -> ov.Model:
    if files.path.suffix.lower() == ".xml":
        _check_ir(files.path)
    try:
        return core.read_model(str(files.path))
    except RuntimeError as err:
        raise EdgewatchError(f"cannot read model {files.path}: {_reason(err)}") from None


RESIZE = {"linear": ResizeAlgorithm.RESIZE_LINEAR, "nearest": ResizeAlgorithm.RESIZE_NEAREST}


def add_preprocessing(model: ov.Model, resize: str = "linear") -> tuple[ov.Model, tuple[int, int]]:
    """Frames go in as OpenCV gives them (u8, BGR, HWC, any size); OpenVINO resizes and re-lays them out."""
    if len(model.inputs) != 1:
        raise EdgewatchError(f"model has {len(model.inputs)} inputs; Edgewatch adapters need one image input")
    shape = model.input().get_partial_shape()
    if shape.rank.is_dynamic or shape.rank.get_length() != 4 or shape[2].is_dynamic or shape[3].is_dynamic:
        raise EdgewatchError(f"model input shape {shape} is not an N,C,H,W image")
    h, w = shape[2].get_length(), shape[3].get_length()
    ppp = PrePostProcessor(model)
    ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC")) \
        .set_color_format(ColorFormat.BGR).set_spatial_dynamic_shape()
    # OMZ models take BGR, so no colour conversion is needed; resize and layout change happen in the graph.
    ppp.input().preprocess().convert_element_type(ov.Type.f32).resize(RESIZE[resize])
    ppp.input().model().set_layout(ov.Layout("NCHW"))
    return ppp.build(), (h, w)


def load(files: ModelFiles, device: str = "CPU", cache_dir: str | os.PathLike[str] | None = None,
         check: Callable[[list[tuple[int, ...]]], None] | None = None, hint: str = "THROUGHPUT",
         resize: str = "linear") -> LoadedModel:
    core = ov.Core()
    devices = core.available_devices
    base = device.split(":")[0].split(".")[0]
    if base not in ("AUTO", "MULTI", "HETERO", "BATCH") and device not in devices and base not in devices:
        raise EdgewatchError(f"unknown or unavailable device {device!r}: this machine has {', '.join(devices)} (or AUTO)")
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        core.set_property({"CACHE_DIR": str(cache)})
    except OSError:
        log.warning("model cache %s not writable; compiling without a cache", cache)
    model = _read(core, files)
    shapes = [tuple(o.get_partial_shape().get_min_shape()) for o in model.outputs]
    if check is not None:
        check(shapes)
    model, input_hw = add_preprocessing(model, resize)
    try:
        compiled = core.compile_model(model, device, {"PERFORMANCE_HINT": hint})
    except RuntimeError as err:
        raise EdgewatchError(f"cannot compile model {files.name} for {device}: {_reason(err)}") from None
    try:
        requests = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    except RuntimeError:
        requests = 2
    return LoadedModel(files, device, compiled, input_hw, shapes, max(1, requests))


class OrderedAsyncRunner:
    """Runs items through an AsyncInferQueue and yields results in submission order.

    `items` yields (tag, image or None); tags with image None (e.g. a source status) skip inference
    but keep their place in the order. Yields (tag, outputs, infer_ms) with outputs None for skipped items.
    """

    def __init__(self, loaded: LoadedModel, jobs: int | None = None) -> None:
        self.loaded = loaded
        # One request more than the device runs at once: a finished stream finds the next frame
        # already queued instead of idling while Python collects the result and submits another
        # (bench/inference_throughput.py: ~3 % more throughput on 2 CPU streams).
        self.jobs = jobs or loaded.requests + 1
        self._queue = ov.AsyncInferQueue(loaded.compiled, self.jobs)
        self._done: dict[int, tuple[list[np.ndarray], float]] = {}
        self._cond = threading.Condition()
        self._error: BaseException | None = None
        self._queue.set_callback(self._on_done)

    def _on_done(self, request: ov.InferRequest, seq: int) -> None:
        try:
            # Copy: the request's buffers are reused by the next inference.
            outputs = [request.get_output_tensor(i).data.copy() for i in range(len(request.model_outputs))]
            result = (outputs, float(request.latency))
        except BaseException as err:  # surfaced in the consuming thread
            with self._cond:
                self._error = err
                self._cond.notify_all()
            return
        with self._cond:
            self._done[seq] = result
            self._cond.notify_all()

    def run(self, items: Iterable[tuple[object, np.ndarray | None]]) -> Iterator[tuple[object, list[np.ndarray] | None, float]]:
        self._tags: dict[int, object] = {}
        self._inputs: dict[int, np.ndarray] = {}
        self._skipped: set[int] = set()
        self._next = 0
        seq = 0
        for tag, image in items:
            # Bound what is in flight or waiting for its turn: start_async itself waits for an idle request.
            while len(self._tags) > self.jobs:
                yield from self._ready(block=True)
            self._tags[seq] = tag
            seq += 1
            if image is None:
                # A status (e.g. camera lost) may come before a long silence: deliver it, and the frames
                # before it, now rather than when the next frame arrives.
                self._skipped.add(seq - 1)
                while self._tags:
                    yield from self._ready(block=True)
                continue
            # share_inputs: the request reads the decoded frame where it lies instead of copying it;
            # the frame is kept referenced until its result is taken.
            batch = np.ascontiguousarray(image[np.newaxis])
            self._inputs[seq - 1] = batch
            self._queue.start_async({0: batch}, seq - 1, share_inputs=True)
            yield from self._ready(block=False)
        while self._tags:
            yield from self._ready(block=True)

    def _ready(self, block: bool) -> Iterator[tuple[object, list[np.ndarray] | None, float]]:
        """Yield results that are ready, in order; with block, wait for the next one first."""
        while self._next in self._tags:
            seq = self._next
            if seq in self._skipped:
                self._skipped.discard(seq)
                outputs, ms = None, 0.0
            else:
                with self._cond:
                    while seq not in self._done and self._error is None:
                        if not block:
                            return
                        self._cond.wait(timeout=1.0)
                    if self._error is not None:
                        raise EdgewatchError(f"inference failed: {self._error}")
                    outputs, ms = self._done.pop(seq)
                self._inputs.pop(seq, None)
            self._next += 1
            block = False
            yield self._tags.pop(seq), outputs, ms
