"""The lake: a batch exists once its manifest does, and a batch changed after it was
written is refused with its id and path."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from basin.common.errors import LoadError
from basin.lake.manifest import DataFile, Manifest
from basin.lake.storage import Lake


def _batch(lake: Lake, tmp_path: Path, batch_id: str, created_at: str, data: bytes) -> Manifest:
    local = tmp_path / f"{batch_id}.parquet"
    local.write_bytes(data)
    batch_dir = lake.batch_dir("crm", "customers", batch_id)
    lake.put_file(local, f"{batch_dir}/part-00000.parquet")
    manifest = Manifest(
        batch_id=batch_id,
        source="crm",
        entity="customers",
        run_id="r1",
        created_at=created_at,
        row_count=1,
        columns=[{"name": "id", "type": "INTEGER"}],
        files=[DataFile("part-00000.parquet", len(data), hashlib.sha256(data).hexdigest(), 1)],
    )
    lake.write_manifest(batch_dir, manifest)
    return manifest


def test_only_batches_with_a_manifest_exist_oldest_first(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    _batch(lake, tmp_path, "b2", "2026-12-02T00:00:00", b"two")
    _batch(lake, tmp_path, "b1", "2026-12-01T00:00:00", b"one")
    half = Path(lake.batch_dir("crm", "customers", "b3"))
    half.mkdir(parents=True)
    (half / "part-00000.parquet").write_bytes(b"half-written")  # killed before its manifest
    assert [m.batch_id for m in lake.complete_batches("crm", "customers")] == ["b1", "b2"]
    assert not list(half.parent.rglob("*.tmp"))  # the manifest was written atomically
    assert (
        Manifest.from_json(lake.complete_batches("crm", "customers")[0].to_json()).files[0].rows
        == 1
    )


def test_a_changed_data_file_is_refused_naming_the_batch(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    manifest = _batch(lake, tmp_path, "b1", "2026-12-01T00:00:00", b"original")
    part = Path(lake.batch_dir("crm", "customers", "b1")) / "part-00000.parquet"
    assert lake.data_files(manifest, verify=True) == [str(part)]
    part.write_bytes(b"replaced")  # same size, other bytes
    assert lake.data_files(manifest) == [str(part)]  # sizes alone cannot tell
    with pytest.raises(LoadError, match="b1.*does not match the checksum"):
        lake.data_files(manifest, verify=True)
    part.write_bytes(b"short")
    with pytest.raises(LoadError, match="is 5 bytes, the manifest says 8"):
        lake.data_files(manifest)
    part.unlink()
    with pytest.raises(LoadError, match="is missing"):
        lake.data_files(manifest)


def test_a_corrupt_manifest_is_a_clear_error(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    _batch(lake, tmp_path, "b1", "2026-12-01T00:00:00", b"x")
    batch_dir = lake.batch_dir("crm", "customers", "b1")
    Path(batch_dir, "_manifest.json").write_text('{"batch_id": "b1", "sou')
    with pytest.raises(LoadError) as info:
        lake.complete_batches("crm", "customers")
    assert "_manifest.json cannot be read" in info.value.message and info.value.hint


def test_removing_an_incomplete_batch_removes_its_quarantine_too(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    for folder in (
        lake.batch_dir("crm", "customers", "b9"),
        lake.quarantine_dir("crm", "customers", "b9"),
    ):
        Path(folder).mkdir(parents=True)
        Path(folder, "f").write_text("x")
    lake.remove_batch("crm", "customers", "b9")
    assert not Path(lake.batch_dir("crm", "customers", "b9")).exists()
    assert not Path(lake.quarantine_dir("crm", "customers", "b9")).exists()
