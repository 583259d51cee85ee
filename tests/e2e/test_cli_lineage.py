"""Recorded runs, evidence packs and registry sync through the embedded stores."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.e2e.test_cli import dq

SAMPLE = "libraries/contoso/samples/customers.csv"


def _record(home: Path) -> str:
    result = dq("validate", SAMPLE, "--contract", "customers", "--record", "--home", str(home), "--now", "2026-11-25")
    assert result.returncode == 1, result.stderr  # the sample has defects; the run is still recorded
    return result.stdout.rsplit("recorded run ", 1)[1].split()[0]


def test_evidence_pack_exports_and_verifies_and_detects_tampering(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run_id = _record(home)
    pack = tmp_path / "evidence.zip"
    exported = dq("lineage", "export", run_id, "--tenant", "contoso", "--home", str(home), "--out", str(pack))
    assert exported.returncode == 0, exported.stderr
    with zipfile.ZipFile(pack) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
    assert {"lineage/run.json", "lineage/steps.json", "outputs/bundle.json", "outputs/result.json"} <= names
    assert "outputs/profile.json" in names
    assert manifest["run_id"] == run_id and len(manifest["bundle_sha256"]) == 64
    verified = dq("lineage", "verify", str(pack))
    assert verified.returncode == 0 and verified.stdout.startswith("ok:")

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(pack) as source, zipfile.ZipFile(tampered, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "outputs/result.json":
                data = data.replace(b'"status": "failed"', b'"status": "passed"', 1)
            target.writestr(name, data)
    refused = dq("lineage", "verify", str(tampered))
    assert refused.returncode == 1
    assert "outputs/result.json: sha256 does not match the manifest" in refused.stderr


def test_unknown_run_and_garbage_pack_are_one_line_errors(tmp_path: Path) -> None:
    missing = dq("lineage", "export", "nope", "--tenant", "contoso", "--home", str(tmp_path))
    assert missing.returncode == 2 and "not_found: run nope does not exist for tenant contoso" in missing.stderr
    garbage = tmp_path / "x.zip"
    garbage.write_bytes(b"not a zip")
    refused = dq("lineage", "verify", str(garbage))
    assert refused.returncode == 2 and "not an evidence pack" in refused.stderr


def test_sync_files_to_the_embedded_registry_and_back(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = dq("contracts", "sync", "libraries", "--to", "sqlite", "--home", str(home))
    assert first.returncode == 0 and "10 created, 0 unchanged" in first.stdout
    again = dq("contracts", "sync", "libraries", "--to", "sqlite", "--home", str(home))
    assert "0 created, 10 unchanged, 0 updated, 0 conflicting" in again.stdout
    back = tmp_path / "back"
    out = dq(
        "contracts", "sync", str(back), "--from", "sqlite", "--tenant", "contoso", "--env", "dev", "--home", str(home)
    )
    assert out.returncode == 0, out.stderr
    check = dq("libraries", "check", str(back))
    assert check.returncode == 0, check.stderr
    bundle_a = json.loads(dq("bundle", "customers", "--libraries", "libraries").stdout)
    bundle_b = json.loads(dq("bundle", "customers", "--libraries", str(back)).stdout)
    # the round trip keeps every object's content (statuses differ: the registry holds drafts)
    assert bundle_a["sources"] == bundle_b["sources"] and bundle_a["rules"] == bundle_b["rules"]


def test_sync_reports_conflicts_with_published_versions(tmp_path: Path) -> None:
    home = tmp_path / "home"
    dq("contracts", "sync", "libraries", "--to", "sqlite", "--home", str(home))
    scope = ["core_rules", "--kind", "rule_library", "--version", "1.0.0", "--tenant", "contoso", "--env", "dev"]
    for action in ("approve", "publish"):
        assert dq("contracts", action, *scope, "--actor", "ann", "--home", str(home)).returncode == 0
    changed = tmp_path / "libraries"
    import shutil

    shutil.copytree("libraries", changed)
    rules = changed / "contoso" / "dev" / "rules" / "core_rules.yaml"
    rules.write_text(rules.read_text().replace("mostly: 0.95", "mostly: 0.9"))
    result = dq("contracts", "sync", str(changed), "--to", "sqlite", "--home", str(home))
    assert result.returncode == 1 and "1 conflicting" in result.stdout
    assert "rule_library core_rules@1.0.0" in result.stderr and "immutable" in result.stderr


def test_lifecycle_commands_enforce_the_rules_and_leave_audit_events(tmp_path: Path) -> None:
    import shutil
    from datetime import UTC, datetime, timedelta

    from adapters.local.sqlite_lineage import SqliteLineageStore

    libraries = tmp_path / "libraries"
    shutil.copytree("libraries", libraries)
    home = tmp_path / "home"
    assert dq("contracts", "sync", str(libraries), "--to", "sqlite", "--home", str(home)).returncode == 0
    scope = ["customers", "--version", "1.0.0", "--tenant", "contoso", "--env", "dev", "--home", str(home)]
    own = dq("contracts", "approve", *scope, "--actor", "dq-sync")
    assert own.returncode == 2 and "someone else must approve" in own.stderr
    assert dq("contracts", "approve", *scope, "--actor", "ann").returncode == 0
    published = dq("contracts", "publish", *scope, "--actor", "ann")
    assert published.returncode == 0 and "is published in contoso/dev" in published.stdout
    early = dq("contracts", "promote", *scope, "--actor", "ann")
    assert early.returncode == 2 and "is not published there" in early.stderr  # its catalog is not in test yet
    now = datetime.now(UTC)
    events = SqliteLineageStore(str(home / "lineage.db")).audit(
        "contoso", now - timedelta(hours=1), now + timedelta(hours=1)
    )
    synced = [e for e in events if e.action == "create"]  # the sync's drafts: one event each, one correlation id
    assert len(synced) == 10 and {e.actor for e in synced} == {"dq-sync"}
    assert len({e.correlation_id for e in synced}) == 1
    assert all(e.before_sha256 is None and e.after_sha256 and e.detail == "draft created by sync" for e in synced)
    changes = [e for e in events if e.action != "create"]
    assert [(e.action, e.actor) for e in changes] == [
        ("denied", "dq-sync"),
        ("approve", "ann"),
        ("publish", "ann"),
        ("denied", "ann"),
    ]
    assert all(e.object == "contract customers@1.0.0" and e.correlation_id for e in changes)
    assert changes[1].before_sha256 == changes[1].after_sha256  # a status change keeps the content hash
    contract = next(e for e in synced if e.object == "contract customers@1.0.0")
    assert contract.after_sha256 == changes[1].before_sha256
    # the same files again: nothing changes, nothing more is audited
    assert dq("contracts", "sync", str(libraries), "--to", "sqlite", "--home", str(home)).returncode == 0
    later = datetime.now(UTC) + timedelta(hours=1)
    again = SqliteLineageStore(str(home / "lineage.db")).audit("contoso", now - timedelta(hours=1), later)
    assert len([e for e in again if e.action == "create"]) == 10


def _rebuild(pack: Path, out: Path, change: dict[str, bytes | None]) -> None:
    """A pack with some files replaced (or removed) and a manifest recomputed to match."""
    import hashlib

    with zipfile.ZipFile(pack) as source:
        files = {name: source.read(name) for name in source.namelist()}
    for name, data in change.items():
        if data is None:
            files.pop(name, None)
        else:
            files[name] = data
    manifest = json.loads(files.pop("manifest.json"))
    manifest["files"] = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    files["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w") as target:
        for name, data in files.items():
            target.writestr(name, data)


def test_a_rebuilt_pack_with_recomputed_hashes_is_still_caught(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run_id = _record(home)
    pack = tmp_path / "evidence.zip"
    dq("lineage", "export", run_id, "--tenant", "contoso", "--home", str(home), "--out", str(pack))
    with zipfile.ZipFile(pack) as source:
        result = source.read("outputs/result.json")
    forged = tmp_path / "forged.zip"
    _rebuild(pack, forged, {"outputs/result.json": result.replace(b'"status": "failed"', b'"status": "passed"', 1)})
    refused = dq("lineage", "verify", str(forged), "--home", str(home))
    assert refused.returncode == 1 and "status passed, the run recorded failed" in refused.stderr
    assert "is not the result the run recorded" in refused.stderr
    stripped = tmp_path / "stripped.zip"
    _rebuild(pack, stripped, {"lineage/run.json": None, "lineage/steps.json": None})
    assert "lineage/run.json: missing from the pack" in dq("lineage", "verify", str(stripped)).stderr
    broken = tmp_path / "broken.zip"
    _rebuild(pack, broken, {"outputs/result.json": b"{not json"})
    malformed = dq("lineage", "verify", str(broken))
    assert malformed.returncode == 1 and "malformed" in malformed.stderr and "Traceback" not in malformed.stderr
