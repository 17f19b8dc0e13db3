"""The durable event outbox on a real SQLite file."""

from __future__ import annotations

import json

import pytest

from edgewatch.errors import EdgewatchError
from edgewatch.publishers.outbox import Outbox


def test_rows_keep_order_and_seq_continues_after_reopen(tmp_path):
    path = tmp_path / "deep" / "dir" / "outbox.sqlite"  # parent folders are created
    box = Outbox(path)
    rows = box.add([{"id": f"e{i}", "camera": "c", "type": "source_lost"} for i in range(3)])
    assert [r.seq for r in rows] == [1, 2, 3]
    assert json.loads(rows[0].payload) == {"id": "e0", "seq": 1, "camera": "c", "type": "source_lost"}
    assert list(json.loads(rows[2].payload))[:2] == ["id", "seq"]
    box.remove([1, 3])
    box.close()

    again = Outbox(path)
    assert [(r.seq, r.id) for r in again.pending()] == [(2, "e1")]
    more = again.add([{"id": "e3"}])
    assert more[0].seq == 4  # never reuses a number, even after deletes and a restart
    assert again.count() == 2
    again.remove([])
    again.close()


def test_unreadable_outbox_is_a_one_line_error(tmp_path):
    bad = tmp_path / "outbox.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(EdgewatchError, match=r"^mqtt\.outbox: cannot open .*outbox\.sqlite"):
        Outbox(bad)


def test_outbox_in_a_folder_that_cannot_exist(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(EdgewatchError, match=r"^mqtt\.outbox: cannot open "):
        Outbox(blocker / "outbox.sqlite")
