"""Draw what analytics knows onto the frame (a copy: the source frame is never changed)."""

from __future__ import annotations

import cv2
import numpy as np

from ..config import CameraConfig
from ..types import FrameFacts

_FONT = cv2.FONT_HERSHEY_SIMPLEX
# BGR palette for segmentation classes (background is left unpainted).
_SEG_COLOURS = np.array([[0, 0, 0], [255, 0, 255], [0, 255, 255], [255, 255, 0], [0, 128, 255], [128, 255, 0]], np.uint8)


def _colour(track_id: int) -> tuple[int, int, int]:
    hue = (track_id * 47) % 180
    bgr = cv2.cvtColor(np.uint8([[[hue, 200, 255]]]), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def _label(img: np.ndarray, text: str, org: tuple[int, int], colour=(255, 255, 255), scale: float = 0.5) -> None:
    (tw, th), base = cv2.getTextSize(text, _FONT, scale, 1)
    x, y = org
    cv2.rectangle(img, (x, y - th - base - 2), (x + tw + 4, y + 2), (0, 0, 0), -1)
    cv2.putText(img, text, (x + 2, y - base + 1), _FONT, scale, colour, 1, cv2.LINE_AA)


class Annotator:
    def __init__(self, cfg: CameraConfig, model_label: str) -> None:
        self.cfg = cfg
        self.model_label = model_label

    def draw(self, facts: FrameFacts) -> np.ndarray:
        img = facts.frame.image.copy()
        out = facts.output
        if out.segmentation is not None:
            self._segmentation(img, out.segmentation.class_map)
        for zone in self.cfg.zones:
            pts = np.array(zone.polygon, np.int32)
            cv2.polylines(img, [pts], True, (0, 200, 255), 2, cv2.LINE_AA)
        for line in self.cfg.lines:
            (x1, y1), (x2, y2) = line.points
            cv2.line(img, (int(x1), int(y1)), (int(x2), int(y2)), (255, 128, 0), 2, cv2.LINE_AA)
        for track in facts.tracks:
            x1, y1, x2, y2 = (int(v) for v in track.box)
            colour = _colour(track.id)
            cv2.rectangle(img, (x1, y1), (x2, y2), colour, 2)
            _label(img, f"#{track.id} {track.duration_s:.0f}s", (x1, max(14, y1)), colour)
        lines = [f"in frame {facts.in_frame}  total {facts.total}  avg {facts.avg_duration_s:.1f}s"]
        lines += [f"{lc.name}: in {lc.in_count} out {lc.out_count}" for lc in facts.lines]
        lines += [f"{z.name}: {z.occupancy} now" for z in facts.zones]
        if out.segmentation is not None:
            lines = [" ".join(f"{k} {v:.0%}" for k, v in out.segmentation.shares.items())]
        if out.classification is not None:
            lines = [" ".join(f"{k} {v:.2f}" for k, v in out.classification.top)]
        lines.append(f"{self.model_label}  infer {out.infer_ms:.1f} ms")
        for i, text in enumerate(lines):
            _label(img, text, (6, 20 + 20 * i))
        return img

    @staticmethod
    def _segmentation(img: np.ndarray, class_map: np.ndarray) -> None:
        mask = cv2.resize(class_map, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_NEAREST)
        colours = _SEG_COLOURS[np.minimum(mask, len(_SEG_COLOURS) - 1)]
        painted = mask > 0
        img[painted] = (0.55 * img[painted] + 0.45 * colours[painted]).astype(np.uint8)
