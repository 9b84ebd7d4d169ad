"""Fault: a stored blob is corrupted on disk (bit rot, a stray editor, a bad copy).

``tutopanda verify`` finds it (the bytes no longer hash to the blob's name); the next build that reads
it — a job consuming that artefact — fails that job with a clear message naming the blob rather than
feeding it the damaged bytes, and keeps everything else; ``verify --repair`` removes the damaged file and
the following build produces exactly that artefact again, with no other provider call.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.build_helpers import MovieCli, define_image_audio, narrator

M = "demo"
SCRIPT_TEXT = "Artifact:Script.NarrationScript[0]"


def _built_with_a_corrupt_script_text(cli: MovieCli) -> tuple[Path, bytes, str]:
    """A built movie whose first narration text blob is damaged (same size); its file, bytes, hash."""
    define_image_audio(cli, M, 2)
    cli.ok("build", "run", "--movie", M)
    digest = cli.manifest(M)["artefacts"][SCRIPT_TEXT]["hash"]
    [blob] = (cli.movie_dir(M) / "blobs" / digest[:2]).glob(f"{digest}.*")
    original = blob.read_bytes()
    blob.write_bytes(original.replace(b"e", b"3", 1))  # one character: same size, other bytes
    return blob, original, digest


def test_a_corrupt_blob_is_found_by_verify_and_by_the_build_that_reads_it(cli: MovieCli) -> None:
    blob, original, digest = _built_with_a_corrupt_script_text(cli)

    found = cli.run("verify", "--movie", M, "--json")
    assert found.code == 1
    [problem] = found.json()["problems"]
    assert problem["kind"] == "blob-corrupt" and problem["path"].endswith(blob.name)

    cli.reset_calls()
    rebuilt = cli.run("build", "run", "--movie", M, "--force", narrator(0))
    assert rebuilt.code == 1
    error = rebuilt.stderr.strip().splitlines()[0]
    assert error.startswith("error: ") and "job(s) failed: Producer:Narration.Narrator[0] (failed: " in error
    assert f"blob {digest} of movie '{M}' is corrupt" in error  # what it consumes, named
    assert "Traceback" not in rebuilt.stdout + rebuilt.stderr
    assert cli.calls() == []  # the narrator was never handed the damaged text

    repaired = cli.run("verify", "--movie", M, "--repair")
    assert repaired.code == 1  # the current manifest still names it: only a build can make it again
    assert not blob.exists()

    cli.reset_calls()
    report = cli.ok("build", "run", "--movie", M, "--json").json()
    assert [call["jobId"] for call in cli.calls()] == ["Producer:Script.ScriptWriter"]
    assert report["calls"] == 1
    assert blob.read_bytes() == original
    assert cli.run("verify", "--movie", M).code == 0


def test_a_build_that_makes_the_bytes_of_a_corrupt_blob_again_repairs_it(cli: MovieCli) -> None:
    # Its downstream jobs take the text from memory, so nothing reads the damaged file: the put that
    # finds it must not trust a file of the right size, or the manifest would name corrupt bytes.
    blob, original, _ = _built_with_a_corrupt_script_text(cli)

    cli.ok("build", "run", "--movie", M, "--force", "Producer:Script.ScriptWriter", "--force", narrator(0))

    assert blob.read_bytes() == original
    assert cli.run("verify", "--movie", M).code == 0
