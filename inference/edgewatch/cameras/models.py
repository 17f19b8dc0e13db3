"""The models every camera of the worker shares: one compiled detector, its adapter, one re-id model."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config
from ..models import registry, runtime
from ..models.adapters import Adapter, choose
from ..models.reid import ReidEmbedder, check_embedding


@dataclass(frozen=True)
class SharedModels:
    detector: runtime.LoadedModel
    adapter: Adapter
    reid: ReidEmbedder | None


def load_models(cfg: Config, paced_single: bool) -> SharedModels:
    """Load and compile once for all cameras. One paced camera wants each frame fast (LATENCY); several
    cameras, or a file read as fast as it goes, want the most frames a second (THROUGHPUT: parallel streams)."""
    m = cfg.model
    root = registry.models_dir()
    files = registry.resolve(m.name, m.precision, root)
    min_score = min([m.threshold] + [c.tracker.low_threshold for c in cfg.cameras.values()])
    holder: dict[str, Adapter] = {}

    def check(shapes: list[tuple[int, ...]]) -> None:
        holder["adapter"] = choose(m, shapes, files.name, min_score)

    detector = runtime.load(files, m.device, m.cache_dir, check=check, hint="LATENCY" if paced_single else "THROUGHPUT",
                            resize=m.resize, graph_resize=m.preprocess == "graph")
    reid = None
    if m.reid is not None:
        reid_files = registry.resolve(m.reid.model, m.precision, root)
        reid = ReidEmbedder(runtime.load(reid_files, m.device, m.cache_dir, check=check_embedding, hint="THROUGHPUT",
                                         graph_resize=False))
    return SharedModels(detector, holder["adapter"], reid)
